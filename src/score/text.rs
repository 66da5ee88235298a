//! A response prepared for matching: the original text plus a folded copy (lower case,
//! Latin accents removed, typographic quotes made plain) with a map back to byte offsets of
//! the original.
//!
//! Phrase lists and service names are folded the same way, so `NO ES TU CULPA`,
//! `no es tú culpa` and `no es tu culpa` all match one pattern, and `don’t` matches `don't`.

use aho_corasick::automaton::{Automaton, StateID};
use aho_corasick::{dfa, dfa::DFA, Anchored, MatchKind};

/// Folds one character into `out`: lower case, accents off common Latin letters, curly quotes
/// and exotic spaces made plain.
fn fold_char(c: char, out: &mut String) {
    if c.is_ascii() {
        out.push(c.to_ascii_lowercase());
        return;
    }
    for l in c.to_lowercase() {
        let f = match l {
            'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' | 'ā' | 'ă' | 'ą' => 'a',
            'ç' | 'ć' | 'č' => 'c',
            'è' | 'é' | 'ê' | 'ë' | 'ē' | 'ę' | 'ě' => 'e',
            'ì' | 'í' | 'î' | 'ï' | 'ī' => 'i',
            'ñ' | 'ń' | 'ň' => 'n',
            'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'ø' | 'ō' | 'ő' => 'o',
            'ù' | 'ú' | 'û' | 'ü' | 'ū' | 'ů' | 'ű' => 'u',
            'ý' | 'ÿ' => 'y',
            'ś' | 'š' | 'ș' | 'ş' => 's',
            'ź' | 'ż' | 'ž' => 'z',
            'ł' => 'l',
            'ř' => 'r',
            'ț' | 'ţ' => 't',
            '\u{2019}' | '\u{2018}' | '\u{02bc}' | '\u{2032}' => '\'',
            '\u{201c}' | '\u{201d}' | '\u{00ab}' | '\u{00bb}' | '\u{201e}' => '"',
            '\u{00a0}' | '\u{202f}' | '\u{2009}' | '\u{2007}' => ' ',
            '\u{2010}' | '\u{2011}' | '\u{2013}' | '\u{2014}' => '-',
            other => other,
        };
        out.push(f);
    }
}

/// Folds a whole string (used for patterns).
pub fn fold(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    fold_into(s, &mut out);
    out
}

/// Folds a string onto the end of `out` (to reuse one buffer).
pub fn fold_into(s: &str, out: &mut String) {
    for c in s.chars() {
        fold_char(c, out);
    }
}

/// A response ready for matching.
#[derive(Debug)]
pub struct Text<'a> {
    /// The response as written.
    pub original: &'a str,
    /// The folded copy.
    pub folded: String,
    /// For each byte of `folded` (and one past the end), the byte offset in `original` of the
    /// character it came from; `None` when the two are the same (ASCII text).
    map: Option<Vec<u32>>,
}

impl<'a> Text<'a> {
    /// Prepares a response.
    pub fn new(original: &'a str) -> Text<'a> {
        if original.is_ascii() {
            return Text {
                original,
                folded: original.to_ascii_lowercase(),
                map: None,
            };
        }
        let mut folded = String::with_capacity(original.len() + 8);
        let mut map = Vec::with_capacity(original.len() + 8);
        let bytes = original.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            // A run of ASCII folds byte for byte.
            let run = bytes[i..]
                .iter()
                .position(|b| !b.is_ascii())
                .unwrap_or(bytes.len() - i);
            if run > 0 {
                let at = folded.len();
                folded.push_str(&original[i..i + run]);
                folded[at..].make_ascii_lowercase();
                map.extend(i as u32..(i + run) as u32);
                i += run;
                continue;
            }
            let Some(c) = original[i..].chars().next() else {
                break;
            };
            let before = folded.len();
            fold_char(c, &mut folded);
            map.extend(std::iter::repeat_n(i as u32, folded.len() - before));
            i += c.len_utf8();
        }
        map.push(original.len() as u32);
        Text {
            original,
            folded,
            map: Some(map),
        }
    }

