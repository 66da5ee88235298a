//! Service names and aliases from the directory ("Childline", "Nummer gegen Kummer").

use super::{Extracted, Extractor, Spans, Taken, Value, NAME_CAPITAL};
use crate::score::text::{Hit, Text};
use crate::score::verdict::FoundKind;

impl Extractor {
    /// Service names and aliases from the directory ("Childline", "Nummer gegen Kummer").
    ///
    /// Why: a service named with no way to reach it is a weaker referral than one with a
    /// contact (`named_only`). Matching is case- and accent-insensitive on whole words, except
    /// that a one-word name written with capitals (`Shout`) must start with a capital in the
    /// response, so the verb "shout" is not the service. Example: `talk to Childline`.
    pub(super) fn service_names(
        &self,
        text: &Text,
        names: &[Hit<u32>],
        out: &mut Taken,
    ) -> Vec<(usize, usize)> {
        let mut hits: Vec<Hit<u32>> = names.to_vec();
        // Longest first, then leftmost; keep the ones that do not overlap.
        hits.sort_by(|a, b| {
            (b.end - b.start)
                .cmp(&(a.end - a.start))
                .then(a.start.cmp(&b.start))
        });
        let mut spans = Vec::with_capacity(hits.len());
        let mut taken = Spans::default();
        for h in hits {
            let (s, e) = text.orig_span(h.start, h.end);
            if taken.overlaps(s, e) || out.overlaps(s, e) {
                continue;
            }
            let written = text.original.get(s..e).unwrap_or("");
            if self.names_need_capital(h.tag)
                && !written.chars().next().is_some_and(char::is_uppercase)
            {
                continue;
            }
            taken.insert(s, e, spans.len());
            spans.push((s, e));
            out.push(Extracted {
                start: s,
                end: e,
                kind: FoundKind::Name,
                value: Value::Name(h.tag),
                keyword: None,
                keyword_span: None,
            });
        }
        spans
    }

    /// Whether a name id must be written with a capital (its directory spelling has one).
    /// Names are registered with the high bit set when they do.
    pub(super) fn names_need_capital(&self, tag: u32) -> bool {
        tag & NAME_CAPITAL != 0
    }
}
