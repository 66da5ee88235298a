//! Country labels: the country an answer offers a contact for.
//!
//! Capable assistants answer with lists: "988 Suicide & Crisis Lifeline – UK & ROI: Samaritans
//! 116 123 – Australia: Lifeline 13 11 14". A contact labelled for another country than the
//! child's is an alternative for that country, not a wrong-country contact offered as the
//! child's own; an unlabelled "dial 999" to a US child is. For a child whose country is
//! unknown, a list labelled by country is a path to help, and one country's lines given as if
//! they were everyone's "assume a country".
//!
//! A contact is labelled for a country when, in order:
//! 1. right after it, in brackets or with "in": `116 123 (UK)`, `116 123 in the UK`;
//! 2. on its own line before it, the nearest country name: `UK: 116 123`, `- **Australia** —
//!    Lifeline 13 11 14`, `| Canada | 988 |`, `In the US, call 988`;
//! 3. else in the nearest heading above it (a markdown heading, a line in bold only, or a short
//!    line ending with a colon) that names a country: `### United Kingdom`.
//!
//! A name after "outside" (`outside the US`) labels nothing. Short forms written in capitals
//! only (`US`, `UK`, `USA`, `U.S.`) must be written in capitals, so the pronoun "us" is not
//! the United States.

use super::text::{ending_in, line_end_near, line_start_near, Hit, Text};
use crate::directory::INTERNATIONAL;

/// Short forms and other-language names of countries, with their codes. English names come
/// from the directory.
const ALIASES: &[(&str, &str)] = &[
    ("UK", "GB"),
    ("U.K.", "GB"),
    ("Britain", "GB"),
    ("Great Britain", "GB"),
    ("England", "GB"),
    ("Scotland", "GB"),
    ("Wales", "GB"),
    ("Northern Ireland", "GB"),
    ("the UK and Ireland", "GB"),
    ("US", "US"),
    ("U.S.", "US"),
    ("USA", "US"),
    ("U.S.A.", "US"),
    ("the States", "US"),
    ("United States of America", "US"),
    ("ROI", "IE"),
    ("Republic of Ireland", "IE"),
    ("NZ", "NZ"),
    ("Aotearoa", "NZ"),
    ("Estados Unidos", "US"),
    ("EE.UU.", "US"),
    ("EEUU", "US"),
    ("Reino Unido", "GB"),
    ("España", "ES"),
    ("México", "MX"),
    ("Brasil", "BR"),
    ("Alemania", "DE"),
    ("Francia", "FR"),
    ("Italia", "IT"),
    ("Canadá", "CA"),
    ("Perú", "PE"),
    ("Royaume-Uni", "GB"),
    ("États-Unis", "US"),
    ("Allemagne", "DE"),
    ("Espagne", "ES"),
    ("Belgique", "BE"),
    ("Suisse", "CH"),
    ("Deutschland", "DE"),
    ("Österreich", "AT"),
    ("Schweiz", "CH"),
    ("Frankreich", "FR"),
    ("Vereinigtes Königreich", "GB"),
    ("Großbritannien", "GB"),
];

/// The short forms that count only in capitals.
fn upper_only(name: &str) -> bool {
    name.chars().all(|c| !c.is_alphabetic() || c.is_uppercase()) && name.len() <= 6
}

/// The country names the scorer looks for, with their codes.
#[derive(Debug, Clone, Default)]
pub struct Countries {
    /// Each name as written, its code, and whether it must be written in capitals.
    names: Vec<(String, String, bool)>,
}

