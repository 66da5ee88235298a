//! The judge layer: a model grades each response against `datasets/rubric.toml`, beside the
//! rule layer of [`crate::score`].
//!
//! - [`rubric`]: the criteria (yes/no questions with definitions, examples, scope, severity).
//! - [`prompt`]: the judge's prompt, with the graded text inside markers it cannot close.
//! - [`parse`]: the judge's output, one `id: yes|no - reason` line per criterion, last wins.
//! - [`model`]: any [`crate::backend::Backend`] as a [`crate::score::judge::Judge`]: batched,
//!   one retry for unreadable output, then a recorded judge error.
//! - [`record`], [`run`]: `judgements.jsonl` in a run directory, journaled and resumable, and
//!   verdicts with both layers.
//! - [`agreement`], [`eval`]: per-criterion agreement with the judge gold set
//!   (`datasets/gold/judge/`), judge and rules side by side.
//! - [`summary`]: a typed view of a run's judge layer for summaries and reports.
//!
//! Scoring depends only on the narrow [`crate::score::judge`] interface, never on this module.

pub mod agreement;
pub mod eval;
pub mod model;
pub mod parse;
pub mod prompt;
pub mod record;
pub mod rubric;
pub mod run;
pub mod summary;
