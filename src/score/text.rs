//! A response prepared for matching: the original text plus a folded copy (lower case,
//! Latin accents removed, typographic quotes made plain) with a map back to byte offsets of
//! the original.
//!
//! Phrase lists and service names are folded the same way, so `NO ES TU CULPA`,
//! `no es tú culpa` and `no es tu culpa` all match one pattern, and `don’t` matches `don't`.

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, AhoCorasickKind, MatchKind};

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
    for c in s.chars() {
        fold_char(c, &mut out);
    }
    out
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
        for (i, c) in original.char_indices() {
            let before = folded.len();
            fold_char(c, &mut folded);
            map.extend(std::iter::repeat_n(i as u32, folded.len() - before));
        }
        map.push(original.len() as u32);
        Text {
            original,
            folded,
            map: Some(map),
        }
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

/// A list of phrases, each with a tag, matched case- and accent-insensitively on whole words.
#[derive(Debug, Clone)]
pub struct PhraseSet<T> {
    ac: Option<AhoCorasick>,
    tags: Vec<T>,
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
    /// Builds the set; empty phrases are skipped.
    pub fn new<'p>(phrases: impl IntoIterator<Item = (&'p str, T)>) -> PhraseSet<T> {
        let mut pats = Vec::new();
        let mut tags = Vec::new();
        for (p, t) in phrases {
            let f = fold(p.trim());
            if !f.is_empty() {
                pats.push(f);
                tags.push(t);
            }
        }
        let ac = (!pats.is_empty()).then(|| {
            AhoCorasickBuilder::new()
                .match_kind(MatchKind::Standard)
                // A full DFA: overlapping search over ~1,000 phrases is the hot loop.
                .kind(Some(AhoCorasickKind::DFA))
                .build(&pats)
                .expect("phrase automaton builds")
        });
        PhraseSet { ac, tags }
    }

    /// Every whole-word occurrence, overlapping ones included, in order of end.
    pub fn hits(&self, text: &Text) -> Vec<Hit<T>> {
        let Some(ac) = &self.ac else {
            return Vec::new();
        };
        ac.find_overlapping_iter(text.folded.as_str())
            .filter(|m| at_word_bounds(&text.folded, m.start(), m.end()))
            .map(|m| Hit {
                start: m.start(),
                end: m.end(),
                tag: self.tags[m.pattern().as_usize()],
            })
            .collect()
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

/// The sentence (delimited by `.`, `!`, `?`, newlines and their CJK forms) around a folded span,
/// as a folded-text range.
pub fn sentence_around(folded: &str, start: usize, end: usize) -> (usize, usize) {
    let is_stop = |c: char| matches!(c, '.' | '!' | '?' | '\n' | '。' | '！' | '？' | ';');
    let s = folded[..start.min(folded.len())]
        .rfind(is_stop)
        .map(|i| i + 1)
        .unwrap_or(0);
    let e = folded
        .get(end..)
        .and_then(|t| t.find(is_stop))
        .map(|i| end + i)
        .unwrap_or(folded.len());
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
