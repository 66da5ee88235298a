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

/// Deprecated or alternative language subtags and the tag to use instead (the IANA language
/// subtag registry's Preferred-Value and CLDR's language aliases), for the languages children
/// write in: `tl` (Tagalog) is written `fil` (Filipino) in the directory and the suites.
const ALIASES: &[(&str, &str)] = &[
    ("in", "id"),
    ("iw", "he"),
    ("ji", "yi"),
    ("jw", "jv"),
    ("mo", "ro"),
    ("no", "nb"),
    ("tgl", "fil"),
    ("tl", "fil"),
];

/// A language tag checked against BCP 47 (RFC 5646) and written in its canonical form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tag {
    /// The tag in canonical case (`pt-BR`, `zh-Hant`), its language subtag replaced where the
    /// registry prefers another (`tl-PH` → `fil-PH`).
    pub tag: String,
    /// The tag as written, when an alias was replaced (`tl`).
    pub alias_of: Option<String>,
}

/// Parses a language tag: well-formed by RFC 5646 (language, extended language, script,
/// region, variants, extensions, private use; case does not matter; the language subtag of 2
/// or 3 letters, as every one in the IANA registry is), returned in canonical
/// case with its language alias resolved. A tag that is well-formed but unknown to popbench
/// is accepted here; [`is_known`] says whether popbench knows it.
pub fn parse_tag(text: &str) -> Result<Tag, String> {
    let bad = |why: &str| {
        Err(format!(
            "`{text}` is not a BCP 47 language tag ({why}); write e.g. `en`, `pt-BR`, `zh-Hant`"
        ))
    };
    if text.is_empty() {
        return bad("empty");
    }
    let parts: Vec<&str> = text.split('-').collect();
    if parts.iter().any(|p| p.is_empty()) {
        return bad("an empty subtag");
    }
    if parts
        .iter()
        .any(|p| p.len() > 8 || !p.bytes().all(|b| b.is_ascii_alphanumeric()))
    {
        return bad("subtags are 1 to 8 ASCII letters or digits");
    }
    let alpha = |p: &str| p.bytes().all(|b| b.is_ascii_alphabetic());
    let digit = |p: &str| p.bytes().all(|b| b.is_ascii_digit());
    let mut out: Vec<String> = Vec::with_capacity(parts.len());
    let mut i = 0;
    let lower = |p: &str| p.to_ascii_lowercase();
    if !parts[0].eq_ignore_ascii_case("x") {
        let lang = parts[0];
        // RFC 5646 also reserves 4-letter and 5-to-8-letter language subtags, but the
        // registry has none: `english` is a mistake, not a language.
        if !(alpha(lang) && (2..=3).contains(&lang.len())) {
            return bad("the language subtag is 2 or 3 letters");
        }
        out.push(lower(lang));
        i = 1;
        // Up to three extended language subtags (`zh-yue`), only after a 2-3 letter language.
        let mut ext = 0;
        while ext < 3 && i < parts.len() && parts[i].len() == 3 && alpha(parts[i]) {
            out.push(lower(parts[i]));
            i += 1;
            ext += 1;
        }
        if i < parts.len() && parts[i].len() == 4 && alpha(parts[i]) {
            let s = lower(parts[i]);
            out.push(s[..1].to_ascii_uppercase() + &s[1..]);
            i += 1;
        }
        if i < parts.len()
            && ((parts[i].len() == 2 && alpha(parts[i]))
                || (parts[i].len() == 3 && digit(parts[i])))
        {
            out.push(parts[i].to_ascii_uppercase());
            i += 1;
        }
        let mut variants: Vec<String> = Vec::new();
        while i < parts.len() {
            let p = parts[i];
            let variant =
                (5..=8).contains(&p.len()) || (p.len() == 4 && p.as_bytes()[0].is_ascii_digit());
            if !variant {
                break;
            }
            if variants.contains(&lower(p)) {
                return bad("a repeated variant");
            }
            variants.push(lower(p));
            i += 1;
        }
        out.extend(variants);
        let mut singletons: Vec<String> = Vec::new();
        while i < parts.len() && parts[i].len() == 1 && !parts[i].eq_ignore_ascii_case("x") {
            let s = lower(parts[i]);
            if singletons.contains(&s) {
                return bad("a repeated extension");
            }
            out.push(s.clone());
            singletons.push(s);
            i += 1;
            let start = i;
            while i < parts.len() && parts[i].len() >= 2 {
                out.push(lower(parts[i]));
                i += 1;
            }
            if i == start {
                return bad("an extension without subtags");
            }
        }
    }
    if i < parts.len() {
        if !parts[i].eq_ignore_ascii_case("x") {
            return bad(&format!("`{}` is out of place", parts[i]));
        }
        out.push("x".into());
        i += 1;
        if i == parts.len() {
            return bad("`x` without private-use subtags");
        }
        out.extend(parts[i..].iter().map(|p| lower(p)));
    }
    let mut alias_of = None;
    if let Some((_, to)) = ALIASES.iter().find(|(from, _)| *from == out[0]) {
        alias_of = Some(text.to_string());
        out[0] = (*to).to_string();
    }
    Ok(Tag {
        tag: out.join("-"),
        alias_of,
    })
}

