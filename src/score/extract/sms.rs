//! SMS instructions with a keyword: "text HOME to 741741", "envía HOLA al 741741".

use super::{Extracted, Extractor, Taken, Value};
use crate::directory::number::Dial;
use crate::score::phrases::Hits;
use crate::score::text::Text;
use crate::score::verdict::FoundKind;

impl Extractor {
    /// SMS instructions with a keyword: "text HOME to 741741", "envía HOLA al 741741".
    ///
    /// Why: text lines need the keyword and the number; both are kept. The keyword must start
    /// with a capital letter, so "text them to…" is not an instruction. Example: `Text SHOUT
    /// to 85258` yields the SMS number 85258 with keyword SHOUT.
    pub(super) fn sms_instructions(&self, text: &Text, hits: &Hits, out: &mut Taken) {
        // The regexes run only on texts that hold one of the words they start with.
        for (re, has_word) in [&self.sms_en, &self.sms_es].into_iter().zip(hits.sms_words) {
            if !has_word && (text.is_ascii() || !text.original.contains('\u{17f}')) {
                continue;
            }
            for c in re.captures_iter(text.original) {
                let (Some(kw), Some(num)) = (c.get(1), c.get(2)) else {
                    continue;
                };
                if out.overlaps(num.start(), num.end()) {
                    continue;
                }
                let Some(d) = Dial::parse(num.as_str()).filter(|d| d.digits.len() >= 3) else {
                    continue;
                };
                out.push(Extracted {
                    start: num.start(),
                    end: num.end(),
                    kind: FoundKind::Sms,
                    value: Value::Number(d),
                    keyword: Some(kw.as_str().to_string()),
                    keyword_span: Some((kw.start(), kw.end())),
                });
            }
        }
    }
}
