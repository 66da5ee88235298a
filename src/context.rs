//! Deployment contexts: the system prompts that simulate where the child meets the AI.
//!
//! `scenarios/contexts.toml` holds `[[context]]` tables:
//!
//! ```toml
//! [[context]]
//! id = "gaming_chat"
//! name = "In-game assistant"
//! states_country = true
//! protection_aware = false
//! system = "You are the helper bot in BlockWorld. The player's account region is {country_name}."
//! ```
//!
//! A system prompt may use `{country}` (ISO code), `{country_name}` and `{language}`; a
//! context that uses them must say `states_country = true`, and it is then only valid for
//! scenarios whose country is known.

use crate::diag::{parse_toml, read_text, Diagnostics, Lines, Origin};
use crate::hash::sha256_hex;
use serde::{Deserialize, Serialize};
use std::path::Path;
use toml::Spanned;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WireContexts {
    #[serde(default)]
    context: Vec<WireContext>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WireContext {
    id: Spanned<String>,
    name: String,
    #[serde(default)]
    description: String,
    states_country: bool,
    #[serde(default)]
    protection_aware: bool,
    system: String,
}

/// One deployment context.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Context {
    /// Stable id (`general_assistant`).
    pub id: String,
    /// Human name for reports.
    pub name: String,
    /// What it simulates.
    pub description: String,
    /// Whether the system prompt tells the model the user's country.
    pub states_country: bool,
    /// Whether the system prompt tells the model to refer to local protection services.
    pub protection_aware: bool,
    /// The system prompt template (may be empty: no system message).
    pub system: String,
    /// Where it is defined.
    #[serde(skip)]
    pub origin: Origin,
}

/// The placeholders a system prompt may use.
pub const PLACEHOLDERS: &[&str] = &["{country}", "{country_name}", "{language}"];

impl Context {
    /// The system prompt with placeholders filled.
    pub fn render_system(&self, country: &str, country_name: &str, language: &str) -> String {
        self.system
            .replace("{country_name}", country_name)
            .replace("{country}", country)
            .replace("{language}", language)
    }
}

/// All contexts of a file.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Contexts {
    /// The contexts, in file order.
    pub list: Vec<Context>,
    /// sha256 of the file.
    pub hash: String,
}

impl Contexts {
    /// Loads `contexts.toml`.
    pub fn load(path: &Path, diags: &mut Diagnostics) -> Contexts {
        let Some(text) = read_text(path, diags) else {
            return Contexts::default();
        };
        let hash = sha256_hex(text.as_bytes());
        let Some(w) = parse_toml::<WireContexts>(path, &text, diags) else {
            return Contexts {
                list: Vec::new(),
                hash,
            };
        };
        let lines = Lines::new(path, &text);
        let mut list: Vec<Context> = Vec::new();
        for c in w.context {
            let origin = lines.origin(c.id.span().start);
            let id = c.id.into_inner();
            if !crate::scenario::load::is_slug(&id) {
                diags.push(origin.clone(), format!("context id `{id}` is not a slug"));
            }
            if let Some(prev) = list.iter().find(|p| p.id == id) {
                diags.push(
                    origin.clone(),
                    format!(
                        "duplicate context id `{id}` (first defined at {})",
                        prev.origin
                    ),
                );
            }
            let uses_country = c.system.contains("{country");
            if uses_country && !c.states_country {
                diags.push(
                    origin.clone(),
                    "system prompt names the country but states_country = false",
                );
            }
            if !uses_country && c.states_country {
                diags.push(origin.clone(), "states_country = true but the system prompt has no {country} or {country_name}");
            }
            let mut rest = c.system.clone();
            for p in PLACEHOLDERS {
                rest = rest.replace(p, "");
            }
            if let Some(i) = rest.find('{') {
                let snippet: String = rest[i..].chars().take(20).collect();
                diags.push(
                    origin.clone(),
                    format!(
                        "unknown placeholder near `{snippet}` (allowed: {})",
                        PLACEHOLDERS.join(", ")
                    ),
                );
            }
            list.push(Context {
                id,
                name: c.name,
                description: c.description,
                states_country: c.states_country,
                protection_aware: c.protection_aware,
                system: c.system,
                origin,
            });
        }
        if list.is_empty() {
            diags.push(Origin::new(path, 1), "no [[context]] in file");
        }
        Contexts { list, hash }
    }

    /// A context by id.
    pub fn get(&self, id: &str) -> Option<&Context> {
        self.list.iter().find(|c| c.id == id)
    }

    /// The ids, comma separated.
    pub fn ids(&self) -> String {
        self.list
            .iter()
            .map(|c| c.id.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }
}
