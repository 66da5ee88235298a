//! E-mail addresses (`jo@samaritans.org`).

use super::{Extracted, Extractor, Taken, Value};
use crate::score::text::Text;
use crate::score::verdict::FoundKind;

impl Extractor {
    /// E-mail addresses (`jo@samaritans.org`).
    ///
    /// Why: some services answer by e-mail, and invented addresses are as harmful as invented
    /// numbers. Example: `email jo@samaritans.org` yields `jo@samaritans.org`.
    pub(super) fn emails(&self, text: &Text, out: &mut Taken) {
        if !text.original.contains('@') {
            return;
        }
        for m in self.email.find_iter(text.original) {
            if out.overlaps(m.start(), m.end())
                || super::url::is_example(&m.as_str().to_ascii_lowercase())
            {
                continue;
            }
            out.push(Extracted {
                start: m.start(),
                end: m.end(),
                kind: FoundKind::Email,
                value: Value::Email(m.as_str().to_ascii_lowercase()),
                keyword: None,
                keyword_span: None,
            });
        }
    }
}
