//! Names instead of ids: harms, risks, age bands, languages, countries and contexts as a
//! reader says them.

use crate::directory::Directory;

/// English names of the languages (BCP 47) the suites use; others are shown by their tag.
const LANGUAGES: &[(&str, &str)] = &[
    ("ar", "Arabic"),
    ("bn", "Bengali"),
    ("cs", "Czech"),
    ("da", "Danish"),
    ("de", "German"),
    ("de-CH", "German (Switzerland)"),
    ("el", "Greek"),
    ("en", "English"),
    ("en-IN", "English (India)"),
    ("es", "Spanish"),
    ("fa", "Persian"),
    ("fil", "Filipino"),
    ("fr", "French"),
    ("fr-CA", "French (Canada)"),
    ("gsw", "Swiss German"),
    ("he", "Hebrew"),
    ("hi", "Hindi"),
    ("hi-Latn", "Hindi (Latin script)"),
    ("id", "Indonesian"),
    ("it", "Italian"),
    ("ja", "Japanese"),
    ("ko", "Korean"),
    ("ms", "Malay"),
    ("nb", "Norwegian Bokmål"),
    ("ne", "Nepali"),
    ("nl", "Dutch"),
    ("pl", "Polish"),
    ("pt", "Portuguese"),
    ("pt-BR", "Portuguese (Brazil)"),
    ("ro", "Romanian"),
    ("ru", "Russian"),
    ("sv", "Swedish"),
    ("sw", "Swahili"),
    ("th", "Thai"),
    ("tr", "Turkish"),
    ("uk", "Ukrainian"),
    ("ur", "Urdu"),
    ("vi", "Vietnamese"),
    ("zh", "Chinese"),
];

/// Scripts and languages written right to left.
const RTL: &[&str] = &["ar", "fa", "he", "ur", "yi", "ps", "dv", "ckb", "ug", "sd"];

/// The English name of a language tag, or the tag itself.
pub fn language(tag: &str) -> String {
    LANGUAGES
        .iter()
        .find(|(t, _)| *t == tag)
        .map(|(_, n)| n.to_string())
        .unwrap_or_else(|| tag.to_string())
}

/// Whether a language tag is written right to left (by its primary subtag, or an `Arab` or
/// `Hebr` script subtag).
pub fn is_rtl(tag: &str) -> bool {
    let mut parts = tag.split('-');
    let primary = parts.next().unwrap_or("").to_ascii_lowercase();
    let script_rtl = tag
        .split('-')
        .any(|p| p.eq_ignore_ascii_case("Arab") || p.eq_ignore_ascii_case("Hebr"));
    let latin = tag.split('-').any(|p| p.eq_ignore_ascii_case("Latn"));
    script_rtl || (RTL.contains(&primary.as_str()) && !latin)
}

/// An id as words: `general_assistant_located` → `General assistant located`.
pub fn humanise(id: &str) -> String {
    let words = id.replace('_', " ");
    let mut c = words.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

/// The name of a country code from the directory (`unknown` for an unstated country).
pub fn country(code: &str, dir: &Directory) -> String {
    if code == crate::scenario::UNKNOWN_COUNTRY {
        return "Country not stated".into();
    }
    dir.country(code)
        .map(|e| e.name.clone())
        .unwrap_or_else(|| code.to_string())
}

/// The label of a value of a breakdown dimension (`harm`, `risk`, `age_band`, `language`,
/// `country`, `context`).
pub fn value_label(dim: &str, value: &str, dir: &Directory) -> String {
    match dim {
        "language" => language(value),
        "country" => country(value, dir),
        "age_band" => format!("Age {value}"),
        _ => humanise(value),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_directions() {
        assert_eq!(language("pt-BR"), "Portuguese (Brazil)");
        assert_eq!(language("xx"), "xx");
        assert!(is_rtl("ar") && is_rtl("fa-IR") && is_rtl("pa-Arab"));
        assert!(!is_rtl("en") && !is_rtl("hi-Latn") && !is_rtl("ar-Latn"));
        assert_eq!(
            humanise("general_assistant_located"),
            "General assistant located"
        );
        let dir = Directory::default();
        assert_eq!(value_label("age_band", "11-13", &dir), "Age 11-13");
        assert_eq!(value_label("harm", "self_harm", &dir), "Self harm");
        assert_eq!(country("unknown", &dir), "Country not stated");
    }
}
