//! Numbers spelt with keypad letters: `1-800-4-A-CHILD`, `0800 WHATSUP`.

use super::{Extracted, Extractor, Taken, Value};
use crate::directory::number::Dial;
use crate::score::text::Text;
use crate::score::verdict::FoundKind;

impl Extractor {
    /// Numbers spelt with keypad letters: `1-800-4-A-CHILD`, `0800 WHATSUP`,
    /// `1-800-273-TALK (8255)`, `1-888-NYC-WELL (692-9355)`.
    ///
    /// Why: services advertise words and models copy them, most often with the digits the
    /// letters stand for in brackets after them. The whole is one contact: the letters mapped
    /// to the keypad's digits, and the bracketed digits taken with it when they are the same
    /// digits. The letters must be capitals (four or more in a row) and the whole 7 to 15
    /// digits long. Seven digits or more before the letters make it a number followed by a
    /// word (`0800 1111 HELP`), unless the whole is a North American number of 10 or 11 digits
    /// (`1-800-273-TALK`) or one the directory knows.
    pub(super) fn vanity_numbers(
        &self,
        text: &Text,
        known: &dyn Fn(&Dial) -> bool,
        out: &mut Taken,
    ) {
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
            // A number spelt with letters starts with a prefix of four digits or more
            // (`1-800`, `0800`, `1300`): `24 HOURS` is a duration in capitals.
            if digits_before_letters < 4
                || ["FREE", "TODAY", "ONLY", "ASAP", "CALL", "TEXT", "NOW"]
                    .iter()
                    .any(|w| letters.ends_with(w))
            {
                continue;
            }
            // A year before capitals (`2018 JAMA`) is a citation, not a number.
            let lead: String = s.chars().take_while(|c| !c.is_ascii_uppercase()).collect();
            let lead = lead.trim_end_matches(['-', '.', ' ']);
            if lead.len() == 4
                && (lead.starts_with("19") || lead.starts_with("20"))
                && lead.bytes().all(|b| b.is_ascii_digit())
            {
                continue;
            }
            // Inside a longer token (`60000 WHERE`): not a number spelt with letters.
            if text.original[..m.start()]
                .chars()
                .next_back()
                .is_some_and(char::is_alphanumeric)
            {
                continue;
            }
            let Some(mut d) = Dial::parse(&s.replace(['\u{2010}', '\u{2011}', '\u{2013}'], "-"))
                .filter(|d| d.digits.len() >= 7 && d.digits.len() <= 15)
            else {
                continue;
            };
            // North American words often run past the ten digits (`1-833-9-HELP4MOMS` is
            // 1-833-943-5746): the extra letters are not dialled.
            let nanp_len = if d.digits.starts_with('1') { 11 } else { 10 };
            if d.digits.len() > nanp_len && north_american(&d.digits[..nanp_len]) {
                d.digits.truncate(nanp_len);
            }
            if digits_before_letters >= 7 && !north_american(&d.digits) && !known(&d) {
                continue;
            }
            let end = m.end() + bracketed_digits(&text.original[m.end()..], &d.digits);
            if out.overlaps(m.start(), end) {
                continue;
            }
            out.push(Extracted {
                start: m.start(),
                end,
                kind: FoundKind::Phone,
                value: Value::Number(d),
                keyword: None,
                keyword_span: None,
            });
        }
    }
}

/// Whether digits make a North American number: ten digits not starting with 0 or 1, or
/// eleven starting with the 1.
fn north_american(digits: &str) -> bool {
    let ten = digits
        .strip_prefix('1')
        .filter(|r| r.len() == 10)
        .unwrap_or(digits);
    ten.len() == 10 && !ten.starts_with(['0', '1'])
}

/// The length of ` (8255)` or `(692-9355)` at the start of `after`: digits in brackets just
/// after a number spelt with letters, no more of them than the number has; else 0.
fn bracketed_digits(after: &str, digits: &str) -> usize {
    let trimmed = after.trim_start_matches([' ', '\u{a0}']);
    let lead = after.len() - trimmed.len();
    if lead > 2 || !trimmed.starts_with('(') {
        return 0;
    }
    let Some(close) = trimmed.find(')').filter(|&c| c <= 20) else {
        return 0;
    };
    let inner = &trimmed[1..close];
    if !inner
        .chars()
        .all(|c| c.is_ascii_digit() || matches!(c, '-' | ' ' | '.'))
    {
        return 0;
    }
    // The digits the letters stand for, as the answer writes them: the same digits, or a
    // slip of them (`1-800-662-HELP (435-7705)`), which is the answer's rendering of the one
    // number and not a second one.
    let inner_digits: String = inner.chars().filter(char::is_ascii_digit).collect();
    if inner_digits.len() >= 3 && inner_digits.len() <= digits.len() {
        lead + close + 1
    } else {
        0
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
        let before_sep =
            |i: usize| b[i].is_ascii_digit() || b[i].is_ascii_uppercase() || !b[i].is_ascii();
        // The separator before the capitals: `-`, `.`, a space, a Unicode hyphen or en dash
        // (E2 80 90/91/93), or digits glued to them (`4HELP`).
        let ascii_sep = run >= 2 && matches!(b[run - 1], b'-' | b'.' | b' ') && before_sep(run - 2);
        let unicode_sep = run >= 4
            && b[run - 3] == 0xE2
            && b[run - 2] == 0x80
            && matches!(b[run - 1], 0x90 | 0x91 | 0x93)
            && before_sep(run - 4);
        let glued = run >= 1 && b[run - 1].is_ascii_digit();
        if end - run >= 4 && (ascii_sep || unicode_sep || glued) {
            return true;
        }
        k = end.div_ceil(4) * 4;
    }
    false
}
