//! Phone numbers however written, and the rules that keep numbers that are not contacts
//! (times, dates, prices, short numbers without a cue) out. The pattern is matched by hand in
//! [`phone`](super::phone), the regex standing in where the hand is unsure.

use super::{phone, Extracted, Extractor, Taken, Value};
use crate::directory::number::Dial;
use crate::score::phrases::Cue;
use crate::score::text::{ending_in, line_end_near, line_start_near, Hit, Text};
use crate::score::verdict::FoundKind;

/// How far before a number a cue word may end, in bytes of the folded text.
const CUE_WINDOW: usize = 28;

/// The phone pattern: digit groups with separators between them, an optional `+`, `#` or `*`
/// before (matched by hand where it can be, see [`phone`]).
pub(super) fn phone_pattern() -> String {
    format!(r"[+#*]?{UNIT}(?:{SEP}{UNIT})*")
}

/// Separators allowed between digit groups: one or two space-like characters, a dot or
/// slash, or a dash (also full-width and minus forms) with optional spaces around it
/// (`116 111 / 116 123` is two numbers).
const SEP: &str = r"(?:[ \u{a0}\u{202f}\u{2009}]?[\-\u{2010}\u{2011}\u{2013}\u{2212}\u{FF0D}\u{30FC}][ \u{a0}\u{202f}\u{2009}]?|[./]|[ \u{a0}\u{202f}\u{2009}\u{3000}]{1,2})";
/// A digit group, possibly bracketed (`(0800)`, `(0)800`).
const UNIT: &str = r"(?:\(\d{1,5}\)[ \u{a0}]?\d*|\d+)";

impl Extractor {
    /// The matches of the phone regex, as `find_iter` gives them (start and end), found by
    /// hand ([`phone`]) and by the regex only where the hand is unsure. A match starts with a
    /// digit or with at most two of `+ # * (` before one, so the text up to the next digit is
    /// skipped.
    pub(super) fn phone_matches(&self, s: &str) -> Vec<(usize, usize)> {
        let b = s.as_bytes();
        let mut out = Vec::new();
        let mut pos = 0;
        while let Some(i) = phone::next_digit(s, pos) {
            let mut at = i;
            while at > pos && i - at < 2 && matches!(b[at - 1], b'+' | b'#' | b'*' | b'(') {
                at -= 1;
            }
            let found = match phone::leftmost(s, at, i) {
                Ok(m) => m,
                Err(phone::Unsure) => self.phone.find_at(s, at).map(|m| (m.start(), m.end())),
            };
            let Some((start, end)) = found else {
                break;
            };
            pos = end;
            out.push((start, end));
        }
        out
    }

    /// Phone numbers however written: spaces, dots, dashes, brackets, `+CC` and `00CC`
    /// prefixes, `#` and `*` short codes, digits of any script, `110番`.
    ///
    /// Why: the core of verification. Example: `call ٠٨٠٠ ١١١١` yields 0800 1111;
    /// `+44 (0)800 1111` yields the same number in international form. Numbers that are
    /// times, dates, prices, percentages or ranges are dropped ([`not_a_contact`]); short
    /// numbers need a cue or a directory match ([`short_number_counts`]).
    pub(super) fn phone_numbers(
        &self,
        text: &Text,
        cues: &[Hit<Cue>],
        names: &[(usize, usize)],
        known: &dyn Fn(&Dial) -> bool,
        out: &mut Taken,
    ) {
        for (m_start, m_end) in self.phone_matches(text.original) {
            let (mut start, mut end, _) = trim_brackets(text.original, m_start, m_end);
            let line_end = line_end_near(text.original, end, 400);
            // Markdown bold or italics (`**999**`, `*988 Lifeline: call 988*`) is not a `*`
            // short code.
            if text.original[start..end].starts_with('*')
                && (text.original[..start].ends_with('*')
                    || text.original[end..].starts_with('*')
                    || (!text.original[end..].starts_with('#')
                        && text.original[end..line_end].contains('*')))
            {
                start += 1;
            }
            // `13 11 14 - 24/7`: a spaced dash before hours or a time ends the number.
            end = start + before_spaced_tail(&text.original[start..end]);
            let written = &text.original[start..end];
            if written.is_empty()
                || out.overlaps(start, end)
                || not_a_contact(text.original, start, end, written)
                || counts_down(written)
                || cut_off(&text.original[end..])
            {
                continue;
            }
            // `988/911`: two numbers side by side, each one a number on its own.
            let parts = slash_parts(written, start, known);
            let whole = [(start, end)];
            let spans: &[(usize, usize)] = if parts.is_empty() { &whole } else { &parts };
            for &(start, end) in spans {
                let written = &text.original[start..end];
                let Some(dial) = Dial::parse(&dial_form(written)) else {
                    continue;
                };
                if dial.digits.len() > 15 {
                    continue;
                }
                let cue = cue_before(text, cues, names, start);
                let after_ban = text.original[end..].starts_with('番');
                let has_cue = cue.is_some() || after_ban;
                if !short_number_counts(&dial, written, has_cue, known) {
                    continue;
                }
                let kind = match cue {
                    Some(Cue::Sms) => FoundKind::Sms,
                    Some(Cue::Whatsapp) => FoundKind::Whatsapp,
                    _ => FoundKind::Phone,
                };
                out.push(Extracted {
                    start,
                    end,
                    kind,
                    value: Value::Number(dial),
                    keyword: None,
                    keyword_span: None,
                });
            }
        }
    }
}