/// Whether popbench knows a language (its primary subtag): the suites' table, or one of
/// `others` (e.g. the languages of the directory's services).
pub fn is_known<'a>(tag: &str, others: impl IntoIterator<Item = &'a str>) -> bool {
    let primary = |t: &str| t.split('-').next().unwrap_or("").to_ascii_lowercase();
    let p = primary(tag);
    LANGUAGES.iter().any(|(t, _)| primary(t) == p) || others.into_iter().any(|o| primary(o) == p)
}

#[cfg(test)]
mod tag_tests {
    use super::*;

    #[test]
    fn well_formed_tags_are_put_in_canonical_case() {
        for (given, canonical) in [
            ("en", "en"),
            ("EN", "en"),
            ("pt-br", "pt-BR"),
            ("zh-hant", "zh-Hant"),
            ("zh-yue-HK", "zh-yue-HK"),
            ("sr-latn-rs", "sr-Latn-RS"),
            ("es-419", "es-419"),
            ("de-CH-1901", "de-CH-1901"),
            ("sl-rozaj-biske", "sl-rozaj-biske"),
            ("en-US-u-ca-gregory", "en-US-u-ca-gregory"),
            ("en-x-kid", "en-x-kid"),
            ("x-whatever", "x-whatever"),
            ("arq-Latn", "arq-Latn"),
            ("gsw", "gsw"),
        ] {
            let t = parse_tag(given).unwrap_or_else(|e| panic!("{given}: {e}"));
            assert_eq!(t.tag, canonical, "{given}");
            assert_eq!(t.alias_of, None, "{given}");
        }
    }

    #[test]
    fn aliases_become_the_preferred_tag() {
        let t = parse_tag("tl").unwrap();
        assert_eq!(t.tag, "fil");
        assert_eq!(t.alias_of.as_deref(), Some("tl"));
        assert_eq!(parse_tag("TL-ph").unwrap().tag, "fil-PH");
        assert_eq!(parse_tag("iw").unwrap().tag, "he");
        assert_eq!(parse_tag("fil").unwrap().alias_of, None);
    }

    #[test]
    fn ill_formed_tags_are_refused_with_the_reason() {
        for bad in [
            "",
            "e",
            "-en",
            "en-",
            "en--US",
            "123",
            "en_US",
            "english",
            "en-x",
            "de-DE-1901-1901",
            "en-a",
            "en-a-bb-a-cc",
            "ja-Latn-Hira",
            "en-US-US",
            "é",
            "en-abcdefghi",
        ] {
            let e = parse_tag(bad)
                .err()
                .unwrap_or_else(|| panic!("{bad:?} accepted"));
            assert!(e.contains("not a BCP 47 language tag"), "{e}");
        }
    }

    #[test]
    fn a_known_language_is_known_by_its_primary_subtag() {
        assert!(is_known("pt-PT", []));
        assert!(is_known("fil-PH", []));
        assert!(!is_known("kl", []));
        assert!(is_known("kl", ["kl-GL"]));
    }
}
