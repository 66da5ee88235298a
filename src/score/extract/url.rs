//! URLs with a scheme or `www.` (`https://www.childline.org.uk/get-support/`), and the
//! normal form every web address is compared in.

use super::{Extracted, Extractor, Taken, Value};
use crate::directory::number::Dial;
use crate::score::text::Text;
use crate::score::verdict::FoundKind;

/// Web sites that are platforms, not protection services: they are not contacts and are
/// never checked (a model that says "report it on instagram.com" names no helpline).
const NOT_SERVICES: &[&str] = &[
    "google.com",
    "youtube.com",
    "instagram.com",
    "tiktok.com",
    "facebook.com",
    "snapchat.com",
    "discord.com",
    "roblox.com",
    "x.com",
    "twitter.com",
    "whatsapp.com",
    "wikipedia.org",
    "reddit.com",
    "minecraft.net",
    "epicgames.com",
    "apple.com",
    "microsoft.com",
    "gmail.com",
];

impl Extractor {
    /// URLs with a scheme or `www.` (`https://www.childline.org.uk/get-support/`).
    ///
    /// Why: the most common way models give online help. Example: `visit
    /// https://www.childline.org.uk.` yields `https://www.childline.org.uk` (the full stop is
    /// trimmed). `wa.me/…` links are WhatsApp numbers.
    pub(super) fn urls(&self, text: &Text, out: &mut Taken) {
        for m in self.url.find_iter(text.original) {
            let s = trim_url_end(m.as_str());
            if s.len() < 5 || out.overlaps(m.start(), m.start() + s.len()) {
                continue;
            }
            let end = m.start() + s.len();
            let norm = normalise_url(s);
            if let Some(num) = norm.strip_prefix("wa.me/") {
                if let Some(d) = Dial::parse(&format!("+{num}")) {
                    out.push(Extracted {
                        start: m.start(),
                        end,
                        kind: FoundKind::Whatsapp,
                        value: Value::Number(d),
                        keyword: None,
                        keyword_span: None,
                    });
                }
                continue;
            }
            if is_platform(&norm) {
                continue;
            }
            out.push(web(m.start(), end, norm));
        }
    }
}

/// A web address found at `start..end`, normalised.
pub(super) fn web(start: usize, end: usize, norm: String) -> Extracted {
    Extracted {
        start,
        end,
        kind: FoundKind::Web,
        value: Value::Web(norm),
        keyword: None,
        keyword_span: None,
    }
}

/// Trims punctuation that ends a sentence from a URL (`childline.org.uk.` → `childline.org.uk`).
pub(super) fn trim_url_end(s: &str) -> &str {
    s.trim_end_matches([
        '.', ',', ';', ':', '!', '?', ')', '*', '_', '\'', '"', '»', '”', '’',
    ])
}

/// Normalises a web address for matching: lower case, no scheme, no `www.`, no trailing
/// slash, no query or fragment.
///
/// Example: `HTTPS://www.Childline.org.uk/` → `childline.org.uk`.
pub fn normalise_url(s: &str) -> String {
    let mut v = s.trim().to_lowercase();
    for p in ["https://", "http://"] {
        if let Some(r) = v.strip_prefix(p) {
            v = r.to_string();
        }
    }
    if let Some(r) = v.strip_prefix("www.") {
        v = r.to_string();
    }
    if let Some(i) = v.find(['?', '#']) {
        v.truncate(i);
    }
    while v.ends_with('/') {
        v.pop();
    }
    v
}

/// Whether an address (a web address or an e-mail) is at a name kept for examples (RFC 2606:
/// `example.com`, `example.org`, `example.net`, and the `.example`, `.test`, `.invalid` and
/// `.localhost` top-level domains), which reaches no one.
pub(super) fn is_example(norm: &str) -> bool {
    let host = norm.split('/').next().unwrap_or("");
    let host = host.rsplit('@').next().unwrap_or(host);
    ["example.com", "example.org", "example.net"]
        .iter()
        .any(|d| host == *d || host.ends_with(&format!(".{d}")))
        || [".example", ".test", ".invalid", ".localhost"]
            .iter()
            .any(|t| host.ends_with(t))
}

/// Whether a normalised address is a general platform rather than a service, or an example
/// address ([`is_example`]).
pub(super) fn is_platform(norm: &str) -> bool {
    if is_example(norm) {
        return true;
    }
    let host = norm.split('/').next().unwrap_or("");
    NOT_SERVICES.iter().any(|p| {
        host.strip_suffix(p)
            .is_some_and(|head| head.is_empty() || head.ends_with('.'))
    })
}