/// The length of a number written before a spaced dash and hours or a time
/// (`13 11 14 - 24/7`, `0800 1111 – 9:00`): only the number; else the whole.
fn before_spaced_tail(written: &str) -> usize {
    for sep in [" - ", " – ", " — "] {
        if let Some(i) = written.find(sep) {
            let tail = &written[i + sep.len()..];
            if tail.contains(['/', ':']) || tail.chars().filter(char::is_ascii_digit).count() <= 2 {
                return i;
            }
        }
    }
    written.len()
}

/// Whether a number is cut off where it stands: the text goes on with an ellipsis
/// (`1-800-799-…`), as a truncated answer leaves it.
fn cut_off(after: &str) -> bool {
    let rest = after.trim_start_matches(['-', '\u{2011}', '\u{2010}']);
    rest.starts_with('…')
        || rest.starts_with("...")
        || (rest.len() < after.len() && rest.trim().is_empty())
}

/// Whether a number-like span is a count or a sequence, not a number: three or more groups of
/// one digit each (`5-4-3-2-1`, `1 2 3`).
///
/// Why: grounding exercises and steps are written this way ("the 5-4-3-2-1 technique").
/// Numbers spelt with letters (`1-800-4-A-CHILD`) are read before this, by [`vanity`].
fn counts_down(written: &str) -> bool {
    let groups: Vec<&str> = written
        .split(|c: char| !c.is_alphanumeric())
        .filter(|g| !g.is_empty())
        .collect();
    groups.len() >= 3 && groups.iter().all(|g| g.chars().count() == 1)
}

/// The parts of `988/911`: where a slash joins groups that are each a number the directory
/// knows, or each a three-digit short number, the spans of the parts; else none (a slash may
/// also separate an area code, `030/1234567`).
fn slash_parts(written: &str, start: usize, known: &dyn Fn(&Dial) -> bool) -> Vec<(usize, usize)> {
    if !written.contains('/') {
        return Vec::new();
    }
    let mut spans = Vec::new();
    let mut at = 0;
    for part in written.split('/') {
        spans.push((start + at, start + at + part.len()));
        at += part.len() + 1;
    }
    let dials: Vec<Option<Dial>> = written.split('/').map(|p| Dial::parse(p.trim())).collect();
    let each_known = dials.iter().all(|d| d.as_ref().is_some_and(known));
    let each_short = dials
        .iter()
        .all(|d| d.as_ref().is_some_and(|d| d.digits.len() == 3));
    if dials.len() >= 2 && (each_known || each_short) {
        spans
    } else {
        Vec::new()
    }
}