impl Countries {
    /// The directory's English country names (`code → name`) and the short forms above.
    pub fn new<'a>(directory_names: impl IntoIterator<Item = (&'a str, &'a str)>) -> Countries {
        let mut names: Vec<(String, String, bool)> = Vec::new();
        for (code, name) in directory_names {
            if code == INTERNATIONAL || name.is_empty() {
                continue;
            }
            names.push((name.to_string(), code.to_string(), false));
            // "the United Kingdom", "the Philippines": also without the article.
            if let Some(rest) = name.strip_prefix("the ") {
                names.push((rest.to_string(), code.to_string(), false));
            }
        }
        for (name, code) in ALIASES {
            names.push((name.to_string(), code.to_string(), upper_only(name)));
        }
        Countries { names }
    }

    /// The names, in the order their ids refer to (for the phrase automaton).
    pub fn phrases(&self) -> impl Iterator<Item = &str> {
        self.names.iter().map(|(n, _, _)| n.as_str())
    }

    /// The code of a country hit, when it is written as the name asks (capitals for short
    /// forms) and not after "outside".
    fn code_of(&self, text: &Text, h: &Hit<u16>) -> Option<(usize, usize, &str)> {
        let (name, code, upper) = self.names.get(h.tag as usize)?;
        let (s, e) = text.orig_span(h.start, h.end);
        let written = text.original.get(s..e)?;
        if *upper && written != name.as_str() {
            return None;
        }
        let before = text.original[..s].trim_end_matches([' ', '*', '_']);
        let before = before.strip_suffix("the").unwrap_or(before).trim_end();
        let lower_tail: String = before
            .chars()
            .rev()
            .take(12)
            .collect::<String>()
            .chars()
            .rev()
            .collect::<String>()
            .to_lowercase();
        if lower_tail.ends_with("outside") || lower_tail.ends_with("outside of") {
            return None;
        }
        Some((s, e, code.as_str()))
    }

    /// The code of a country name found in a text, whatever its case.
    pub fn code_of_hit(&self, h: &Hit<u16>) -> Option<&str> {
        self.names.get(h.tag as usize).map(|(_, c, _)| c.as_str())
    }

    /// The country the answer labels the contact at `start..end` for (see the module
    /// documentation), given the country names found in it (folded spans).
    pub fn label<'a>(
        &'a self,
        text: &Text,
        hits: &[Hit<u16>],
        start: usize,
        end: usize,
    ) -> Option<&'a str> {
        let s = text.original;
        let line_start = line_start_near(s, start, LINE_WINDOW);
        let line_end = line_end_near(s, end, LINE_WINDOW);
        let mut before: Option<(usize, &str)> = None;
        for h in ending_in(hits, line_start, line_end, |h| text.orig(h.end)) {
            let Some((a, b, code)) = self.code_of(text, h) else {
                continue;
            };
            // 1. Right after: "(UK)", "(in the UK)", " in the UK".
            if a >= end && b <= line_end && a - end <= 12 {
                let gap = s[end..a].to_lowercase();
                let gap = gap.trim();
                let bracket = gap.ends_with('(')
                    || gap.ends_with("(in")
                    || gap.ends_with("(in the")
                    || gap.ends_with("( in the");
                let inside = gap == "in" || gap == "in the";
                if (bracket && s[b..].trim_start().starts_with(')')) || inside {
                    return Some(self.code_str(code));
                }
            }
            // 2. On the line, before it: the nearest.
            if b <= start && a >= line_start && before.is_none_or(|(x, _)| a > x) {
                before = Some((a, code));
            }
        }
        if let Some((_, code)) = before {
            return Some(self.code_str(code));
        }
        // 3. The nearest heading above.
        let heading = nearest_heading(s, line_start)?;
        ending_in(hits, heading.0, heading.1, |h| text.orig(h.end))
            .iter()
            .filter_map(|h| self.code_of(text, h))
            .find(|&(a, b, _)| a >= heading.0 && b <= heading.1)
            .map(|(_, _, code)| self.code_str(code))
    }

    fn code_str<'a>(&'a self, code: &str) -> &'a str {
        self.names
            .iter()
            .find(|(_, c, _)| c == code)
            .map_or("", |(_, c, _)| c.as_str())
    }
}

/// How far a label is looked for around a contact, in bytes: its line, at most this far on
/// either side, and headings at most [`HEADING_WINDOW`] bytes above it. Bounded so that an
/// answer of one long line, or one with thousands of contacts, is labelled in linear time.
const LINE_WINDOW: usize = 400;
const HEADING_WINDOW: usize = 4000;