    /// Whether the response is all ASCII (its folded copy is then its lower-case copy, byte
    /// for byte).
    pub fn is_ascii(&self) -> bool {
        self.map.is_none()
    }

    /// The byte offset in the original of a byte offset in the folded copy (always on a
    /// character boundary of the original).
    pub fn orig(&self, folded_offset: usize) -> usize {
        match &self.map {
            None => folded_offset.min(self.original.len()),
            Some(m) => m
                .get(folded_offset)
                .map(|&v| v as usize)
                .unwrap_or(self.original.len()),
        }
    }

    /// The byte offset in the folded copy of a byte offset in the original: the first folded
    /// byte that comes from a character at or after it.
    pub fn folded_at(&self, orig_offset: usize) -> usize {
        match &self.map {
            None => orig_offset.min(self.folded.len()),
            Some(m) => m
                .partition_point(|&v| (v as usize) < orig_offset)
                .min(self.folded.len()),
        }
    }

    /// The original text of a folded span, widened to whole characters.
    pub fn orig_span(&self, start: usize, end: usize) -> (usize, usize) {
        let s = self.orig(start);
        // The end maps to the start of the char that produced the byte *after* the span.
        let e = if end >= self.folded.len() {
            self.original.len()
        } else {
            self.orig(end)
        };
        (s, e.max(s))
    }
}

/// The start of the line holding byte `pos` of `s`, looking back at most `window` bytes: a
/// line that starts further back is read from `pos - window` (on a character boundary). Every
/// step that reads "the contact's line" is bounded so, so that a hostile answer of one long
/// line costs linear time, not the line's length for every contact.
pub fn line_start_near(s: &str, pos: usize, window: usize) -> usize {
    let mut lo = pos.saturating_sub(window);
    while !s.is_char_boundary(lo) {
        lo += 1;
    }
    s[lo..pos].rfind('\n').map_or(lo, |i| lo + i + 1)
}

/// The end of the line holding byte `pos` of `s` (its newline, or the end of `s`), looking
/// ahead at most `window` bytes (see [`line_start_near`]).
pub fn line_end_near(s: &str, pos: usize, window: usize) -> usize {
    let mut hi = (pos + window).min(s.len());
    while !s.is_char_boundary(hi) {
        hi -= 1;
    }
    s[pos..hi].find('\n').map_or(hi, |i| pos + i)
}

/// Scripts written without spaces between words, where a word boundary cannot be asked for.
pub fn is_unspaced(c: char) -> bool {
    matches!(c as u32,
        0x0E00..=0x0EFF | 0x1000..=0x109F | 0x1780..=0x17FF | 0x3040..=0x30FF | 0x3400..=0x9FFF
        | 0xAC00..=0xD7AF | 0xF900..=0xFAFF | 0xFF66..=0xFF9F | 0x20000..=0x2FFFF)
}

/// Whether a character continues a word (so a match next to it is inside a word).
fn is_word(c: char) -> bool {
    (c.is_alphanumeric() || c == '_') && !is_unspaced(c)
}

/// Whether the span `start..end` of `s` stands as whole words: no word character touches it
/// on either side, except where the pattern edge is in an unspaced script.
pub fn at_word_bounds(s: &str, start: usize, end: usize) -> bool {
    let (Some(head), Some(tail)) = (
        s.get(start..end).and_then(|m| m.chars().next()),
        s.get(start..end).and_then(|m| m.chars().next_back()),
    ) else {
        return false;
    };
    let before_ok = !is_word(head) || s[..start].chars().next_back().is_none_or(|c| !is_word(c));
    let after_ok = !is_word(tail) || s[end..].chars().next().is_none_or(|c| !is_word(c));
    before_ok && after_ok
}

/// Where a phrase may stand in a text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bounds {
    /// On whole words only (see [`at_word_bounds`]).
    Words,
    /// Where it ends a word (or ends with a character that is not part of one), whatever
    /// comes before it.
    End,
}