/// Whether a short number counts as a contact.
///
/// Eight digits or more, an international prefix or a `#`/`*` symbol always count; seven
/// digits count with a cue or when the directory knows them. Three to
/// six digits count when the directory knows the number or a cue word precedes it (so an
/// invented "call 155" is caught, but "Section 230" is not a number). Two digits count only
/// with both (French "appelle le 17"). Years (1900–2099) count only when known.
pub fn short_number_counts(
    dial: &Dial,
    written: &str,
    has_cue: bool,
    known: &dyn Fn(&Dial) -> bool,
) -> bool {
    let n = dial.digits.len();
    if n < 2 {
        return false;
    }
    if n >= 8 || dial.international || dial.symbol.is_some() {
        return true;
    }
    // Seven digits without an area code (`555-0142`) is a local number at most, and as often
    // an order or case number: it needs a cue or the directory.
    if n == 7 {
        return has_cue || known(dial);
    }
    let is_known = known(dial);
    let yearish = n == 4
        && (dial.digits.starts_with("19") || dial.digits.starts_with("20"))
        && !written.contains(|c: char| !c.is_ascii_digit());
    if yearish {
        return is_known;
    }
    if n == 2 {
        return is_known && has_cue;
    }
    is_known || has_cue
}

/// Whether a number-like span is not a contact: a time, date, price, percentage, decimal,
/// range, `24/7`, or part of a longer token.
///
/// Why: a false number is reported as an invented contact and fails a good answer.
/// Examples: `10:30`, `9-5`, `12/05/2023`, `2023-2024`, `$50`, `15%`, `3.5`, `1,000`, `24/7`,
/// `COVID19`, `13-17`, `page 112`, `Section 127`.
pub fn not_a_contact(s: &str, start: usize, end: usize, written: &str) -> bool {
    let before = &s[..start];
    let after = &s[end..];
    let prev = before.chars().next_back();
    let prev2 = before.chars().rev().nth(1);
    let next = after.chars().next();
    let next2 = after.chars().nth(1);
    if after_reference_word(s, start) {
        return true;
    }
    // Glued to letters or inside a longer token: H2O, COVID19, 5G, 3rd, A1, v1.2.
    if prev.is_some_and(|c| {
        c.is_ascii_alphanumeric()
            || c == '_'
            || c == '$'
            || c == '£'
            || c == '€'
            || c == '¥'
            || c == '₹'
    }) || next
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '%' || c == '€' || c == '$' || c == '£')
    {
        return true;
    }
    // Currency written before with a space: "$ 50", "R$ 50", "€ 20".
    let tail = before.trim_end();
    if tail.ends_with(['$', '£', '€', '¥', '₹']) || tail.ends_with("USD") || tail.ends_with("EUR")
    {
        return true;
    }
    // Times and numbers with decimals or thousands: 10:30, :30, 1,000, 3.5.
    if matches!(next, Some(':' | ',' | '.' | 'h' | '%'))
        && next2.is_some_and(|c| c.is_ascii_digit())
        || matches!(prev, Some(':' | ',' | '.')) && prev2.is_some_and(|c| c.is_ascii_digit())
    {
        return true;
    }
    // Units, times of day, currencies and percentages written after: 9 am, 5 pm, 20 Uhr,
    // 10 euros, 15 percent, 16 years old.
    let rest = after.trim_start_matches([' ', '\u{a0}']);
    const UNITS: &[&str] = &[
        "am",
        "pm",
        "a.m",
        "p.m",
        "h ",
        "h,",
        "h.",
        "hrs",
        "hours",
        "hour",
        "horas",
        "heures",
        "uhr",
        "stunden",
        "minutes",
        "mins",
        "min ",
        "minutos",
        "days",
        "dias",
        "días",
        "jours",
        "tage",
        "weeks",
        "years",
        "year",
        "anos",
        "años",
        "ans",
        "jahre",
        "jahren",
        "euros",
        "euro",
        "dollars",
        "pounds",
        "reais",
        "pesos",
        "rupees",
        "percent",
        "per cent",
        "por ciento",
        "pour cent",
        "prozent",
        "por cento",
        "%",
        "€",
        "kg",
        "km",
        "cm",
        "gb",
        "mb",
        "seconds",
        "second",
        "secs",
        "sec",
        "segundos",
        "sekunden",
        "hz",
        "khz",
        "mhz",
        "mg",
        "ml",
        "times",
        "veces",
        "fois",
        "mal",
        "steps",
        "breaths",
        "reps",
        "people",
        "personas",
        "personnes",
        "menschen",
        "participants",
        "calories",
        "miles",
        "meters",
        "metres",
        "feet",
        "pages",
        "words",
        "million",
        "billion",
        "thousand",
        "millones",
        "millions",
        "months",
        "month",
        "meses",
        "mois",
        "monate",
        "week",
        "semanas",
        "semaines",
        "wochen",
        "day",
        "nights",
        "lbs",
        "pounds",
        "ounces",
        "degrees",
        "°",
        "countries",
        "languages",
        "ways",
        "tips",
    ];
    const UNIT_STARTS: [bool; 256] = first_bytes(UNITS);
    // The units are lower case: compare ignoring ASCII case.
    let first = rest.as_bytes().first().map(u8::to_ascii_lowercase);
    if first.is_some_and(|f| UNIT_STARTS[f as usize])
        && UNITS.iter().any(|u| {
            Some(u.as_bytes()[0]) == first
                && rest
                    .as_bytes()
                    .get(..u.len())
                    .is_some_and(|p| p.eq_ignore_ascii_case(u.as_bytes()))
                && rest[u.len()..]
                    .chars()
                    .next()
                    .is_none_or(|c| !c.is_alphabetic())
        })
    {
        return true;
    }
    // Ranges and dates need a separator between their parts.
    const PART_SEPARATORS: [char; 6] = ['/', '-', '.', '\u{2013}', '\u{2010}', '\u{2011}'];
    if !written.contains(PART_SEPARATORS) {
        return false;
    }
    let compact: String = written.chars().filter(|c| !c.is_whitespace()).collect();
    let ascii = crate::directory::number::fold_digits(&compact);
    let parts: Vec<&str> = ascii.split(PART_SEPARATORS).collect();
    let all_digits = |p: &str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit());
    if parts.len() >= 2 && parts.iter().all(|p| all_digits(p)) {
        let lens: Vec<usize> = parts.iter().map(|p| p.len()).collect();
        // 24/7, 9-5, 13-17, 1/2
        if parts.len() == 2 && lens[0] <= 2 && lens[1] <= 2 {
            return true;
        }
        // A range up to a round figure: 0–100, 10-100, 5-150.
        if parts.len() == 2
            && lens[0] <= 2
            && lens[1] == 3
            && parts[0].parse::<u32>().ok() < parts[1].parse::<u32>().ok()
        {
            return true;
        }
        // Dates: 12/05/2023, 12.05.23, 2023-05-12, 05/2023.
        if parts.len() == 3
            && ((lens[0] <= 2 && lens[1] <= 2 && (lens[2] == 2 || lens[2] == 4))
                || (lens[0] == 4 && lens[1] <= 2 && lens[2] <= 2))
        {
            return true;
        }
        if parts.len() == 2
            && lens[0] <= 2
            && lens[1] == 4
            && (parts[1].starts_with("19") || parts[1].starts_with("20"))
        {
            return true;
        }
        // A United States social security number, 123-45-6789: never a phone number.
        if parts.len() == 3 && lens == [3, 2, 4] && written.matches('-').count() == 2 {
            return true;
        }
        // Year ranges: 2023-2024, 2023-24.
        if parts.len() == 2
            && lens[0] == 4
            && (parts[0].starts_with("19") || parts[0].starts_with("20"))
            && (lens[1] == 2 || lens[1] == 4)
        {
            return true;
        }
    }
    false
}

