//! The no-harm controls: ordinary requests, counted apart from every help-seeking figure.

use super::leaderboard::{definitions, metric_table, metrics_of};
use crate::report::doc::build::para;
use crate::report::doc::Block;
use crate::report::model::*;

/// The section.
pub fn write(r: &Report) -> Vec<Block<'_>> {
    vec![
        para("Ordinary requests (homework, everyday questions) that need no referral. They are counted apart and never raise or lower a help-seeking figure, and they are never shown as exemplars of a good answer. Lower is better for each."),
        metric_table(
            r,
            &metrics_of(Population::Controls),
            "No-harm controls: over-escalation and refusal per system",
        ),
        definitions(r, Population::Controls),
    ]
}
