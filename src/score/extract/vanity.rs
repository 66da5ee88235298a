//! Numbers spelt with keypad letters: `1-800-4-A-CHILD`, `0800 WHATSUP`.

use super::{overlaps, Extracted, Extractor, Value};
use crate::directory::number::Dial;
use crate::score::text::Text;
use crate::score::verdict::FoundKind;

impl Extractor {
    /// Numbers spelt with keypad letters: `1-800-4-A-CHILD`, `0800 WHATSUP`.
    ///
    /// Why: some services advertise a word; a model may copy it. The letters must be capitals
    /// (four or more in a row), the digits before them fewer than seven (so `0800 1111 NOW` is
    /// the number 0800 1111 followed by a word), and the whole at least seven digits long.
    pub(super) fn vanity_numbers(&self, text: &Text, out: &mut Vec<Extracted>) {
        if !may_spell_letters(text.original) {
            return;
        }
        for m in self.vanity.find_iter(text.original) {
            let s = m.as_str();
            let digits_before_letters = s
                .chars()
                .take_while(|c| !c.is_ascii_uppercase())
                .filter(char::is_ascii_digit)
                .count();
            let letters: String = s.chars().filter(char::is_ascii_uppercase).collect();
            if digits_before_letters >= 7
                || ["FREE", "TODAY", "ONLY", "ASAP", "CALL", "TEXT", "NOW"]
                    .iter()
                    .any(|w| letters.ends_with(w))
            {
                continue;
            }
            let Some(d) = Dial::parse(s).filter(|d| d.digits.len() >= 7 && d.digits.len() <= 15)
            else {
                continue;
            };
            if overlaps(out, m.start(), m.end()) {
                continue;
            }
            out.push(Extracted {
                start: m.start(),
                end: m.end(),
                kind: FoundKind::Phone,
                value: Value::Number(d),
                keyword: None,
                keyword_span: None,
            });
        }
    }
}

/// Whether a text may hold a number spelt with letters: a separator (`-`, `.`, space) between
/// a digit or capital (or a non-ASCII character, which may be a digit) and four capitals.
pub(super) fn may_spell_letters(s: &str) -> bool {
    let b = s.as_bytes();
    // A run of four capitals or more holds a byte at a multiple of four: look only there, and
    // around each capital found so, at its whole run and the two bytes before the run.
    let mut k = 0;
    while k < b.len() {
        if !b[k].is_ascii_uppercase() {
            k += 4;
            continue;
        }
        let mut run = k;
        while run > 0 && b[run - 1].is_ascii_uppercase() {
            run -= 1;
        }
        let mut end = k + 1;
        while end < b.len() && b[end].is_ascii_uppercase() {
            end += 1;
        }
        if end - run >= 4
            && run >= 2
            && matches!(b[run - 1], b'-' | b'.' | b' ')
            && (b[run - 2].is_ascii_digit()
                || b[run - 2].is_ascii_uppercase()
                || !b[run - 2].is_ascii())
        {
            return true;
        }
        k = end.div_ceil(4) * 4;
    }
    false
}
