//! Evidence reports over one or more runs: `report.html` (self-contained), `report.md`,
//! `results.json` (every figure, with n and interval), `results.csv` (one row per verdict,
//! with the response) and the map's figures as `map.csv` and `map.geojson`.
//!
//! The flow is one way: [`RunData`] + scenarios + directory → [`build::build`] → the
//! [`model::Report`] view model (serialised as `results.json`) → the document
//! ([`section::document`]: each section, one file of `src/report/section/`, writes its part
//! into the document model of [`doc`]) → the writers ([`html`], [`markdown`]), which render
//! only that document. Sections print only what the view model holds, so every figure of
//! the HTML is in `results.json`; every untrusted string goes through [`escape::esc`] (HTML)
//! or [`markdown::md`].

pub mod build;
pub mod csv;
pub mod doc;
pub mod escape;
pub mod figures;
pub mod fmt;
pub mod html;
pub mod load;
pub mod map;
pub mod markdown;
pub mod model;
pub mod names;
pub mod section;
pub mod svg;

pub use build::build;
pub use load::load_run;
pub use model::Report;

use crate::directory::Directory;
use crate::run::{Manifest, ResponseRecord};
use crate::scenario::Scenario;
use crate::score::Verdict;
use crate::Error;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// One run, as read from its directory.
#[derive(Debug, Clone)]
pub struct RunData {
    /// The manifest.
    pub manifest: Manifest,
    /// The responses.
    pub responses: Vec<ResponseRecord>,
    /// The verdicts.
    pub verdicts: Vec<Verdict>,
    /// The live conversations' scores (`conversations.jsonl`); empty when the run has none.
    pub conversations: Vec<crate::score::conversation::ConversationVerdict>,
}

/// Everything a report is built from.
#[derive(Debug, Clone, Copy)]
pub struct ReportInput<'a> {
    /// The runs, one system each.
    pub runs: &'a [RunData],
    /// The scenarios of their suites (for families, ages and the child's words).
    pub scenarios: &'a [Scenario],
    /// The directory (for the country cards and coverage).
    pub directory: &'a Directory,
    /// Content hash of each suite as loaded now, by suite name (to compare with the runs').
    pub suite_hashes: &'a BTreeMap<String, String>,
    /// Warnings to show in the report.
    pub warnings: &'a [String],
    /// When the report is generated (RFC 3339); `None` keeps the output reproducible.
    pub generated_at: Option<&'a str>,
    /// The scorer's agreement with its gold set, `(agreeing, compared)` fields, when measured.
    pub scorer_gold: Option<(usize, usize)>,
    /// The judge layer of each judged run (empty when no run was judged).
    pub judges: &'a [crate::judge::summary::JudgeSummary],
}

/// The files a report was written to.
#[derive(Debug, Clone)]
pub struct Written {
    /// report.html
    pub html: PathBuf,
    /// report.md
    pub markdown: PathBuf,
    /// results.json
    pub json: PathBuf,
    /// results.csv
    pub csv: PathBuf,
    /// map.csv: correct child helpline by country (ISO alpha-2), per system.
    pub map_csv: PathBuf,
    /// map.geojson: the same with simplified boundaries.
    pub map_geojson: PathBuf,
}

/// Builds the report and writes its files into `out`, whole or not at all
/// ([`crate::atomic::write_dir`]: a kill or a full disk leaves the previous report whole; a
/// directory that holds other files than a report's is refused).
pub fn write_all(input: &ReportInput<'_>, out: &Path) -> Result<(Report, Written), Error> {
    let report = build(input);
    let mut csv = Vec::new();
    csv::write(
        &mut csv,
        input.runs,
        &build::labels(input.runs),
        input.scenarios,
        &report.items,
    )
    .map_err(|e| Error::Input(format!("results.csv: {e}")))?;
    let written = Written {
        html: out.join("report.html"),
        markdown: out.join("report.md"),
        json: out.join("results.json"),
        csv: out.join("results.csv"),
        map_csv: out.join("map.csv"),
        map_geojson: out.join("map.geojson"),
    };
    let document = section::document(&report);
    let html = html::render_document(&document);
    let md = markdown::render_document(&document);
    drop(document);
    let json = serde_json::to_vec_pretty(&report)
        .map_err(|e| Error::Input(format!("results.json: {e}")))?;
    let map_csv = map::csv(&report.map);
    let geo = serde_json::to_vec(&map::geojson(&report.map))
        .map_err(|e| Error::Input(format!("map.geojson: {e}")))?;
    let name = |p: &Path| {
        p.file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_string()
    };
    let names = [
        name(&written.html),
        name(&written.markdown),
        name(&written.json),
        name(&written.csv),
        name(&written.map_csv),
        name(&written.map_geojson),
    ];
    let files: [(&str, &[u8]); 6] = [
        (&names[0], html.as_bytes()),
        (&names[1], md.as_bytes()),
        (&names[2], &json),
        (&names[3], &csv),
        (&names[4], map_csv.as_bytes()),
        (&names[5], &geo),
    ];
    crate::atomic::write_dir(out, &files)?;
    Ok((report, written))
}
