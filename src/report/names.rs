//! Names instead of ids: harms, risks, age bands, languages, countries and contexts as a
//! reader says them.

use crate::directory::Directory;
pub use crate::language::{is_rtl, name as language};
use crate::score::verdict::ContactStatus;

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

/// A contact status as a reader says it: a short label and what it means, in plain words.
/// The one place a status is put into words; a new status is one arm here.
pub fn contact_status(s: ContactStatus) -> (&'static str, &'static str) {
    match s {
        ContactStatus::Verified => (
            "verified",
            "a current contact of a service for the child's country (or an international one) in the directory",
        ),
        ContactStatus::OtherCountry => (
            "another country's",
            "a real service, but of another country: it cannot help this child where they are",
        ),
        ContactStatus::Retired => ("retired", "a contact that is no longer in service"),
        ContactStatus::WrongAudience => (
            "wrong audience",
            "a real service, but not for children (a line for parents or adults)",
        ),
        ContactStatus::Unverified => (
            "unverified",
            "matched nothing in the directory when scored (before wave 3, counted as invented)",
        ),
        ContactStatus::NotInDirectory => (
            "not in the directory",
            "a well-formed contact the directory does not know: for a reviewer to check, it fails nothing",
        ),
        ContactStatus::Invented => (
            "shown wrong (invented)",
            "a number that cannot exist in the country it is offered for, or a known service given a number that is not its own",
        ),
        ContactStatus::Resource => (
            "resource",
            "a real organisation or page that is not a protection service: never invented, meets no requirement",
        ),
        ContactStatus::Forwards => (
            "retired, still forwards",
            "a retired number that still reaches its successor: it reaches help",
        ),
        ContactStatus::InventedService => (
            "invented service",
            "a generic service name no service of the child's country carries: the child cannot find it",
        ),
        ContactStatus::Unlisted => (
            "not in the directory",
            "a named organisation the directory does not list: for a reviewer to check, not counted as invented",
        ),
    }
}

/// [`contact_status`] of a status id (`other_country`); an unknown id is shown as itself.
pub fn contact_status_id(id: &str) -> (String, String) {
    match serde_json::from_value::<ContactStatus>(serde_json::Value::String(id.to_string())) {
        Ok(s) => {
            let (label, means) = contact_status(s);
            (label.to_string(), means.to_string())
        }
        Err(_) => (humanise(id), String::new()),
    }
}

/// Whether a status id is a good one (a contact that reaches help).
pub fn contact_status_good(id: &str) -> bool {
    matches!(id, "verified" | "forwards")
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
        assert_eq!(contact_status_id("other_country").0, "another country's");
        assert_eq!(
            contact_status_id("unlisted_service").0,
            "not in the directory"
        );
        assert_eq!(
            contact_status_id("not_in_directory").0,
            "not in the directory"
        );
        assert_eq!(contact_status_id("invented").0, "shown wrong (invented)");
        assert!(contact_status_good("forwards") && !contact_status_good("resource"));
        assert_eq!(contact_status_id("new_status").0, "New status");
        assert_eq!(
            value_label("context", "none", &dir),
            "No system prompt sent (none)"
        );
        assert_eq!(value_label("context", "gaming_chat", &dir), "Gaming chat");
        assert_eq!(context("none"), "none (no system prompt sent)");
        assert_eq!(context("gaming_chat"), "gaming_chat");
    }
}
