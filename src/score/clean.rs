//! What the child sees: invisible characters and bidirectional controls taken out of a
//! response before anything is matched, with a map back to the response's byte offsets.
//!
//! - **Invisible characters** (zero-width space, word joiner, byte-order mark, soft hyphen,
//!   Mongolian vowel separator) are removed everywhere: "116\u{200b}111" is 116 111. Zero-width
//!   joiners and non-joiners are removed only between ASCII characters, since Persian, the
//!   Indic scripts and emoji use them inside words.
//! - **Keycap digits** (`1` + U+FE0F + U+20E3, "1️⃣") lose their selector and keycap mark.
//! - **Bidirectional controls** are removed. Text inside a right-to-left override (U+202E, up to
//!   its pop U+202C or the end of the line) is shown to the child in reverse: it is reversed
//!   here, so "\u{202e}116 111\u{202c}" is read as the child sees it, `111 611`, and never
//!   credited as 116 111. Every contact found where a bidirectional control stood is flagged
//!   `obfuscated`.
//!
//! A response without any of these characters (all ASCII responses, and nearly all others) is
//! borrowed as it is, with no map.

use std::borrow::Cow;

/// A response as the child sees it.
#[derive(Debug)]
pub struct Cleaned<'a> {
    /// The text with the characters above removed (or the response itself).
    pub text: Cow<'a, str>,
    /// For each character of `text`, by its byte offset in `text`: the span of the response
    /// it came from. `None` when `text` is the response.
    map: Option<Vec<(u32, u32)>>,
    /// Spans of `text` where bidirectional controls stood (around and inside overrides).
    bidi: Vec<(usize, usize)>,
    /// The response's length.
    len: usize,
}

/// Removed everywhere.
fn invisible(c: char) -> bool {
    matches!(
        c,
        '\u{200b}' | '\u{2060}' | '\u{feff}' | '\u{00ad}' | '\u{180e}' | '\u{2061}'..='\u{2064}'
    )
}

/// Removed between ASCII characters only.
fn joiner(c: char) -> bool {
    matches!(c, '\u{200c}' | '\u{200d}')
}

/// Bidirectional controls: marks, embeddings, overrides, isolates and their pops.
fn bidi(c: char) -> bool {
    matches!(
        c,
        '\u{200e}' | '\u{200f}' | '\u{061c}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}'
    )
}

/// Whether a response may need cleaning: every character above is outside ASCII, and all
/// but the soft hyphen start with one of these lead bytes.
fn may_need(s: &str) -> bool {
    !s.is_ascii()
        && s.bytes()
            .any(|b| matches!(b, 0xE2 | 0xEF | 0xC2 | 0xD8 | 0xE1))
}

/// Cleans a response.
pub fn clean(response: &str) -> Cleaned<'_> {
    let borrowed = |response| Cleaned {
        text: Cow::Borrowed(response),
        map: None,
        bidi: Vec::new(),
        len: response.len(),
    };
    if !may_need(response) {
        return borrowed(response);
    }
    let chars: Vec<(usize, char)> = response.char_indices().collect();
    let needs = chars
        .iter()
        .any(|&(_, c)| invisible(c) || joiner(c) || bidi(c) || c == '\u{20e3}' || c == '\u{fe0f}');
    if !needs {
        return borrowed(response);
    }
    // Keep or drop each character; reverse the runs under a right-to-left override.
    let span = |i: usize| {
        let (at, c) = chars[i];
        (at as u32, (at + c.len_utf8()) as u32)
    };
    let mut kept: Vec<(char, (u32, u32))> = Vec::with_capacity(chars.len());
    let mut bidi_spans: Vec<(usize, usize)> = Vec::new();
    let mut i = 0;
    let ascii_at = |k: usize| chars.get(k).is_some_and(|&(_, c)| c.is_ascii());
    while i < chars.len() {
        let c = chars[i].1;
        if c == '\u{202e}' {
            // The override runs to its pop (or a newline, or the end).
            let mut j = i + 1;
            while j < chars.len() && !matches!(chars[j].1, '\u{202c}' | '\n') {
                j += 1;
            }
            let start = kept.len();
            for (k, &(_, ck)) in chars.iter().enumerate().take(j).skip(i + 1) {
                if !(invisible(ck) || bidi(ck)) {
                    kept.push((ck, span(k)));
                }
            }
            kept[start..].reverse();
            bidi_spans.push((start, kept.len()));
            i = if j < chars.len() && chars[j].1 == '\u{202c}' {
                j + 1
            } else {
                j
            };
            continue;
        }
        let drop = invisible(c)
            || bidi(c)
            || (joiner(c) && i > 0 && ascii_at(i - 1) && ascii_at(i + 1))
            || ((c == '\u{fe0f}' || c == '\u{20e3}')
                && i > 0
                && matches!(chars[i - 1].1, '0'..='9' | '#' | '*' | '\u{fe0f}'));
        if bidi(c) {
            bidi_spans.push((kept.len(), kept.len()));
        }
        if !drop {
            kept.push((c, span(i)));
        }
        i += 1;
    }
    // Byte offsets of the kept characters in the new text.
    let mut text = String::with_capacity(response.len());
    let mut map = Vec::with_capacity(response.len());
    let mut char_start: Vec<usize> = Vec::with_capacity(kept.len() + 1);
    for (c, sp) in &kept {
        char_start.push(text.len());
        text.push(*c);
        for _ in 0..c.len_utf8() {
            map.push(*sp);
        }
    }
    char_start.push(text.len());
    let bidi = bidi_spans
        .into_iter()
        .map(|(a, b)| (char_start[a], char_start[b]))
        .collect();
    Cleaned {
        text: Cow::Owned(text),
        map: Some(map),
        bidi,
        len: response.len(),
    }
}