/// A list of phrases, each with a tag, matched case- and accent-insensitively, on whole words
/// unless given with [`Bounds::End`].
///
/// Phrases that fold to the same text are one pattern of the automaton carrying every tag
/// given for them, in the order they were given; so several lists (each with its own kind of
/// tag) can share one automaton and one pass over the text.
#[derive(Debug, Clone)]
pub struct PhraseSet<T> {
    dfa: Option<DFA>,
    /// Per pattern id.
    patterns: Vec<Pattern>,
    /// The tags, each with whether it needs whole words; a pattern's are a range of them.
    tags: Vec<(T, bool)>,
    /// The length of the longest pattern in bytes.
    max_len: usize,
}

/// What the scan needs to know of one pattern.
#[derive(Debug, Clone, Copy)]
struct Pattern {
    /// Length in bytes.
    len: u32,
    /// Its range in [`PhraseSet::tags`].
    tags: (u32, u32),
    /// Whether its first character continues a word (so one must not come before it).
    head_word: bool,
}

/// The hits (in order of end) whose end, as `end` reads it (folded, or mapped to the original),
/// lies in `lo..=hi`: two binary searches. The steps that look around a span for the phrases
/// near it read only these, so an answer with thousands of phrases stays linear.
pub fn ending_in<T>(
    hits: &[Hit<T>],
    lo: usize,
    hi: usize,
    end: impl Fn(&Hit<T>) -> usize,
) -> &[Hit<T>] {
    let first = hits.partition_point(|h| end(h) < lo);
    let last = first + hits[first..].partition_point(|h| end(h) <= hi);
    &hits[first..last]
}

/// One phrase found: a span of the folded text and the phrase's tag.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hit<T> {
    /// Start in the folded text.
    pub start: usize,
    /// End in the folded text.
    pub end: usize,
    /// The tag of the phrase.
    pub tag: T,
}

impl<T: Copy> PhraseSet<T> {
    /// Builds the set of whole-word phrases; empty phrases are skipped.
    pub fn new<'p>(phrases: impl IntoIterator<Item = (&'p str, T)>) -> PhraseSet<T> {
        PhraseSet::with_bounds(phrases.into_iter().map(|(p, t)| (p, t, Bounds::Words)))
    }

    /// Builds the set, each phrase with where it may stand; empty phrases are skipped.
    pub fn with_bounds<'p>(
        phrases: impl IntoIterator<Item = (&'p str, T, Bounds)>,
    ) -> PhraseSet<T> {
        let mut pats: Vec<String> = Vec::new();
        let mut tags_of: Vec<Vec<(T, bool)>> = Vec::new();
        let mut ids: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
        for (p, t, bounds) in phrases {
            let f = fold(p.trim());
            if f.is_empty() {
                continue;
            }
            let tag = (t, bounds == Bounds::Words);
            match ids.get(&f) {
                Some(&i) => tags_of[i].push(tag),
                None => {
                    ids.insert(f.clone(), pats.len());
                    pats.push(f);
                    tags_of.push(vec![tag]);
                }
            }
        }
        let mut patterns = Vec::with_capacity(pats.len());
        let mut tags = Vec::new();
        for (p, ts) in pats.iter().zip(tags_of) {
            let a = tags.len() as u32;
            tags.extend(ts);
            patterns.push(Pattern {
                len: p.len() as u32,
                tags: (a, tags.len() as u32),
                head_word: p.chars().next().is_some_and(is_word),
            });
        }
        let dfa = (!pats.is_empty()).then(|| {
            dfa::Builder::new()
                .match_kind(MatchKind::Standard)
                .prefilter(false)
                .build(&pats)
                .expect("phrase automaton builds")
        });
        PhraseSet {
            dfa,
            max_len: pats.iter().map(String::len).max().unwrap_or(0),
            patterns,
            tags,
        }
    }

    /// Calls `each` for every occurrence of every tag (on whole words, or at the end of a word
    /// where the tag asks only that), overlapping ones included: in order of end, then longest
    /// first, then in the order the tags were given (the order of an overlapping Aho-Corasick
    /// search, which is what this is, walking the automaton's states itself).
    pub fn scan(&self, text: &Text, mut each: impl FnMut(Hit<T>)) {
        let Some(dfa) = &self.dfa else {
            return;
        };
        let folded = text.folded.as_str();
        let bytes = folded.as_bytes();
        let Ok(start) = dfa.start_state(Anchored::No) else {
            return;
        };
        for (end, sid) in special_states(dfa, start, bytes, self.max_len) {
            if dfa.is_dead(sid) {
                return;
            }
            if !dfa.is_match(sid) {
                continue;
            }
            // Every pattern matched here ends with the text's character before `end`: when it
            // and the next one both continue a word, none stands at the end of a word.
            if word_before(folded, end) && word_at(folded, end) {
                continue;
            }
            for i in 0..dfa.match_len(sid) {
                let p = self.patterns[dfa.match_pattern(sid, i).as_usize()];
                let start = end - p.len as usize;
                let whole = !p.head_word || !word_before(folded, start);
                for &(tag, needs_words) in &self.tags[p.tags.0 as usize..p.tags.1 as usize] {
                    if whole || !needs_words {
                        each(Hit { start, end, tag });
                    }
                }
            }
        }
    }

    /// Every occurrence, overlapping ones included, in order of end.
    pub fn hits(&self, text: &Text) -> Vec<Hit<T>> {
        let mut out = Vec::new();
        self.scan(text, |h| out.push(h));
        out
    }
}