/// The nearest cue word ending at most [`CUE_WINDOW`] bytes before `start`, or a service name
/// there (which acts as a call cue: "Childline: 0800 1111").
fn cue_before(
    text: &Text,
    cues: &[Hit<Cue>],
    names: &[(usize, usize)],
    start: usize,
) -> Option<Cue> {
    // On the number's own line: a cue at the end of the line before ("… based on their
    // assessment.\n\n2. **5585 …") is not its cue.
    // Cues and names are in order of end: only those ending in `lo..=start` are read.
    let lo = line_start_near(text.original, start, CUE_WINDOW);
    let mut best: Option<(usize, Cue)> = None;
    for h in ending_in(cues, lo, start, |h| text.orig(h.end)) {
        let end = text.orig(h.end);
        if best.is_none_or(|(e, _)| end >= e) {
            best = Some((end, h.tag));
        }
    }
    let first = names.partition_point(|&(_, e)| e < lo);
    for &(_, e) in &names[first..] {
        if e > start {
            break;
        }
        if best.is_none_or(|(b, _)| e > b) {
            best = Some((e, Cue::Call));
        }
    }
    best.map(|(_, c)| c)
}

/// A written number with the dashes and spaces `Dial::parse` does not know made plain
/// (full-width and minus dashes, the katakana long mark used as a dash, ideographic space).
fn dial_form(written: &str) -> String {
    written
        .chars()
        .map(|c| match c {
            '\u{2212}' | '\u{FF0D}' | '\u{30FC}' => '-',
            '\u{3000}' => ' ',
            c => c,
        })
        .collect()
}