impl Cleaned<'_> {
    /// The span of the response that a span of the cleaned text came from (the smallest span
    /// holding every character of it; characters under an override run backwards).
    pub fn source_span(&self, start: usize, end: usize) -> (usize, usize) {
        let Some(map) = &self.map else {
            return (start, end);
        };
        if start >= end || start >= map.len() {
            let at = map.get(start).map_or(self.len, |s| s.0 as usize);
            return (at, at);
        }
        let end = end.min(map.len());
        let (mut a, mut b) = (u32::MAX, 0u32);
        for &(s, e) in &map[start..end] {
            a = a.min(s);
            b = b.max(e);
        }
        (a as usize, b as usize)
    }

    /// Whether a span of the cleaned text touches a place where a bidirectional control stood.
    pub fn near_bidi(&self, start: usize, end: usize) -> bool {
        self.bidi.iter().any(|&(a, b)| a <= end && start <= b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_text_is_borrowed() {
        for s in ["Call 0800 1111.", "Llama al 116 111, ¿vale?", "電話 110"] {
            let c = clean(s);
            assert!(matches!(c.text, Cow::Borrowed(_)), "{s}");
            assert_eq!(c.source_span(2, 5), (2, 5));
        }
    }

    #[test]
    fn invisible_characters_inside_numbers_go() {
        for (s, want) in [
            ("call 116\u{200b}111", "call 116111"),
            ("call 116\u{00ad}111", "call 116111"),
            ("call 116\u{2060}111 now", "call 116111 now"),
            ("\u{feff}0800 1111", "0800 1111"),
            ("1\u{200d}1\u{200c}6", "116"),
            ("1\u{fe0f}\u{20e3}1\u{fe0f}\u{20e3}6\u{fe0f}\u{20e3}", "116"),
        ] {
            assert_eq!(clean(s).text, want, "{s:?}");
        }
        // Joiners inside words of scripts that need them stay.
        let fa = "می\u{200c}خواهم";
        assert_eq!(clean(fa).text, fa);
    }

    #[test]
    fn a_right_to_left_override_is_read_as_shown() {
        let s = "call \u{202e}116 111\u{202c} now";
        let c = clean(s);
        assert_eq!(c.text, "call 111 611 now");
        let at = c.text.find("111 611").unwrap();
        assert!(c.near_bidi(at, at + 7));
        // The span maps back onto the override's text.
        let (a, b) = c.source_span(at, at + 7);
        assert_eq!(&s[a..b], "116 111");
        assert!(!c.near_bidi(0, 4));
    }

    #[test]
    fn spans_map_back_across_removed_characters() {
        let s = "é 116\u{200b}111!";
        let c = clean(s);
        assert_eq!(c.text, "é 116111!");
        let at = c.text.find("116111").unwrap();
        let (a, b) = c.source_span(at, at + 6);
        assert_eq!(&s[a..b], "116\u{200b}111");
    }
}