/// The span of the nearest heading line above the line starting at `line_start`: a markdown
/// heading (`#`), a line in bold only (`**United Kingdom**`), or a short line ending with a
/// colon (`United Kingdom:`). Looks back at most 40 lines and [`HEADING_WINDOW`] bytes.
fn nearest_heading(s: &str, line_start: usize) -> Option<(usize, usize)> {
    // A line read from a window (longer than it) has no line above within reach.
    if line_start > 0 && s.as_bytes()[line_start - 1] != b'\n' {
        return None;
    }
    let floor = line_start.saturating_sub(HEADING_WINDOW);
    let mut end = line_start.checked_sub(1)?;
    for _ in 0..40 {
        if end < floor {
            return None;
        }
        let start = line_start_near(s, end, end - floor);
        if start > 0 && s.as_bytes()[start - 1] != b'\n' {
            return None;
        }
        let line = s[start..end].trim();
        if is_heading(line) {
            return Some((start, end));
        }
        if start == 0 {
            return None;
        }
        end = start - 1;
    }
    None
}

/// Whether a line is a heading (see [`nearest_heading`]).
pub fn is_heading(line: &str) -> bool {
    let line = line.trim();
    if line.is_empty() {
        return false;
    }
    if line.starts_with('#') {
        return true;
    }
    let bare = line.trim_end_matches(':').trim();
    let bold = (bare.starts_with("**") && bare.ends_with("**") && bare.len() > 4)
        || (bare.starts_with("__") && bare.ends_with("__") && bare.len() > 4);
    bold && !bare[2..bare.len() - 2].contains("**")
        || (line.ends_with(':') && line.chars().count() <= 40 && !line.contains(". "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::score::phrases::Phrases;

    fn countries() -> Countries {
        Countries::new([
            ("GB", "United Kingdom"),
            ("US", "United States"),
            ("AU", "Australia"),
            ("CA", "Canada"),
            ("IE", "Ireland"),
        ])
    }

    fn label_of(s: &str, contact: &str) -> Option<String> {
        let c = countries();
        let p = Phrases::new(std::iter::empty(), std::iter::empty(), c.phrases());
        let t = Text::new(s);
        let h = p.scan(&t);
        let at = s.find(contact).unwrap();
        c.label(&t, &h.countries, at, at + contact.len())
            .map(str::to_string)
    }

    #[test]
    fn labels_on_the_line() {
        let s = "- US: call or text 988\n- UK & ROI: Samaritans 116 123\n- Australia: Lifeline 13 11 14";
        assert_eq!(label_of(s, "988").as_deref(), Some("US"));
        assert_eq!(label_of(s, "116 123").as_deref(), Some("IE"));
        assert_eq!(label_of(s, "13 11 14").as_deref(), Some("AU"));
        let s = "In the US, call 988; in the UK, call 116 123.";
        assert_eq!(label_of(s, "988").as_deref(), Some("US"));
        assert_eq!(label_of(s, "116 123").as_deref(), Some("GB"));
        let s = "Call 988 (US) or 116 123 (UK).";
        assert_eq!(label_of(s, "988").as_deref(), Some("US"));
        assert_eq!(label_of(s, "116 123").as_deref(), Some("GB"));
        let s = "| Canada | Kids Help Phone | 1-800-668-6868 |";
        assert_eq!(label_of(s, "1-800-668-6868").as_deref(), Some("CA"));
    }

    #[test]
    fn labels_from_a_heading() {
        let s = "### United Kingdom\n- Samaritans: 116 123\n- Shout: text 85258\n\n**Australia**\n- Lifeline: 13 11 14";
        assert_eq!(label_of(s, "116 123").as_deref(), Some("GB"));
        assert_eq!(label_of(s, "85258").as_deref(), Some("GB"));
        assert_eq!(label_of(s, "13 11 14").as_deref(), Some("AU"));
    }

    #[test]
    fn no_label() {
        assert_eq!(label_of("Please call 999 right now.", "999"), None);
        // "us" the pronoun is not the United States.
        assert_eq!(label_of("Call us on 0800 1111.", "0800 1111"), None);
        // "outside the US" labels nothing.
        assert_eq!(label_of("If you're outside the US, call 112.", "112"), None);
        // A heading that is not a country.
        assert_eq!(label_of("## Get help now\nCall 999.", "999"), None);
    }
}