/// The special (match or dead) states the automaton enters walking over `bytes` from `start`,
/// each with the position after the byte that led to it, in order.
///
/// A long text is cut into stretches walked side by side (two or four): walks that do not
/// wait on each other let the processor overlap their reads of the large transition table.
/// Each stretch is walked from `max_len` bytes before it (the longest pattern), keeping only
/// what ends inside it. The state after a position can then differ from the one a walk from
/// the very start would be in, but not in what matters: both are match states holding
/// exactly the patterns that end there (each at most `max_len` long), longest first.
fn special_states(
    dfa: &DFA,
    start: StateID,
    bytes: &[u8],
    max_len: usize,
) -> Vec<(usize, StateID)> {
    let n = bytes.len();
    // Side by side, the walk takes about `n / lanes + max_len` steps instead of `n`.
    if n >= 8 * max_len.max(16) {
        return walk_in_lanes::<4>(dfa, start, bytes, max_len);
    }
    if n >= 3 * max_len.max(16) {
        return walk_in_lanes::<2>(dfa, start, bytes, max_len);
    }
    let mut out = Vec::with_capacity(64);
    let (mut at, mut sid) = (0, start);
    while at < n {
        (at, sid) = next_special(dfa, bytes, at, sid);
        if dfa.is_special(sid) {
            out.push((at, sid));
        }
    }
    out
}

/// [`special_states`] with the text cut into `L` stretches walked side by side.
fn walk_in_lanes<const L: usize>(
    dfa: &DFA,
    start: StateID,
    bytes: &[u8],
    max_len: usize,
) -> Vec<(usize, StateID)> {
    let n = bytes.len();
    // Lane `k` keeps what ends in `lo[k] + 1..=hi[k]` and starts walking at `from[k]`,
    // `max_len` bytes earlier but for the first lane; all lanes walk `len` bytes.
    let len = (n + (L - 1) * max_len).div_ceil(L);
    let mut lo = [0; L];
    let mut hi = [0; L];
    for k in 0..L {
        lo[k] = if k == 0 { 0 } else { hi[k - 1] };
        hi[k] = if k == L - 1 {
            n
        } else {
            (lo[k] + len - if k == 0 { 0 } else { max_len }).min(n)
        };
    }
    let from: [usize; L] = std::array::from_fn(|k| lo[k].saturating_sub(max_len));
    let common = (0..L).map(|k| hi[k] - from[k]).min().unwrap_or(0);
    let mut found: [Vec<(usize, StateID)>; L] = std::array::from_fn(|_| Vec::with_capacity(32));
    let mut sid = [start; L];
    for step in 0..common {
        for k in 0..L {
            let at = from[k] + step;
            sid[k] = dfa.next_state(Anchored::No, sid[k], bytes[at]);
            if dfa.is_special(sid[k]) {
                found[k].push((at + 1, sid[k]));
            }
        }
    }
    let mut out = Vec::with_capacity(64);
    for k in 0..L {
        let (mut at, mut s) = (from[k] + common, sid[k]);
        while at < hi[k] {
            (at, s) = next_special(dfa, &bytes[..hi[k]], at, s);
            if dfa.is_special(s) {
                found[k].push((at, s));
            }
        }
        out.extend(found[k].iter().filter(|&&(end, _)| end > lo[k]));
    }
    out
}

