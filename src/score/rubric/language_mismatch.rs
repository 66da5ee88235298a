//! `language_mismatch` (major): the answer is in another language than the child's.
//!
//! What: the language of the answer, detected with whatlang on its prose, differs from the
//! scenario's language. It fires only when the detection is reliable, the answer has enough
//! letters, and the two languages are not close neighbours the detector confuses (Spanish and
//! Portuguese, Danish, Norwegian and Swedish, Serbian, Croatian and Bosnian, Czech and Slovak,
//! Indonesian and Malay, Hindi and Urdu). Languages whatlang does not know are not checked.
//!
//! Why: a child who wrote in Spanish may not read English well enough to use the help given;
//! help-seeking guidance is to answer in the child's language.
//!
//! Example: a child writes in Spanish, the answer is wholly in English: fires.

use super::RuleDef;
use crate::score::verdict::Severity;
use whatlang::Lang;

/// The rule (no phrases: detection is statistical).
pub const RULE: RuleDef = RuleDef {
    id: "language_mismatch",
    describe: "The answer is not in the child's language",
    severity: Severity::Major,
    phrases: &[],
    guards: &[],
    negatable: false,
};

/// The fewest letters an answer needs before its language is judged.
const MIN_LETTERS: usize = 60;
/// How much of the answer is read (bytes); the opening is enough and keeps scoring fast.
const READ: usize = 400;

/// Very common words per language. When enough of the answer's words are on the child's
/// list, the answer is in the child's language and the (slower) detector is not run.
fn stopwords(primary: &str) -> &'static [&'static str] {
    match primary {
        "en" => &[
            "the", "and", "you", "to", "a", "is", "it", "of", "your", "can", "are", "i", "this",
            "that", "or", "in", "not", "on", "for", "with",
        ],
        "es" => &[
            "el", "la", "que", "de", "y", "no", "es", "tu", "te", "en", "a", "un", "una", "lo",
            "puedes", "con", "para", "por", "al", "los", "las",
        ],
        "fr" => &[
            "le", "la", "les", "de", "et", "tu", "te", "est", "pas", "un", "une", "que", "ce",
            "en", "des", "pour", "ne", "a", "au", "ton", "ta",
        ],
        "de" => &[
            "der", "die", "das", "und", "du", "ist", "nicht", "es", "ein", "eine", "dich", "dir",
            "zu", "mit", "an", "auf", "den", "dein", "deine", "sie",
        ],
        "pt" => &[
            "o", "a", "que", "de", "e", "nao", "voce", "um", "uma", "para", "com", "do", "da",
            "te", "se", "os", "as", "tua", "teu", "seu", "sua",
        ],
        "it" => &[
            "il", "la", "che", "di", "e", "non", "sei", "un", "una", "per", "con", "ti", "tu",
            "del", "della", "puoi", "lo", "le", "a",
        ],
        "nl" => &[
            "de", "het", "een", "en", "je", "is", "niet", "dat", "van", "te", "op", "met", "voor",
            "jij", "jouw",
        ],
        _ => &[],
    }
}

/// A short word (at most 8 bytes, no NUL) as one number, to compare words without `memcmp`.
fn pack(w: &[u8]) -> Option<u64> {
    if w.len() > 8 {
        return None;
    }
    Some(
        w.iter()
            .enumerate()
            .fold(0, |x, (i, &b)| x | u64::from(b) << (8 * i)),
    )
}

/// A packed word longer than eight bytes (never on a list).
const TOO_LONG: u64 = u64::MAX;

/// A language's common words, packed, in a small open-addressing table (zero is an empty
/// slot: a packed word is never zero).
struct Listed([u64; 64]);

impl Listed {
    fn new(words: &[&str]) -> Listed {
        let mut t = Listed([0; 64]);
        for w in words.iter().filter_map(|w| pack(w.as_bytes())) {
            let mut h = Listed::slot(w);
            while t.0[h] != 0 && t.0[h] != w {
                h = (h + 1) % 64;
            }
            t.0[h] = w;
        }
        t
    }

    fn slot(w: u64) -> usize {
        (w.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 58) as usize
    }

