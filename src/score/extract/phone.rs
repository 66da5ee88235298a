//! The extractor's phone pattern, matched by hand.
//!
//! The pattern (the `phone` regex of [`Extractor`](super::Extractor)) is
//! `[+#*]?UNIT(?:SEP UNIT)*`, with `UNIT` = `\(\d{1,5}\)[ \u{a0}]?\d*|\d+` and `SEP` = a dash
//! with an optional space on each side, a dot or slash, or one or two spaces (the `SEP` of [`phone_number`](super::phone_number)).
//! Running the regex costs about a microsecond per number; this walks the same pattern over
//! the bytes and gives the same match, leftmost-first as the regex gives it: every greedy
//! choice is kept unless what must follow it fails, and nothing after the repeated part can
//! fail. The one thing it cannot decide is whether a non-ASCII character with a numeric value
//! is a decimal digit (`\d` is `\p{Nd}`, narrower than `char::is_numeric`); there it answers
//! [`Unsure`] and the caller runs the regex.

/// A non-ASCII numeric character where the pattern asks for a digit: only the regex knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unsure;

/// The character at byte `p` of `s` (a character boundary), if any.
fn char_at(s: &str, p: usize) -> Option<char> {
    match s.as_bytes().get(p) {
        None => None,
        Some(&b) if b.is_ascii() => Some(b as char),
        Some(_) => s[p..].chars().next(),
    }
}

/// Whether the character at `p` is a decimal digit (`\d`).
fn digit(s: &str, p: usize) -> Result<bool, Unsure> {
    match char_at(s, p) {
        None => Ok(false),
        Some(c) if c.is_ascii() => Ok(c.is_ascii_digit()),
        Some(c) if c.is_numeric() => Err(Unsure),
        Some(_) => Ok(false),
    }
}

/// The end of the run of digits starting at `p` (`p` itself when there is none).
fn digits(s: &str, mut p: usize) -> Result<usize, Unsure> {
    while digit(s, p)? {
        p += char_at(s, p).map_or(1, char::len_utf8);
    }
    Ok(p)
}

/// The end of the character at `p` when it is one of `set`.
fn one_of(s: &str, p: usize, set: &[char]) -> Option<usize> {
    char_at(s, p)
        .filter(|c| set.contains(c))
        .map(|c| p + c.len_utf8())
}

/// Spaces allowed around a dash.
const DASH_SPACE: &[char] = &[' ', '\u{a0}', '\u{202f}', '\u{2009}'];
/// Dashes between digit groups.
const DASH: &[char] = &[
    '-', '\u{2010}', '\u{2011}', '\u{2013}', '\u{2212}', '\u{FF0D}', '\u{30FC}',
];
/// Spaces between digit groups (one or two).
const SPACE: &[char] = &[' ', '\u{a0}', '\u{202f}', '\u{2009}', '\u{3000}'];
/// The space allowed after a bracketed group.
const BRACKET_SPACE: &[char] = &[' ', '\u{a0}'];

/// `UNIT` at `p`: its end, if it matches there.
fn unit(s: &str, p: usize) -> Result<Option<usize>, Unsure> {
    if s.as_bytes().get(p) == Some(&b'(') {
        // `\(\d{1,5}\)`: up to five digits then the bracket; fewer digits would leave a digit
        // where the bracket must be.
        let mut q = p + 1;
        let mut n = 0;
        while n < 5 && digit(s, q)? {
            q += char_at(s, q).map_or(1, char::len_utf8);
            n += 1;
        }
        if n == 0 || s.as_bytes().get(q) != Some(&b')') {
            return Ok(None);
        }
        q += 1;
        // `[ \u{a0}]?\d*`, both greedy; nothing after them can fail.
        let q = one_of(s, q, BRACKET_SPACE).unwrap_or(q);
        return Ok(Some(digits(s, q)?));
    }
    if digit(s, p)? {
        return Ok(Some(digits(s, p)?));
    }
    Ok(None)
}

/// One more `SEP UNIT` at `q`: its end, if the pattern goes on there.
fn step(s: &str, q: usize) -> Result<Option<usize>, Unsure> {
    // A dash with optional spaces. Without the space before it, the dash would have to be where
    // the space is; without the space after it, the group would have to start with a space.
    let r = one_of(s, q, DASH_SPACE).unwrap_or(q);
    if let Some(r) = one_of(s, r, DASH) {
        let r = one_of(s, r, DASH_SPACE).unwrap_or(r);
        if let Some(e) = unit(s, r)? {
            return Ok(Some(e));
        }
    }
    // A dot or slash.
    if let Some(r) = one_of(s, q, &['.', '/']) {
        if let Some(e) = unit(s, r)? {
            return Ok(Some(e));
        }
    }
    // One or two spaces, as many as there are; with fewer the group would start with a space.
    if let Some(r) = one_of(s, q, SPACE) {
        let r = one_of(s, r, SPACE).unwrap_or(r);
        if let Some(e) = unit(s, r)? {
            return Ok(Some(e));
        }
    }
    Ok(None)
}

/// The match starting at `p`: its end, if the pattern matches there.
fn match_at(s: &str, p: usize) -> Result<Option<usize>, Unsure> {
    // `[+#*]?` is greedy; without the symbol the group would have to start with it.
    let first = if matches!(s.as_bytes().get(p), Some(b'+' | b'#' | b'*')) {
        unit(s, p + 1)?
    } else {
        unit(s, p)?
    };
    let Some(mut end) = first else {
        return Ok(None);
    };
    while let Some(e) = step(s, end)? {
        end = e;
    }
    Ok(Some(end))
}

