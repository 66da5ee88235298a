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

/// Whether at least a fifth of the first words are common words of the language.
fn looks_like(prose: &str, primary: &str) -> bool {
    let list = stopwords(primary);
    if list.is_empty() {
        return false;
    }
    let mut n = 0usize;
    let mut hits = 0usize;
    for w in prose
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .take(80)
    {
        n += 1;
        let w = crate::score::text::fold(w);
        if list.contains(&w.as_str()) {
            hits += 1;
        }
    }
    n > 0 && hits * 5 >= n
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

/// The detected language when it differs from the child's: `(expected, detected)` names.
pub fn check(response: &str, primary: &str) -> Option<(String, String)> {
    let expected = lang_of(primary)?;
    let mut cut = response.len().min(READ);
    while !response.is_char_boundary(cut) {
        cut -= 1;
    }
    // Prose only: drop words with digits, @ or slashes (numbers, addresses).
    let prose: String = response[..cut]
        .split_whitespace()
        .filter(|w| {
            !w.contains(|c: char| {
                c.is_ascii_digit()
                    || c == '@'
                    || c == '/'
                    || c == '.' && w.len() > 4 && !w.ends_with('.')
            })
        })
        .collect::<Vec<_>>()
        .join(" ");
    if prose.chars().filter(|c| c.is_alphabetic()).count() < MIN_LETTERS {
        return None;
    }
    if looks_like(&prose, primary) {
        return None;
    }
    let info = whatlang::detect(&prose)?;
    if !info.is_reliable() || close(expected, info.lang()) {
        return None;
    }
    Some((
        expected.eng_name().to_string(),
        info.lang().eng_name().to_string(),
    ))
}