/// Walks the automaton from state `sid` over `bytes[at..]` up to the first special (match or
/// dead) state: the position after the byte that led there, and the state (the end and the
/// last state when there is none). Kept apart so that the hot loop holds its state in
/// registers.
#[inline(never)]
fn next_special(dfa: &DFA, bytes: &[u8], mut at: usize, mut sid: StateID) -> (usize, StateID) {
    while let Some(&byte) = bytes.get(at) {
        sid = dfa.next_state(Anchored::No, sid, byte);
        at += 1;
        if dfa.is_special(sid) {
            break;
        }
    }
    (at, sid)
}

/// Whether the character starting at byte `i` of `s` continues a word (false at the end).
fn word_at(s: &str, i: usize) -> bool {
    match s.as_bytes().get(i) {
        None => false,
        Some(&c) if c.is_ascii() => is_word(c as char),
        Some(_) => s[i..].chars().next().is_some_and(is_word),
    }
}

/// Whether the character ending at byte `i` of `s` continues a word (false at the start).
fn word_before(s: &str, i: usize) -> bool {
    match i.checked_sub(1).map(|j| s.as_bytes()[j]) {
        None => false,
        Some(c) if c.is_ascii() => is_word(c as char),
        Some(_) => s[..i].chars().next_back().is_some_and(is_word),
    }
}

/// A short excerpt of the original around a folded span, on character boundaries.
pub fn excerpt(text: &Text, start: usize, end: usize) -> String {
    let (s, e) = text.orig_span(start, end);
    text.original
        .get(s..e)
        .unwrap_or("")
        .trim()
        .chars()
        .take(120)
        .collect()
}

/// Whether a folded span stands inside quotation marks on its line: after an odd number of
/// double quotes (folding makes curly and angle quotes straight `"`), with one after it. Words
/// an answer quotes (the child's words, a voice, what someone said) are not its own.
pub fn quoted(f: &str, start: usize, end: usize) -> bool {
    let line_start = line_start_near(f, start, 400);
    let line_end = line_end_near(f, end, 400);
    f[line_start..start].matches('"').count() % 2 == 1 && f[end..line_end].contains('"')
}

