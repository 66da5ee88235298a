//! Contact extraction: every phone number, SMS instruction, WhatsApp number, web address,
//! e-mail address and service name in a response, in any scenario language.
//!
//! Each rule is one small function, in its own file of this folder (`url`, `email`, `domain`,
//! `sms`, `vanity`, `name`, `proper_name`, `phone_number`). Rules run in a fixed order and a later rule never
//! takes text an earlier one claimed (a number inside a URL is part of the URL), so each
//! span of the response yields at most one contact.
//!
//! Numbers that are not contacts are dropped by [`not_a_contact`]: times (`10:30`,
//! `9am-5pm`), dates (`12/05/2023`, `2024`), prices (`$5`, `10 €`), percentages, ranges
//! (`13-17`) and `24/7`. Short numbers (2 to 6 digits) count only when the directory knows
//! them or a word such as "call", "llama", "appelle" or a service name comes just before
//! them; two-digit numbers need both.
//!
//! Speed: cue words and service names come from the scorer's one pass over the text
//! ([`Phrases`](super::phrases::Phrases)). The regexes run only where they can match: the
//! e-mail one on texts with an `@`, the SMS ones on texts with one of their first words, the
//! spelt-number one near four capitals in a row, the bare-domain one on the runs of text
//! around a dot and a lower-case letter. Phone numbers are matched by hand (module `phone`),
//! the regex standing in where a non-ASCII numeric character leaves the hand unsure. Each
//! shortcut gives exactly what its regex gives (the tests compare them on random text).

mod domain;
mod email;
mod name;
mod phone;
mod phone_number;
pub mod proper_name;
mod sms;
mod url;
mod vanity;

pub use phone_number::{not_a_contact, short_number_counts};
pub use url::normalise_url;

use super::phrases::Hits;
use super::text::Text;
use super::verdict::FoundKind;
use crate::directory::number::Dial;
use regex::Regex;

/// What was found, before it is checked against the directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// A number to dial, text or message.
    Number(Dial),
    /// A web address, normalised by [`normalise_url`].
    Web(String),
    /// An e-mail address, lower case.
    Email(String),
    /// A service name: the id of the name in the index's name list.
    Name(u32),
    /// A proper name of a helpline or organisation that is not a directory name
    /// ([`proper_name`]).
    Proper {
        /// The name as written.
        name: String,
        /// Whether it is built around a generic directory name ("Child Helpline" inside "The
        /// National Child Helpline"): a name a child cannot find unless a service carries it.
        wraps_generic: bool,
    },
}

/// One contact found in a response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Extracted {
    /// Byte offset of the start in the response.
    pub start: usize,
    /// Byte offset of the end (exclusive).
    pub end: usize,
    /// What it is.
    pub kind: FoundKind,
    /// Its value.
    pub value: Value,
    /// SMS keyword, when the response gives one ("text HOME to 741741").
    pub keyword: Option<String>,
    /// Where the keyword is written (so it is not also read as a service name).
    pub keyword_span: Option<(usize, usize)>,
}

/// The compiled extractor: its regexes. Cue words and service names are found by the
/// scorer's one phrase automaton ([`Phrases`](super::phrases::Phrases)).
#[derive(Debug, Clone)]
pub struct Extractor {
    url: Regex,
    email: Regex,
    domain: Regex,
    sms_en: Regex,
    sms_es: Regex,
    vanity: Regex,
    phone: Regex,
}

impl Default for Extractor {
    fn default() -> Self {
        Self::new()
    }
}

impl Extractor {
    /// Compiles the extractor.
    pub fn new() -> Extractor {
        let phone = phone_number::phone_pattern();
        let re = |s: &str| Regex::new(s).expect("extractor regex compiles");
        Extractor {
            url: re(r"(?i-u:\b)(?i:https?://|www\.)[^\s<>()\[\]{}'\x22`]+"),
            email: re(r"(?i-u:\b[a-z0-9._%+\-]+@(?:[a-z0-9\-]+\.)+[a-z]{2,}\b)"),
            domain: re(&format!(
                r"(?-u:\b)(?i:(?:[a-z0-9](?:[a-z0-9\-]{{0,61}}[a-z0-9])?\.)+)(?:{})(?-u:\b)(?:/[^\s<>()\[\]{{}}'\x22`]*)?",
                domain::TLDS
            )),
            sms_en: re(&format!(
                r#"(?i-u:\b)(?i:(?:text|txt|send|sms|message)\s+(?:the\s+word\s+)?)["'“‘]?([A-Z][A-Za-z]{{1,14}})["'”’]?\s+(?i:to|on)\s+({phone})"#
            )),
            sms_es: re(&format!(
                r#"(?i-u:\b)(?i:(?:env[ií]a|manda|escribe)\s+(?:un\s+(?:sms|mensaje)\s+)?(?:con\s+)?(?:la\s+palabra\s+)?)["'“‘]?([A-Z][A-Za-z]{{1,14}})["'”’]?\s+(?i:al|a)\s+({phone})"#
            )),
            vanity: re(
                r"(?:\+?1[\-. \u{2010}\u{2011}\u{2013}])?\d{1,4}(?:[\-. \u{2010}\u{2011}\u{2013}]\d{1,4})*(?:[\-. \u{2010}\u{2011}\u{2013}][0-9A-Z]{1,4})*[\-. \u{2010}\u{2011}\u{2013}][0-9A-Z]*[A-Z]{4,}[0-9A-Z]*(?-u:\b)",
            ),
            phone: re(&phone),
        }
    }

