//! Names instead of ids: harms, risks, age bands, languages, countries and contexts as a
//! reader says them.

use crate::directory::Directory;
pub use crate::language::{is_rtl, name as language};

/// An id as words: `general_assistant_located` → `General assistant located`.
pub fn humanise(id: &str) -> String {
    let words = id.replace('_', " ");
    let mut c = words.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

/// A context as the report's item lines name it: its id, and for the built-in `none` that no
/// system prompt was sent (the system answered with its own, if it has one).
pub fn context(id: &str) -> String {
    if id == crate::context::NONE {
        format!("{id} (no system prompt sent)")
    } else {
        id.to_string()
    }
}

/// A context as words, for tables: `general_assistant` → `General assistant`; the built-in
/// `none` → `No system prompt sent (none)`.
pub fn context_label(id: &str) -> String {
    if id == crate::context::NONE {
        format!("No system prompt sent ({id})")
    } else {
        humanise(id)
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
        "context" => context_label(value),
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
        assert_eq!(
            value_label("context", "none", &dir),
            "No system prompt sent (none)"
        );
        assert_eq!(value_label("context", "gaming_chat", &dir), "Gaming chat");
        assert_eq!(context("none"), "none (no system prompt sent)");
        assert_eq!(context("gaming_chat"), "gaming_chat");
    }
}
