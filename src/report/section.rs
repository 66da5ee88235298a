//! The report's sections, in reading order: the one list the document is written from.
//!
//! Each section is one file of `src/report/section/`: its view model (when it has one of
//! its own), its builder, and its writer into the document model ([`super::doc`]). This
//! file lists them: [`sections`] builds the list once (a section with nothing to show is not
//! in it), and [`document`] asks each for its part; `report.html` and `report.md` render
//! only that document, so neither writer knows any section.
//!
//! The sections of the first report keep their view models in the top-level fields of
//! [`super::model::Report`], the public format of `results.json` (version 2). A newer section
//! carries its view model in its variant; `results.json` holds it under the section's id
//! (see [`Sections`]'s `Serialize`).
//!
//! Adding a section: `src/report/section/<name>.rs` with its view model, `build` and
//! `write`, then here `pub mod <name>;`, a variant with its id and titles, its place in
//! [`sections`] and its arm in [`Section::write`] (and in `Sections`' `Serialize` when it
//! has a view model). Two files.

pub mod anatomy;
pub mod breakdowns;
pub mod comparisons;
pub mod controls;
pub mod conversations;
pub mod countries;
pub mod coverage;
pub mod exemplars;
pub mod headline;
pub mod items;
pub mod judge;
pub mod leaderboard;
pub mod limitations;
pub mod map;
pub mod methodology;
pub mod provenance;
pub mod recommendations;
pub mod warnings;

use super::doc::{Block, Document, Part};
use super::figures::{Row, Tally};
use super::model::Report;
use super::ReportInput;
use serde::ser::{Serialize, SerializeMap, Serializer};

pub use conversations::Conversations;

/// One section of the report. The variant says what it shows; [`Section::id`] is its anchor
/// (`#id`), [`Section::nav`] its entry in the table of contents, [`Section::title`] its heading.
#[derive(Debug, Clone)]
pub enum Section {
    /// Warnings computed from the runs and met while loading them.
    Warnings,
    /// Headline sentences.
    Headline,
    /// Recommendations per audience.
    Recommendations,
    /// The leaderboard over help-seeking items.
    Leaderboard,
    /// The no-harm controls.
    Controls,
    /// Why failed help-seeking items failed.
    Anatomy,
    /// The judge layer beside the rule layer (only when a run was judged).
    Judge,
    /// Paired comparisons.
    Comparisons,
    /// Breakdowns of the pass rate.
    Breakdowns,
    /// The map (HTML only; its figures are also in map.csv and map.geojson).
    Map,
    /// Country cards.
    Countries,
    /// Exemplar responses.
    Exemplars,
    /// Live conversations turn by turn (only when a run has conversations.jsonl).
    Conversations(Box<Conversations>),
    /// Methodology.
    Methodology,
    /// Directory coverage.
    Coverage,
    /// Provenance of each run.
    Provenance,
    /// Limitations.
    Limitations,
    /// Every item list and item (HTML only; results.csv holds the same).
    Items,
}

impl Section {
    /// The anchor.
    pub fn id(&self) -> &'static str {
        match self {
            Section::Warnings => "warnings",
            Section::Headline => "headline",
            Section::Recommendations => "audiences",
            Section::Leaderboard => "leaderboard",
            Section::Controls => "controls",
            Section::Anatomy => "anatomy",
            Section::Judge => "judge",
            Section::Comparisons => "comparisons",
            Section::Breakdowns => "breakdowns",
            Section::Map => "map",
            Section::Countries => "countries",
            Section::Exemplars => "exemplars",
            Section::Conversations(_) => "conversations",
            Section::Methodology => "methodology",
            Section::Coverage => "coverage",
            Section::Provenance => "provenance",
            Section::Limitations => "limitations",
            Section::Items => "items",
        }
    }

    /// The entry in the table of contents.
    pub fn nav(&self) -> &'static str {
        match self {
            Section::Leaderboard => "Leaderboard",
            Section::Judge => "Judge findings",
            Section::Breakdowns => "Breakdowns",
            Section::Map => "Map",
            Section::Conversations(_) => "Conversations",
            s => s.title(),
        }
    }

    /// The heading.
    pub fn title(&self) -> &'static str {
        match self {
            Section::Warnings => "Warnings",
            Section::Headline => "Headline",
            Section::Recommendations => "Recommendations",
            Section::Leaderboard => "Leaderboard (help-seeking items)",
            Section::Controls => "No-harm controls",
            Section::Anatomy => "Why answers fail",
            Section::Judge => "Judge findings beside rule findings",
            Section::Comparisons => "Paired comparisons",
            Section::Breakdowns => "Breakdowns of the pass rate (help-seeking items)",
            Section::Map => "Map: correct child helpline by country",
            Section::Countries => "Countries",
            Section::Exemplars => "Exemplars",
            Section::Conversations(_) => "Conversations: referral turn by turn",
            Section::Methodology => "Methodology",
            Section::Coverage => "Directory coverage",
            Section::Provenance => "Provenance",
            Section::Limitations => "Limitations",
            Section::Items => "Every item",
        }
    }

    /// Whether the Markdown has it: the map and the item appendix are the HTML's own
    /// (map.csv and results.csv hold their figures).
    pub fn in_markdown(&self) -> bool {
        !matches!(self, Section::Map | Section::Items)
    }

    /// Its part of the document: the body below its heading.
    pub fn write<'r>(&'r self, r: &'r Report) -> Vec<Block<'r>> {
        match self {
            Section::Warnings => warnings::write(r),
            Section::Headline => headline::write(r),
            Section::Recommendations => recommendations::write(r),
            Section::Leaderboard => leaderboard::write(r),
            Section::Controls => controls::write(r),
            Section::Anatomy => anatomy::write(r),
            Section::Judge => judge::write(&r.judges),
            Section::Comparisons => comparisons::write(r),
            Section::Breakdowns => breakdowns::write(r),
            Section::Map => map::write(r),
            Section::Countries => countries::write(r),
            Section::Exemplars => exemplars::write(r),
            Section::Conversations(c) => conversations::write(c),
            Section::Methodology => methodology::write(r),
            Section::Coverage => coverage::write(r),
            Section::Provenance => provenance::write(r),
            Section::Limitations => limitations::write(r),
            Section::Items => items::write(r),
        }
    }
}

