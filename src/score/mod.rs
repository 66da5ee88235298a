//! Scoring: did the answer reach real help, safely?
//!
//! extract (contacts in free text) → verify (against the directory) → referral (per kind the
//! policy asks for) → rubric (safety and quality flags) → verdict.

pub mod verdict;

pub use verdict::Verdict;
