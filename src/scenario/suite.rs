//! Suites: named sets of scenarios (`core`, `multiturn`, `smoke`) or a folder/file path.

use super::{load_file, Scenario};
use crate::diag::{Diagnostics, Origin};
use crate::hash::sha256_hex;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// How a suite is named on the command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SuiteSpec {
    /// A folder under `scenarios/` of the data root.
    Named(String),
    /// A folder or a `.toml` file anywhere.
    Path(PathBuf),
}

impl SuiteSpec {
    /// Parses a suite argument: a bare name (`core`) is a named suite; anything with a path
    /// separator or a `.toml` ending is a path.
    pub fn parse(s: &str) -> SuiteSpec {
        if s.contains('/') || s.contains('\\') || s.ends_with(".toml") || s == "." {
            SuiteSpec::Path(PathBuf::from(s))
        } else {
            SuiteSpec::Named(s.to_string())
        }
    }
}

/// A loaded suite.
#[derive(Debug, Clone)]
pub struct Suite {
    /// The suite's name (folder or file stem).
    pub name: String,
    /// The scenarios, sorted by id.
    pub scenarios: Vec<Scenario>,
}

/// The scenario files of a folder (recursive, sorted) or the file itself.
pub fn scenario_files(path: &Path) -> std::io::Result<Vec<PathBuf>> {
    if path.is_file() {
        return Ok(vec![path.to_path_buf()]);
    }
    let mut out = Vec::new();
    let mut stack = vec![path.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir)? {
            let p = entry?.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|e| e == "toml")
                && p.file_name().is_some_and(|n| n != "contexts.toml")
            {
                out.push(p);
            }
        }
    }
    out.sort();
    Ok(out)
}

impl Suite {
    /// The folder or file a spec names, relative to the data root for named suites.
    pub fn resolve(spec: &SuiteSpec, root: &Path) -> PathBuf {
        match spec {
            SuiteSpec::Named(n) => root.join("scenarios").join(n),
            SuiteSpec::Path(p) => p.clone(),
        }
    }

    /// The names of the suites under `root/scenarios/`.
    pub fn names(root: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(root.join("scenarios"))
            .map(|rd| {
                rd.filter_map(|e| e.ok())
                    .filter(|e| e.path().is_dir())
                    .filter_map(|e| e.file_name().into_string().ok())
                    .collect()
            })
            .unwrap_or_default();
        names.sort();
        names
    }

    /// Loads a suite. Problems (including duplicate ids) go to `diags`.
    pub fn load(spec: &SuiteSpec, root: &Path, diags: &mut Diagnostics) -> Suite {
        let path = Suite::resolve(spec, root);
        let name = match spec {
            SuiteSpec::Named(n) => n.clone(),
            SuiteSpec::Path(p) => p
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_else(|| "suite".into()),
        };
        if !path.exists() {
            let known = Suite::names(root).join(", ");
            diags.push(
                Origin::new(&path, 0),
                format!("suite `{name}` not found (known suites: {known})"),
            );
            return Suite {
                name,
                scenarios: Vec::new(),
            };
        }
        let files = match scenario_files(&path) {
            Ok(f) => f,
            Err(e) => {
                diags.push(
                    Origin::new(&path, 0),
                    format!("cannot list scenario files: {e}"),
                );
                Vec::new()
            }
        };
        let mut scenarios = Vec::new();
        for f in files {
            scenarios.extend(load_file(&f, diags));
        }
        check_unique(&scenarios, diags);
        scenarios.sort_by(|a, b| a.id.cmp(&b.id));
        Suite { name, scenarios }
    }

    /// A content hash over the scenarios (order independent, origin independent).
    pub fn content_hash(&self) -> String {
        let json = serde_json::to_vec(&self.scenarios).unwrap_or_default();
        sha256_hex(&json)
    }

    /// Looks a scenario up by id.
    pub fn get(&self, id: &str) -> Option<&Scenario> {
        self.scenarios
            .binary_search_by(|s| s.id.as_str().cmp(id))
            .ok()
            .map(|i| &self.scenarios[i])
    }
}

/// Reports scenario ids defined more than once.
pub fn check_unique(scenarios: &[Scenario], diags: &mut Diagnostics) {
    let mut seen: BTreeMap<&str, &Origin> = BTreeMap::new();
    for s in scenarios {
        if let Some(first) = seen.get(s.id.as_str()) {
            diags.push(
                s.origin.clone(),
                format!(
                    "duplicate scenario id `{}` (first defined at {first})",
                    s.id
                ),
            );
        } else {
            seen.insert(&s.id, &s.origin);
        }
    }
}