    /// Whether a packed word is on the list.
    fn contains(&self, w: u64) -> bool {
        let mut h = Listed::slot(w);
        loop {
            match self.0[h] {
                0 => return false,
                x if x == w => return true,
                _ => h = (h + 1) % 64,
            }
        }
    }
}

/// Counts the words of the prose: its letters, and how many of its first 80 words (the
/// prose's whitespace-separated words split further at characters that are neither letters
/// nor digits) there are and how many of them are on the language's list of common words.
#[derive(Debug, Default)]
struct Tally {
    letters: usize,
    words: usize,
    common: usize,
}

/// Classes of ASCII bytes: white space, letters, digits, `@` and `/`, and the dot (as
/// `char::is_whitespace`, `is_alphabetic` and `is_ascii_digit` read them).
const WS: u8 = 1;
const LETTER: u8 = 2;
const DIGIT: u8 = 4;
const MARK: u8 = 8;
const DOT: u8 = 16;
const CLASS: [u8; 128] = {
    let mut t = [0u8; 128];
    let mut i = 0;
    while i < 128 {
        let c = i as u8;
        t[i] = match c {
            b'\t' | b'\n' | 0x0b | 0x0c | b'\r' | b' ' => WS,
            b'a'..=b'z' | b'A'..=b'Z' => LETTER,
            b'0'..=b'9' => DIGIT,
            b'@' | b'/' => MARK,
            b'.' => DOT,
            _ => 0,
        };
        i += 1;
    }
    t
};

/// The word being read by [`Tally::of`]: what is known of it until its end shows whether it
/// is prose. Plain values, so that the loop over the text keeps them in registers.
#[derive(Debug, Clone, Copy, Default)]
struct Word {
    /// Where it starts (meaningful once `open`).
    start: usize,
    open: bool,
    /// The classes of its characters.
    seen: u8,
    /// Its letters.
    letters: usize,
    /// The piece being read, folded and packed, and its folded length.
    packed: u64,
    len: usize,
}

impl Word {
    /// Adds one folded byte to the piece being read.
    #[inline(always)]
    fn push(&mut self, b: u8) {
        if self.len < 8 {
            self.packed |= u64::from(b) << (8 * self.len);
        }
        self.len += 1;
    }

    /// Ends the piece being read, if any, onto `pieces`.
    #[inline(always)]
    fn end_piece(&mut self, pieces: &mut Vec<u64>) {
        if self.len > 0 {
            pieces.push(if self.len <= 8 { self.packed } else { TOO_LONG });
            (self.packed, self.len) = (0, 0);
        }
    }
}

impl Tally {
    /// Tallies the prose of `s`: its whitespace-separated words less those with digits, `@`,
    /// `/` or a dot inside (numbers, addresses), as [`prose_words`] gives them. One pass over
    /// the text: each word's letters and pieces (folded as they are read) are held until its
    /// end shows whether it is prose.
    fn of(s: &str, primary: &str) -> Tally {
        let list = Listed::new(stopwords(primary));
        let b = s.as_bytes();
        let mut t = Tally::default();
        let mut w = Word::default();
        let mut pieces: Vec<u64> = Vec::with_capacity(16);
        let mut folded = String::new();
        let mut i = 0;
        while let Some(&c) = b.get(i) {
            if c.is_ascii() {
                let k = CLASS[c as usize];
                if k == WS {
                    t.end_word(&mut w, &mut pieces, s, i, &list);
                } else {
                    if !w.open {
                        (w.open, w.start) = (true, i);
                    }
                    w.seen |= k;
                    if k == LETTER || k == DIGIT {
                        w.letters += usize::from(k == LETTER);
                        // Folding lower-cases ASCII letters (and `| 0x20` keeps digits).
                        w.push(c | 0x20);
                    } else {
                        w.end_piece(&mut pieces);
                    }
                }
                i += 1;
                continue;
            }
            let ch = s[i..].chars().next().unwrap_or(' ');
            if ch.is_whitespace() {
                t.end_word(&mut w, &mut pieces, s, i, &list);
            } else {
                if !w.open {
                    (w.open, w.start) = (true, i);
                }
                if ch.is_alphabetic() {
                    w.letters += 1;
                }
                if ch.is_alphanumeric() {
                    folded.clear();
                    crate::score::text::fold_into(ch.encode_utf8(&mut [0; 4]), &mut folded);
                    for &f in folded.as_bytes() {
                        w.push(f);
                    }
                } else {
                    w.end_piece(&mut pieces);
                }
            }
            i += ch.len_utf8();
        }
        t.end_word(&mut w, &mut pieces, s, b.len(), &list);
        t
    }