/// The document: the page's title and heading, then each section's part in order.
pub fn document(r: &Report) -> Document<'_> {
    Document {
        title: headline::title(r),
        heading: headline::heading(r),
        intro: headline::intro(r),
        sections: r
            .sections
            .iter()
            .map(|s| Part {
                id: s.id(),
                nav: s.nav().to_string(),
                title: s.title().to_string(),
                markdown: s.in_markdown(),
                blocks: s.write(r),
            })
            .collect(),
    }
}

/// The report's sections in reading order. In `results.json` it is written as the view
/// models of the sections that carry one, each under its section's id.
#[derive(Debug, Clone, Default)]
pub struct Sections(pub Vec<Section>);

impl Sections {
    /// The sections in order.
    pub fn iter(&self) -> std::slice::Iter<'_, Section> {
        self.0.iter()
    }

    /// The conversations section's view model, when the report has one.
    pub fn conversations(&self) -> Option<&Conversations> {
        self.iter().find_map(|s| match s {
            Section::Conversations(c) => Some(&**c),
            _ => None,
        })
    }
}

impl Serialize for Sections {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(None)?;
        for section in self.iter() {
            if let Section::Conversations(c) = section {
                map.serialize_entry(section.id(), c)?;
            }
        }
        map.end()
    }
}

/// What a section's builder may read: the input, the rows, each system's label, the
/// leaderboard order, and the tally that makes the lists of items a figure links to.
pub(super) struct Context<'c, 'a> {
    /// The report's input.
    pub input: &'c ReportInput<'a>,
    /// Every verdict as a row (their `idx` is the item id in the appendix).
    pub rows: &'c [Row<'a>],
    /// Each run's system label.
    pub names: &'c [String],
    /// Run indices in leaderboard order.
    pub order: &'c [usize],
    /// Item lists.
    pub tally: &'c mut Tally,
}

/// Builds the list of sections, in reading order, leaving out those with nothing to show.
pub(super) fn sections(cx: &mut Context<'_, '_>) -> Sections {
    let mut out = vec![
        Section::Warnings,
        Section::Headline,
        Section::Recommendations,
    ];
    let conversations = conversations::build(cx).map(|c| Section::Conversations(Box::new(c)));
    // In a report of live conversations, their results come first: the leaderboard and the
    // breakdowns score only each conversation's last answer.
    let live: usize = cx.input.runs.iter().map(|r| r.conversations.len()).sum();
    let (first, later) = if 2 * live >= cx.rows.len().max(1) {
        (conversations, None)
    } else {
        (None, conversations)
    };
    out.extend(first);
    out.extend([Section::Leaderboard, Section::Controls, Section::Anatomy]);
    if !cx.input.judges.is_empty() {
        out.push(Section::Judge);
    }
    out.extend([
        Section::Comparisons,
        Section::Breakdowns,
        Section::Map,
        Section::Countries,
        Section::Exemplars,
    ]);
    out.extend(later);
    out.extend([
        Section::Methodology,
        Section::Coverage,
        Section::Provenance,
        Section::Limitations,
        Section::Items,
    ]);
    Sections(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_section_has_its_own_anchor_and_a_heading() {
        let all = [
            Section::Warnings,
            Section::Headline,
            Section::Recommendations,
            Section::Leaderboard,
            Section::Controls,
            Section::Anatomy,
            Section::Judge,
            Section::Comparisons,
            Section::Breakdowns,
            Section::Map,
            Section::Countries,
            Section::Exemplars,
            Section::Conversations(Box::new(Conversations {
                definitions: vec![],
                groups: vec![],
            })),
            Section::Methodology,
            Section::Coverage,
            Section::Provenance,
            Section::Limitations,
            Section::Items,
        ];
        let ids: std::collections::BTreeSet<&str> = all.iter().map(Section::id).collect();
        assert_eq!(ids.len(), all.len(), "anchors are unique");
        for s in &all {
            assert!(s.id().bytes().all(|b| b.is_ascii_lowercase() || b == b'-'));
            assert!(!s.title().is_empty() && !s.nav().is_empty());
        }
        // Only sections with a view model of their own appear in results.json.
        let json = serde_json::to_value(Sections(all.to_vec())).unwrap();
        assert_eq!(json.as_object().unwrap().len(), 1);
        assert!(json.get("conversations").is_some());
    }
}
