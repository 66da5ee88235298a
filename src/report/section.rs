//! The report's sections, in reading order: the one list both renderers walk.
//!
//! `sections` builds the list once; `report.html` takes its table of contents, anchors and
//! headings from it and renders each [`Section`] in one arm of [`super::html`], and
//! `report.md` does the same in one arm of [`super::markdown`]. A section that is not there
//! (no judged run, no conversations) is not in the list, so neither format shows it.
//!
//! The sections of the first report carry no payload: their view models are the top-level
//! fields of [`super::model::Report`], the public format of `results.json` (version 2). A
//! newer section carries its view model in its variant; `results.json` holds it under the
//! section's id (see [`Sections`]'s `Serialize`).
//!
//! Adding a section: a variant here with its id, titles and its place in `sections` (its
//! builder beside it, or in a file of `src/report/section/`), and one arm in each renderer.

pub mod conversations;

use super::figures::{Row, Tally};
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
        Section::Leaderboard,
        Section::Controls,
        Section::Anatomy,
    ];
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
    if let Some(c) = conversations::build(cx) {
        out.push(Section::Conversations(Box::new(c)));
    }
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