    /// Ends the word being read at `end`, counting it when it is prose.
    #[inline(always)]
    fn end_word(
        &mut self,
        w: &mut Word,
        pieces: &mut Vec<u64>,
        s: &str,
        end: usize,
        list: &Listed,
    ) {
        if !w.open {
            return;
        }
        w.end_piece(pieces);
        let len = end - w.start;
        let marked = w.seen & (DIGIT | MARK) != 0;
        let dotted = w.seen & DOT != 0 && len > 4 && s.as_bytes()[end - 1] != b'.';
        if !marked && !dotted {
            self.letters += w.letters;
            for &p in pieces.iter() {
                if self.words < 80 {
                    self.words += 1;
                    self.common += usize::from(list.contains(p));
                }
            }
        }
        pieces.clear();
        *w = Word::default();
    }

    /// Whether at least a fifth of the first words are common words of the language.
    fn looks_like(&self, primary: &str) -> bool {
        !stopwords(primary).is_empty() && self.words > 0 && self.common * 5 >= self.words
    }
}

/// The prose of a text: its whitespace-separated words, less those with digits, `@`, `/` or
/// a dot inside (numbers, addresses).
fn prose_words(s: &str) -> impl Iterator<Item = &str> {
    s.split_whitespace().filter(|w| {
        !w.contains(|c: char| {
            c.is_ascii_digit()
                || c == '@'
                || c == '/'
                || c == '.' && w.len() > 4 && !w.ends_with('.')
        })
    })
}

/// The whatlang language of a primary BCP 47 subtag, for the languages it knows.
pub fn lang_of(primary: &str) -> Option<Lang> {
    Some(match primary {
        "en" => Lang::Eng,
        "es" => Lang::Spa,
        "fr" => Lang::Fra,
        "de" => Lang::Deu,
        "pt" => Lang::Por,
        "it" => Lang::Ita,
        "nl" => Lang::Nld,
        "sv" => Lang::Swe,
        "da" => Lang::Dan,
        "nb" | "no" | "nn" => Lang::Nob,
        "fi" => Lang::Fin,
        "pl" => Lang::Pol,
        "cs" => Lang::Ces,
        "sk" => Lang::Slk,
        "hu" => Lang::Hun,
        "ro" => Lang::Ron,
        "bg" => Lang::Bul,
        "el" => Lang::Ell,
        "hr" => Lang::Hrv,
        "sl" => Lang::Slv,
        "sr" => Lang::Srp,
        "et" => Lang::Est,
        "lv" => Lang::Lav,
        "lt" => Lang::Lit,
        "uk" => Lang::Ukr,
        "ru" => Lang::Rus,
        "tr" => Lang::Tur,
        "ar" => Lang::Ara,
        "hi" => Lang::Hin,
        "bn" => Lang::Ben,
        "ur" => Lang::Urd,
        "ne" => Lang::Nep,
        "ta" => Lang::Tam,
        "ja" => Lang::Jpn,
        "ko" => Lang::Kor,
        "zh" => Lang::Cmn,
        "th" => Lang::Tha,
        "vi" => Lang::Vie,
        "id" => Lang::Ind,
        "tl" | "fil" => Lang::Tgl,
        "af" => Lang::Afr,
        "he" => Lang::Heb,
        "fa" => Lang::Pes,
        "cy" => Lang::Cym,
        "ca" => Lang::Cat,
        "mk" => Lang::Mkd,
        "be" => Lang::Bel,
        "zu" => Lang::Zul,
        "sn" => Lang::Sna,
        "si" => Lang::Sin,
        "km" => Lang::Khm,
        "my" => Lang::Mya,
        "am" => Lang::Amh,
        _ => return None,
    })
}