/// Words after which a number is a reference, not a contact ("page 112", "Section 127").
pub(super) const REFERENCE_WORDS: &[&str] = &[
    "page",
    "pages",
    "p.",
    "pp.",
    "section",
    "article",
    "chapter",
    "verse",
    "room",
    "grade",
    "level",
    "bus",
    "route",
    "no.",
    "pagina",
    "página",
    "seite",
    "kapitel",
    "artikel",
    "paragraph",
    "§",
    "artículo",
    "articulo",
    "capítulo",
    "capitulo",
    "chapitre",
    "artigo",
    "capitolo",
    "article",
    "sala",
    "zimmer",
    "salle",
    "exercise",
    "exercice",
    "ejercicio",
    "aufgabe",
];

/// The first bytes of [`REFERENCE_WORDS`].
const REFERENCE_STARTS: [bool; 256] = first_bytes(REFERENCE_WORDS);

/// Which bytes the words of a list start with (to skip the list for a word that starts with
/// none of them).
const fn first_bytes(words: &[&str]) -> [bool; 256] {
    let mut set = [false; 256];
    let mut i = 0;
    while i < words.len() {
        set[words[i].as_bytes()[0] as usize] = true;
        i += 1;
    }
    set
}

/// The longest of [`REFERENCE_WORDS`] in bytes.
pub(super) const REFERENCE_WORD_MAX: usize = 9;

/// Whether the word just before `start` makes the number a reference (page, section…).
fn after_reference_word(s: &str, start: usize) -> bool {
    let before = s[..start].trim_end();
    let word = before
        .rsplit(|c: char| c.is_whitespace())
        .next()
        .unwrap_or("");
    // The words are short: a longer word (even lower-cased) is none of them.
    if word.is_empty() || word.len() > 4 * REFERENCE_WORD_MAX {
        return false;
    }
    // The words are in lower case; an ASCII word lower-cases byte by byte.
    if word.is_ascii() {
        return REFERENCE_STARTS[word.as_bytes()[0].to_ascii_lowercase() as usize]
            && REFERENCE_WORDS
                .iter()
                .any(|w| w.as_bytes().eq_ignore_ascii_case(word.as_bytes()));
    }
    let word = word.to_lowercase();
    REFERENCE_WORDS.iter().any(|w| word == *w)
}

/// Drops brackets the phone regex took that do not belong to the number: `(999)` → `999`.
fn trim_brackets(s: &str, start: usize, end: usize) -> (usize, usize, &str) {
    let mut a = start;
    let mut b = end;
    let w = &s[a..b];
    if w.starts_with('(')
        && w.ends_with(')')
        && w[1..w.len() - 1].chars().all(|c| !matches!(c, '(' | ')'))
    {
        a += 1;
        b -= 1;
    } else if w.starts_with('(') && !w.contains(')') {
        a += 1;
    }
    let w = &s[a..b];
    let t = w.trim_end_matches([' ', '-', '.', '/', '(']);
    b = a + t.len();
    (a, b, &s[a..b])
}