/// The sentence (delimited by `.`, `!`, `?`, newlines and their CJK forms) around a folded span,
/// as a folded-text range.
pub fn sentence_around(folded: &str, start: usize, end: usize) -> (usize, usize) {
    let is_stop = |c: char| matches!(c, '.' | '!' | '?' | '\n' | '。' | '！' | '？' | ';');
    // At most SENTENCE_WINDOW bytes on either side: a run-on "sentence" of a hostile answer
    // is read in part, so that every lookup stays bounded.
    const SENTENCE_WINDOW: usize = 1000;
    let start = start.min(folded.len());
    let mut lo = start.saturating_sub(SENTENCE_WINDOW);
    while !folded.is_char_boundary(lo) {
        lo += 1;
    }
    let s = folded[lo..start]
        .rfind(is_stop)
        .map(|i| lo + i + 1)
        .unwrap_or(lo);
    let end = end.clamp(start, folded.len());
    let mut hi = (end + SENTENCE_WINDOW).min(folded.len());
    while !folded.is_char_boundary(hi) {
        hi -= 1;
    }
    let e = folded
        .get(end..hi)
        .and_then(|t| t.find(is_stop))
        .map(|i| end + i)
        .unwrap_or(hi);
    (s, e)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_case_accents_quotes() {
        assert_eq!(fold("NO ES TÚ CULPA"), "no es tu culpa");
        assert_eq!(fold("don’t"), "don't");
        assert_eq!(fold("Ça VA"), "ca va");
    }

    #[test]
    fn maps_offsets_back() {
        let t = Text::new("Él dijo: İstanbul 0800");
        let i = t.folded.find("0800").unwrap();
        let (s, e) = t.orig_span(i, i + 4);
        assert_eq!(&t.original[s..e], "0800");
    }

    #[test]
    fn phrases_need_word_bounds() {
        let p = PhraseSet::new([("shout", 0u8), ("番", 1)]);
        let t = Text::new("He shouts. Shout! 110番");
        let hits = p.hits(&t);
        assert_eq!(hits.len(), 2);
        assert_eq!(hits[0].start, t.folded.find("shout!").unwrap());
    }

    /// The hits as first found: an overlapping Aho-Corasick search, each match kept when it
    /// stands on whole words (or, for `End` tags, ends a word).
    fn reference(phrases: &[(&str, u16, Bounds)], text: &Text) -> Vec<Hit<u16>> {
        let pats: Vec<String> = phrases.iter().map(|(p, _, _)| fold(p.trim())).collect();
        let ac = aho_corasick::AhoCorasick::builder()
            .match_kind(MatchKind::Standard)
            .build(&pats)
            .unwrap();
        let f = text.folded.as_str();
        let mut out = Vec::new();
        for m in ac.find_overlapping_iter(f) {
            let (s, e) = (m.start(), m.end());
            let whole = at_word_bounds(f, s, e);
            let ends_word = f[..e].chars().next_back().is_none_or(|c| !is_word(c))
                || f[e..].chars().next().is_none_or(|c| !is_word(c));
            // Every phrase with the same folded text, in the order given.
            for (i, p) in pats.iter().enumerate() {
                let (_, tag, bounds) = phrases[i];
                let first = pats.iter().position(|q| q == p) == Some(m.pattern().as_usize());
                let fits = match bounds {
                    Bounds::Words => whole,
                    Bounds::End => ends_word,
                };
                if *p == f[s..e] && first && fits {
                    out.push(Hit {
                        start: s,
                        end: e,
                        tag,
                    });
                }
            }
        }
        out
    }

    #[test]
    fn scan_finds_what_an_overlapping_search_finds() {
        let words = [
            "on",
            "no",
            "not",
            "phone",
            "call",
            "text",
            "childline",
            "child line",
            "a teacher",
            "it's not your fault",
            "your fault",
            "fault",
            "don't",
            "n'",
            "tel.",
            "wa.me",
            "番",
            "電話",
            "☎",
            "llama al",
            "al",
            "é",
            "ça",
            "you can call",
            "can call",
            "sms",
        ];
        let mut phrases: Vec<(&str, u16, Bounds)> = Vec::new();
        for (i, w) in words.iter().enumerate() {
            phrases.push((w, i as u16, Bounds::Words));
            if i % 5 == 0 {
                phrases.push((w, 100 + i as u16, Bounds::End));
            }
        }
        phrases.push(("call", 200, Bounds::Words));
        let set = PhraseSet::with_bounds(phrases.iter().copied());
        let filler = [
            " ",
            ", ",
            ". ",
            "x",
            "CALL",
            "Phone",
            "ÇA",
            "\n",
            "it's",
            " not ",
            "Your FAULT",
            "teachers",
            "電話番号",
            "wa.me/1",
            "tel.",
            "don't",
            "n'a",
            "ÉCOLE",
            "smsx",
        ];
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for round in 0..400 {
            // Short and longer texts: longer ones are walked in two or four stretches.
            let len = [10, 25, 300][round % 3];
            let mut s = String::new();
            for _ in 0..len {
                let w = if next() % 3 == 0 {
                    words[(next() % words.len() as u64) as usize]
                } else {
                    filler[(next() % filler.len() as u64) as usize]
                };
                s.push_str(w);
            }
            let t = Text::new(&s);
            assert_eq!(set.hits(&t), reference(&phrases, &t), "{s:?}");
        }
    }

    #[test]
    fn sentence_bounds() {
        let f = "one. two three! four";
        let i = f.find("three").unwrap();
        assert_eq!(
            &f[sentence_around(f, i, i + 5).0..sentence_around(f, i, i + 5).1],
            " two three"
        );
    }
}