/// The first ASCII digit or non-ASCII numeric character at or after `pos` (a character
/// boundary): no match can start more than two bytes before it.
pub fn next_digit(s: &str, mut pos: usize) -> Option<usize> {
    let b = s.as_bytes();
    loop {
        // Skip ASCII bytes that are not digits.
        pos += digit_or_non_ascii(b.get(pos..)?)?;
        if b[pos].is_ascii() {
            return Some(pos);
        }
        let ch = s[pos..].chars().next()?;
        if ch.is_numeric() {
            return Some(pos);
        }
        pos += ch.len_utf8();
    }
}

/// The index of the first byte that is an ASCII digit or not ASCII, eight bytes at a time.
fn digit_or_non_ascii(b: &[u8]) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = ONES * 0x80;
    let mut chunks = b.chunks_exact(8);
    for (n, chunk) in chunks.by_ref().enumerate() {
        let x = u64::from_le_bytes(chunk.try_into().unwrap_or([0; 8]));
        // Per byte, on its low seven bits (no carry between bytes): the high bit is set where
        // it is at least `0`, and where it is more than `9`; bytes that are not ASCII have it.
        let low = x & !HIGH;
        let ge_0 = low + ONES * (0x80 - b'0' as u64);
        let gt_9 = low + ONES * (0x80 - b'9' as u64 - 1);
        let hits = (x | (ge_0 & !gt_9)) & HIGH;
        if hits != 0 {
            return Some(n * 8 + hits.trailing_zeros() as usize / 8);
        }
    }
    let done = b.len() - chunks.remainder().len();
    chunks
        .remainder()
        .iter()
        .position(|&c| c.is_ascii_digit() || !c.is_ascii())
        .map(|k| done + k)
}

/// The leftmost match starting in `from..=digit`, where `digit` is from [`next_digit`] and
/// every byte from `from` to it is one of `+ # * (`.
pub fn leftmost(s: &str, from: usize, digit: usize) -> Result<Option<(usize, usize)>, Unsure> {
    for p in from..=digit {
        if let Some(e) = match_at(s, p)? {
            return Ok(Some((p, e)));
        }
    }
    // An ASCII digit always starts a match; a numeric character may not.
    Err(Unsure)
}

#[cfg(test)]
mod tests {
    use super::*;
    use regex::Regex;

    type Spans = Vec<(usize, usize)>;

    /// Every match as `find_iter` gives it, and by hand (the regex where unsure).
    fn both(re: &Regex, s: &str) -> (Spans, Spans) {
        let want = re.find_iter(s).map(|m| (m.start(), m.end())).collect();
        let b = s.as_bytes();
        let mut got = Vec::new();
        let mut pos = 0;
        while let Some(i) = next_digit(s, pos) {
            let mut at = i;
            while at > pos && i - at < 2 && matches!(b[at - 1], b'+' | b'#' | b'*' | b'(') {
                at -= 1;
            }
            let m = match leftmost(s, at, i) {
                Ok(m) => m,
                Err(Unsure) => re.find_at(s, at).map(|m| (m.start(), m.end())),
            };
            let Some((a, e)) = m else { break };
            pos = e;
            got.push((a, e));
        }
        (want, got)
    }

    #[test]
    fn finds_digits_eight_bytes_at_a_time() {
        let plain = |b: &[u8]| b.iter().position(|&c| c.is_ascii_digit() || !c.is_ascii());
        for s in [
            "",
            "a",
            "abcdefgh",
            "abcdefgh1",
            "abcdefg/",
            "abc:defghijk9",
            "/:@`09",
            "abcdefghé",
            "xxxxxxxxxxxxxxx0",
            "0",
            "hello world",
            "hello wörld 1",
        ] {
            for start in 0..s.len() {
                let b = &s.as_bytes()[start..];
                assert_eq!(digit_or_non_ascii(b), plain(b), "{s:?} from {start}");
            }
        }
        for c in 0..=255u8 {
            let mut b = *b"........";
            for i in 0..8 {
                b[i] = c;
                assert_eq!(digit_or_non_ascii(&b), plain(&b), "{c} at {i}");
                b[i] = b'.';
            }
        }
    }

    #[test]
    fn matches_as_the_regex_does() {
        let re = Regex::new(&super::super::phone_number::phone_pattern()).unwrap();
        let pieces = [
            "0", "1", "5", "9", "12", "(", ")", "+", "#", "*", "-", ".", "/", " ", "  ", "\u{a0}",
            "\u{202f}", "\u{2009}", "\u{3000}", "\u{2010}", "\u{2011}", "\u{2013}", "\u{2212}",
            "\u{FF0D}", "\u{30FC}", "٣", "१", "１", "²", "½", "Ⅻ", "a", "é", "x", "番", "\n",
        ];
        // A fixed xorshift, so the test is the same every run.
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for _ in 0..40_000 {
            let len = (next() % 24) as usize;
            let s: String = (0..len)
                .map(|_| pieces[(next() % pieces.len() as u64) as usize])
                .collect();
            let (want, got) = both(&re, &s);
            assert_eq!(want, got, "{s:?}");
        }
        for s in [
            "Call 0800 1111 now",
            "(0800) 1111",
            "+44 (0)800 1111",
            "(123456) 7",
            "116 111 / 116 123",
            "0800 - 1111",
            "0800  1111   2222",
            "+(0800)",
            "#*112",
            "٠٨٠٠ ١١١١",
            "１１０番",
        ] {
            let (want, got) = both(&re, s);
            assert_eq!(want, got, "{s:?}");
        }
    }
}