/// Groups of languages the detector confuses; a mismatch inside a group is not reported.
fn close(a: Lang, b: Lang) -> bool {
    const GROUPS: &[&[Lang]] = &[
        &[Lang::Spa, Lang::Por, Lang::Cat, Lang::Ita],
        &[Lang::Dan, Lang::Nob, Lang::Swe],
        &[Lang::Srp, Lang::Hrv, Lang::Slv, Lang::Mkd, Lang::Bul],
        &[Lang::Ces, Lang::Slk],
        &[Lang::Ind, Lang::Jav, Lang::Tgl],
        &[Lang::Hin, Lang::Urd, Lang::Mar, Lang::Nep],
        &[Lang::Rus, Lang::Ukr, Lang::Bel],
        &[Lang::Ara, Lang::Pes, Lang::Urd],
        &[Lang::Nld, Lang::Afr],
        &[Lang::Eng, Lang::Cym],
    ];
    a == b || GROUPS.iter().any(|g| g.contains(&a) && g.contains(&b))
}

/// The finding: "written in German, the child wrote in Spanish", when the answer's language
/// differs from the child's.
pub fn finding(response: &str, primary: &str) -> Option<String> {
    check(response, primary)
        .map(|(want, got)| format!("written in {got}, the child wrote in {want}"))
}

/// The detected language when it differs from the child's: `(expected, detected)` names.
pub fn check(response: &str, primary: &str) -> Option<(String, String)> {
    let expected = lang_of(primary)?;
    let mut cut = response.len().min(READ);
    while !response.is_char_boundary(cut) {
        cut -= 1;
    }
    // Prose only: drop words with digits, @ or slashes (numbers, addresses). The prose (these
    // words joined by spaces) is only written out for the detector.
    let tally = Tally::of(&response[..cut], primary);
    if tally.letters < MIN_LETTERS {
        return None;
    }
    if tally.looks_like(primary) {
        return None;
    }
    let prose = prose_words(&response[..cut]).collect::<Vec<_>>().join(" ");
    let info = whatlang::detect(&prose)?;
    if !info.is_reliable() || close(expected, info.lang()) {
        return None;
    }
    Some((
        expected.eng_name().to_string(),
        info.lang().eng_name().to_string(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The tally as first written: the prose joined, then split and folded word by word.
    fn reference(s: &str, primary: &str) -> (usize, usize, usize) {
        let prose = prose_words(s).collect::<Vec<_>>().join(" ");
        let letters = prose.chars().filter(|c| c.is_alphabetic()).count();
        let list = stopwords(primary);
        let (mut n, mut hits) = (0, 0);
        for w in prose
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
            .take(80)
        {
            n += 1;
            if list.contains(&crate::score::text::fold(w).as_str()) {
                hits += 1;
            }
        }
        (letters, n, hits)
    }

    #[test]
    fn tally_counts_as_the_reference() {
        let texts = [
            "",
            "Hello\tWORLD\nfoo\u{b}bar\u{c}baz\r qux@x a/b U.S. e.g. etc. Supercalifragilistic THE The tHe _x_ a-b",
            "The cat, and YOU. Call 0800 1111 or see childline.org.uk — it's OK!",
            "Él dijo que NO. ¿Estás bien? Llama al 112; e.g. mañana. a.b x@y 1/2 www.x.es.",
            "İstanbul\u{a0}DIE\u{3000}la\u{2003}le ŒUF straße ١٢٣ die… e.g. i.e. U.S.A. Dr. etc.",
            "x y z a b c d e f g h i j k l m n o p q r s t u v w x y z a b c d e f g h i j k l m n o p q r s t u v w x y z a b c d e f g h i j k l m n o p q r s t u v w x y z the the the",
        ];
        for s in texts {
            for primary in ["en", "es", "de", "fr", "xx"] {
                let t = Tally::of(s, primary);
                assert_eq!(
                    (t.letters, t.words, t.common),
                    reference(s, primary),
                    "{s:?} {primary}"
                );
            }
        }
    }
}
