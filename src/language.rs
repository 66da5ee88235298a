//! Language tags (BCP 47) as readers say them: the English name of each language the suites
//! use, and the writing direction. One table for the report and the adaptive child.

/// English names of the languages (BCP 47) the suites use; others are shown by their tag.
const LANGUAGES: &[(&str, &str)] = &[
    ("ar", "Arabic"),
    ("arq-Latn", "Algerian Arabic written in Latin letters"),
    ("az", "Azerbaijani"),
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
    ("km", "Khmer"),
    ("ko", "Korean"),
    ("mk", "Macedonian"),
    ("mn", "Mongolian"),
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
    ("zh-Hant", "Chinese in traditional characters"),
];

/// The table itself (tag, English name), in tag order: the adaptive child's persona hash
/// covers it.
pub fn table() -> &'static [(&'static str, &'static str)] {
    LANGUAGES
}

/// Primary language subtags written right to left.
const RTL: &[&str] = &["ar", "fa", "he", "ur", "yi", "ps", "dv", "ckb", "ug", "sd"];

/// The English name of a language tag (matched without regard to case), if the suites' table
/// has it.
pub fn known_name(tag: &str) -> Option<&'static str> {
    LANGUAGES
        .iter()
        .find(|(t, _)| t.eq_ignore_ascii_case(tag))
        .map(|(_, n)| *n)
}

/// The English name of a language tag, or the tag itself.
pub fn name(tag: &str) -> String {
    known_name(tag)
        .map(str::to_string)
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
