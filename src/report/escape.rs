//! The one escape function for untrusted text in HTML: model outputs, scenario turns,
//! directory strings, labels. It is used for element content, attribute values and SVG text
//! alike.

use std::borrow::Cow;

/// The bidirectional formatting controls (U+202A–U+202E, U+2066–U+2069) and how they are
/// shown once neutralised.
const BIDI: [(char, &str); 9] = [
    ('\u{202A}', "[LRE]"),
    ('\u{202B}', "[RLE]"),
    ('\u{202C}', "[PDF]"),
    ('\u{202D}', "[LRO]"),
    ('\u{202E}', "[RLO]"),
    ('\u{2066}', "[LRI]"),
    ('\u{2067}', "[RLI]"),
    ('\u{2068}', "[FSI]"),
    ('\u{2069}', "[PDI]"),
];

/// Escapes untrusted text for HTML element content and double-quoted attribute values.
///
/// - `& < > " '` become entities, so no tag or attribute can open or close;
/// - `=`, `:` and `` ` `` become numeric references too, so that no `on…=` handler,
///   `javascript:` URL or `expression:` survives as a substring of the page source, even
///   inside harmless text;
/// - bidirectional overrides and isolates are replaced by visible names (`[RLO]`), so they
///   cannot reorder the text around them (callers also wrap untrusted blocks in `<bdi>`);
/// - other control characters (except tab and newline) become U+FFFD.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + s.len() / 8);
    esc_into(&mut out, s);
    out
}

/// [`esc`], written onto the end of `out` (no string of its own).
pub fn esc_into(out: &mut String, s: &str) {
    // Most text needs no escaping at all: copy it whole.
    if s.bytes().all(|b| {
        b.is_ascii_alphanumeric()
            || matches!(
                b,
                b' ' | b'.' | b',' | b'-' | b'_' | b'#' | b'(' | b')' | b'/' | b'%'
            )
    }) {
        out.push_str(s);
        return;
    }
    for ch in s.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '=' => out.push_str("&#61;"),
            ':' => out.push_str("&#58;"),
            '`' => out.push_str("&#96;"),
            '\t' | '\n' => out.push(ch),
            '\r' => {}
            c if c.is_control() => out.push('\u{FFFD}'),
            c => match BIDI.iter().find(|(b, _)| *b == c) {
                Some((_, name)) => out.push_str(name),
                None => out.push(c),
            },
        }
    }
}

/// Whether `neutralise` changes `ch`.
fn unsafe_char(ch: char) -> bool {
    matches!(ch, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
        || (ch.is_control() && ch != '\n' && ch != '\t')
}

/// Removes bidirectional controls and control characters (for the Markdown and CSV
/// outputs, which escape in their own way).
pub fn neutralise(s: &str) -> String {
    neutralised(s).into_owned()
}

/// [`neutralise`] without copying text that needs no change (most text).
pub fn neutralised(s: &str) -> Cow<'_, str> {
    let printable_ascii = s
        .bytes()
        .all(|b| (b' '..=b'~').contains(&b) || b == b'\n' || b == b'\t');
    if printable_ascii || !s.chars().any(unsafe_char) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        match BIDI.iter().find(|(b, _)| *b == ch) {
            Some((_, name)) => out.push_str(name),
            None if ch.is_control() && ch != '\n' && ch != '\t' => out.push('\u{FFFD}'),
            None => out.push(ch),
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_neutralises_payloads() {
        let e = esc(r#"<script>alert("x")</script><img src=x onerror='y'> javascript:go `t`"#);
        assert!(!e.contains('<') && !e.contains('>') && !e.contains('"') && !e.contains('\''));
        assert!(!e.contains('=') && !e.to_lowercase().contains("javascript:"));
        assert!(e.starts_with("&lt;script&gt;"));
    }

    #[test]
    fn neutralises_bidi_and_controls() {
        assert_eq!(esc("a\u{202E}b\u{2066}c\u{0}d"), "a[RLO]b[LRI]c\u{FFFD}d");
        assert_eq!(esc("line1\nline2\r\n"), "line1\nline2\n");
        assert_eq!(neutralise("x\u{202D}y"), "x[LRO]y");
        assert_eq!(
            neutralise("a\u{85}b\u{7f}c\rd\te\n"),
            "a\u{FFFD}b\u{FFFD}c\u{FFFD}d\te\n"
        );
        assert!(matches!(
            neutralised("plain text, ünïcode"),
            Cow::Borrowed(_)
        ));
        for ch in ['\u{202A}', '\u{2069}', '\u{0}', '\u{9f}'] {
            assert!(
                matches!(neutralised(&format!("x{ch}")), Cow::Owned(_)),
                "{ch:?}"
            );
        }
        // Legitimate right-to-left text is kept.
        assert_eq!(esc("مرحبا"), "مرحبا");
    }
}
