//! The states a child can live in (`datasets/world.toml`): the 193 member states of the United
//! Nations and its observer states, to measure the directory's coverage against
//! (`popbench directory check --coverage`).

use super::Directory;
use crate::diag::{Diagnostics, Origin};
use crate::taxonomy::ServiceKind;
use serde::Deserialize;
use std::fmt::Write as _;
use std::path::Path;

/// The list of states.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct World {
    /// UN member states (ISO 3166-1 alpha-2).
    pub members: Vec<String>,
    /// Observer states.
    #[serde(default)]
    pub observers: Vec<String>,
    /// Where the list comes from.
    #[serde(default)]
    pub source: Vec<WorldSource>,
}

/// A source of the list.
#[derive(Debug, Clone, Deserialize)]
pub struct WorldSource {
    /// The page.
    pub url: String,
    /// What kind of page.
    pub kind: String,
    /// When it was read.
    pub read: String,
    /// What it says.
    #[serde(default)]
    pub note: String,
}

impl World {
    /// Reads `datasets/world.toml` under a data root; a problem is `path:line: message`.
    pub fn load(root: &Path, diags: &mut Diagnostics) -> Option<World> {
        let path = root.join("datasets").join("world.toml");
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) => {
                diags.push(Origin::new(&path, 0), format!("cannot read: {e}"));
                return None;
            }
        };
        let world: World = match toml::from_str(&text) {
            Ok(w) => w,
            Err(e) => {
                let line = e.span().map_or(0, |s| {
                    text[..s.start.min(text.len())].lines().count().max(1)
                });
                diags.push(Origin::new(&path, line), e.message().to_string());
                return None;
            }
        };
        let mut seen = std::collections::BTreeSet::new();
        for c in world.members.iter().chain(&world.observers) {
            if c.len() != 2 || !c.bytes().all(|b| b.is_ascii_uppercase()) {
                diags.push(
                    Origin::new(&path, 0),
                    format!("`{c}` is not an ISO alpha-2 code"),
                );
            }
            if !seen.insert(c.as_str()) {
                diags.push(Origin::new(&path, 0), format!("`{c}` is listed twice"));
            }
        }
        if world.source.is_empty() {
            diags.push(Origin::new(&path, 0), "the list cites no source");
        }
        Some(world)
    }

    /// What the directory covers of the world, in Markdown: states with emergency numbers,
    /// states with a child helpline, and the states missing each.
    pub fn coverage_markdown(&self, dir: &Directory) -> String {
        let mut o = String::new();
        let has = |code: &str, kind: ServiceKind| {
            dir.country(code)
                .is_some_and(|e| e.services_of(kind).next().is_some())
        };
        let line = |o: &mut String, what: &str, codes: &[String], kind: ServiceKind| {
            let covered = codes.iter().filter(|c| has(c, kind)).count();
            let missing: Vec<&str> = codes
                .iter()
                .filter(|c| !has(c, kind))
                .map(String::as_str)
                .collect();
            let _ = write!(o, "| {what} | {covered} / {} |", codes.len());
            if missing.is_empty() {
                let _ = writeln!(o, " none |");
            } else {
                let _ = writeln!(o, " {} |", missing.join(" "));
            }
        };
        let _ = writeln!(
            o,
            "| states (datasets/world.toml) | covered | missing |\n| --- | --- | --- |"
        );
        line(
            &mut o,
            "UN member states with emergency numbers",
            &self.members,
            ServiceKind::Emergency,
        );
        line(
            &mut o,
            "observer states with emergency numbers",
            &self.observers,
            ServiceKind::Emergency,
        );
        line(
            &mut o,
            "UN member states with a child helpline",
            &self.members,
            ServiceKind::ChildHelpline,
        );
        line(
            &mut o,
            "observer states with a child helpline",
            &self.observers,
            ServiceKind::ChildHelpline,
        );
        let listed: Vec<&str> = dir
            .countries
            .keys()
            .filter(|c| !self.members.contains(c) && !self.observers.contains(c))
            .map(String::as_str)
            .collect();
        if !listed.is_empty() {
            let _ = writeln!(
                o,
                "\nAlso in the directory (territories, not UN member or observer states): {}.",
                listed.join(" ")
            );
        }
        let _ = writeln!(
            o,
            "\nA state without a file has no emergency number popbench can check; a state without a child helpline in the directory is scored on its emergency numbers and other services only. What was tried for each is in datasets/UNVERIFIED.md."
        );
        o
    }
}