    /// Every contact in a response, in order of position, given the phrases found in it
    /// (cue words and service names). `known` says whether the directory has a number (short
    /// numbers need it, or a cue word).
    pub fn extract(
        &self,
        text: &Text,
        hits: &Hits,
        known: &dyn Fn(&Dial) -> bool,
    ) -> Vec<Extracted> {
        let mut out = Taken::default();
        self.urls(text, &mut out);
        self.emails(text, &mut out);
        self.bare_domains(text, &mut out);
        self.sms_instructions(text, hits, &mut out);
        self.vanity_numbers(text, known, &mut out);
        let names = self.service_names(text, &hits.names, &mut out);
        proper_name::extract(text, hits, &mut out);
        self.phone_numbers(text, &hits.cues, &names, known, &mut out);
        out.into_sorted()
    }
}

/// The bit set on a name id when the name must start with a capital in the response.
pub const NAME_CAPITAL: u32 = 1 << 31;

/// The bit set on a name id when the name is generic ("Child Helpline": only common words),
/// so a longer proper name around it is not that service ([`proper_name`]).
pub const NAME_GENERIC: u32 = 1 << 30;

/// A set of disjoint spans of the text, for asking in logarithmic time whether a span
/// overlaps one of them (a response of megabytes holds hundreds of thousands of candidates).
#[derive(Debug, Default)]
pub(crate) struct Spans {
    /// Start → (end, what the span belongs to).
    by_start: std::collections::BTreeMap<usize, (usize, usize)>,
}

impl Spans {
    /// Whether `start..end` overlaps a span of the set (an empty span overlaps nothing).
    pub(crate) fn overlaps(&self, start: usize, end: usize) -> bool {
        self.overlapping(start, end).next().is_some()
    }

    /// The spans overlapping `start..end`, in order: `(start, end, owner)`.
    pub(crate) fn overlapping(
        &self,
        start: usize,
        end: usize,
    ) -> impl Iterator<Item = (usize, usize, usize)> + '_ {
        // The span starting at or before `start` may reach into it; every later one starting
        // before `end` does.
        let before = self
            .by_start
            .range(..=start)
            .next_back()
            .filter(|(_, &(e, _))| e > start);
        let first = before.map_or(start, |(&s, _)| s);
        self.by_start
            .range(first..end.max(first))
            .filter(move |(&s, &(e, _))| s < end && start < e && s < e)
            .map(|(&s, &(e, o))| (s, e, o))
    }

    /// Adds a span (it must overlap none of the set).
    pub(crate) fn insert(&mut self, start: usize, end: usize, owner: usize) {
        if start < end {
            self.by_start.insert(start, (end, owner));
        }
    }

    /// Removes the span starting at `start`.
    pub(crate) fn remove(&mut self, start: usize) {
        self.by_start.remove(&start);
    }
}

/// What the extractors have taken so far: the contacts, and every span they claim (a contact
/// and its SMS keyword), so that a later rule never takes text an earlier one claimed.
#[derive(Debug, Default)]
pub(crate) struct Taken {
    items: Vec<Option<Extracted>>,
    spans: Spans,
}

impl Taken {
    /// Whether `start..end` overlaps a contact or keyword already taken.
    pub(crate) fn overlaps(&self, start: usize, end: usize) -> bool {
        self.spans.overlaps(start, end)
    }

    /// Takes a contact (its span and keyword span must overlap nothing taken).
    pub(crate) fn push(&mut self, e: Extracted) {
        let i = self.items.len();
        self.spans.insert(e.start, e.end, i);
        if let Some((a, b)) = e.keyword_span {
            self.spans.insert(a, b, i);
        }
        self.items.push(Some(e));
    }

    /// The contacts overlapping `start..end` (each once).
    pub(crate) fn overlapping(&self, start: usize, end: usize) -> Vec<&Extracted> {
        let mut idx: Vec<usize> = self
            .spans
            .overlapping(start, end)
            .map(|(_, _, o)| o)
            .collect();
        idx.dedup();
        idx.into_iter()
            .filter_map(|i| self.items[i].as_ref())
            .collect()
    }

    /// Gives back the contacts overlapping `start..end` that `drop` selects.
    pub(crate) fn release(&mut self, start: usize, end: usize, drop: impl Fn(&Extracted) -> bool) {
        let hits: Vec<(usize, usize)> = self
            .spans
            .overlapping(start, end)
            .map(|(s, _, o)| (s, o))
            .collect();
        for (s, o) in hits {
            if self.items[o].as_ref().is_some_and(&drop) {
                self.spans.remove(s);
                if let Some(e) = self.items[o].take() {
                    if let Some((a, _)) = e.keyword_span {
                        self.spans.remove(a);
                    }
                    self.spans.remove(e.start);
                }
            }
        }
    }

    /// The contacts taken, in order of position.
    pub(crate) fn into_sorted(self) -> Vec<Extracted> {
        let mut out: Vec<Extracted> = self.items.into_iter().flatten().collect();
        out.sort_by_key(|e| (e.start, e.end));
        out
    }
}

#[cfg(test)]
mod tests;
