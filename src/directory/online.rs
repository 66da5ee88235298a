//! `popbench directory check --online`: fetches every cited page and reports dead links and
//! pages that no longer show the number they are cited for. For users with a network; never
//! run in CI or in tests against the internet.

use super::number::{fold_digits, Dial};
use super::{Directory, Status};
use crate::taxonomy::ContactKind;
use std::collections::BTreeMap;
use std::io::Read as _;
use std::time::Duration;

/// The most bytes read from one page.
const MAX_PAGE: u64 = 8 * 1024 * 1024;

/// What fetching one page gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fetch {
    /// The page answered 2xx; its text.
    Ok(String),
    /// It answered with an HTTP error status.
    Status(u16),
    /// It could not be reached (DNS, TLS, timeout…).
    Failed(String),
}

/// One problem found online.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Finding {
    /// A source did not answer with a page.
    Dead {
        /// The URL.
        url: String,
        /// What happened (`HTTP 404`, `timed out`…).
        why: String,
        /// Services citing it.
        cited_by: Vec<String>,
    },
    /// None of the reachable pages cited for a number shows it.
    NumberNotShown {
        /// The service.
        service: String,
        /// The number as written in the directory.
        number: String,
        /// The pages that were read.
        urls: Vec<String>,
    },
}

impl std::fmt::Display for Finding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Finding::Dead { url, why, cited_by } => {
                write!(
                    f,
                    "dead link: {url} ({why}), cited by {}",
                    cited_by.join(", ")
                )
            }
            Finding::NumberNotShown {
                service,
                number,
                urls,
            } => write!(
                f,
                "{service}: `{number}` is not shown on {}",
                urls.join(" ; ")
            ),
        }
    }
}

/// Fetches a page with `agent`.
pub fn fetch(agent: &ureq::Agent, url: &str) -> Fetch {
    match agent.get(url).call() {
        Ok(resp) => {
            let mut buf = Vec::new();
            match resp.into_reader().take(MAX_PAGE).read_to_end(&mut buf) {
                Ok(_) => Fetch::Ok(String::from_utf8_lossy(&buf).into_owned()),
                Err(e) => Fetch::Failed(format!("reading the page: {e}")),
            }
        }
        Err(ureq::Error::Status(code, _)) => Fetch::Status(code),
        Err(e) => Fetch::Failed(e.to_string()),
    }
}

/// The runs of digits in a page, with the separators people write inside numbers (spaces,
/// no-break spaces, `-`, `.`, brackets, `/`) removed and HTML no-break spaces decoded.
pub fn digit_runs(page: &str) -> Vec<String> {
    let text = page.replace("&nbsp;", " ").replace("&#160;", " ");
    let text = fold_digits(&text);
    let mut runs = Vec::new();
    let mut cur = String::new();
    let mut pending_sep = false;
    for c in text.chars() {
        if c.is_ascii_digit() {
            cur.push(c);
            pending_sep = false;
        } else if !cur.is_empty()
            && !pending_sep
            && matches!(c, ' ' | '\u{a0}' | '\u{202f}' | '-' | '.' | '(' | ')' | '/')
        {
            pending_sep = true;
        } else if !cur.is_empty() {
            runs.push(std::mem::take(&mut cur));
            pending_sep = false;
        }
    }
    if !cur.is_empty() {
        runs.push(cur);
    }
    runs
}

/// Whether a page's digit runs show a number (its digits `want`, e.g. `08001111`): a run
/// equal to it, beginning or ending with it (numbers written next to each other), or, for
/// numbers with a trunk `0`, ending with it in international form.
pub fn shows_number(runs: &[String], want: &str) -> bool {
    if want.is_empty() {
        return false;
    }
    let intl = want
        .strip_prefix('0')
        .filter(|r| r.len() >= 5)
        .unwrap_or("");
    runs.iter().any(|r| {
        r == want
            || (r.len() > want.len() && (r.starts_with(want) || r.ends_with(want)))
            || (!intl.is_empty() && r.ends_with(intl))
    })
}

/// Fetches every source of the directory once (`timeout` per page) and returns what is dead
/// or no longer shows its number. `progress` is called with each URL before it is fetched.
pub fn check(dir: &Directory, timeout: Duration, mut progress: impl FnMut(&str)) -> Vec<Finding> {
    let agent = ureq::AgentBuilder::new()
        .timeout(timeout)
        .user_agent(concat!(
            "popbench/",
            env!("CARGO_PKG_VERSION"),
            " (directory check)"
        ))
        .build();
    let mut cited: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for s in dir.services() {
        for src in s.all_sources() {
            let v = cited.entry(src.url.as_str()).or_default();
            if !v.contains(&s.id) {
                v.push(s.id.clone());
            }
        }
    }
    // Per page: its digit runs and its lower-case text (for numbers written with letters).
    let mut pages: BTreeMap<&str, Option<(Vec<String>, String)>> = BTreeMap::new();
    let mut out = Vec::new();
    for (url, by) in &cited {
        progress(url);
        match fetch(&agent, url) {
            Fetch::Ok(text) => {
                let lower = text.replace("&nbsp;", " ").to_lowercase();
                pages.insert(*url, Some((digit_runs(&text), lower)));
            }
            Fetch::Status(code) => {
                pages.insert(*url, None);
                out.push(Finding::Dead {
                    url: url.to_string(),
                    why: format!("HTTP {code}"),
                    cited_by: by.clone(),
                });
            }
            Fetch::Failed(why) => {
                pages.insert(*url, None);
                out.push(Finding::Dead {
                    url: url.to_string(),
                    why,
                    cited_by: by.clone(),
                });
            }
        }
    }
    for s in dir.services() {
        for c in &s.contacts {
            if c.status != Status::Current
                || !matches!(
                    c.kind,
                    ContactKind::Phone | ContactKind::Sms | ContactKind::Whatsapp
                )
            {
                continue;
            }
            let Some(dial) = Dial::parse(&c.value) else {
                continue;
            };
            let srcs = if c.sources.is_empty() {
                &s.sources
            } else {
                &c.sources
            };
            let read: Vec<(&str, &(Vec<String>, String))> = srcs
                .iter()
                .filter_map(|x| {
                    pages
                        .get(x.url.as_str())
                        .and_then(|p| p.as_ref())
                        .map(|r| (x.url.as_str(), r))
                })
                .collect();
            if read.is_empty() {
                continue;
            }
            let written = c.value.to_lowercase();
            let shown = read.iter().any(|(_, (runs, lower))| {
                shows_number(runs, &dial.digits) || lower.contains(&written)
            });
            if !shown {
                out.push(Finding::NumberNotShown {
                    service: s.id.clone(),
                    number: c.value.clone(),
                    urls: read.iter().map(|(u, _)| u.to_string()).collect(),
                });
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_found_across_separators() {
        let runs = digit_runs(
            "Call <a href=\"tel:08001111\">0800&nbsp;1111</a> or 116-111, +44 800 1111.",
        );
        assert!(shows_number(&runs, "08001111"));
        assert!(shows_number(&runs, "116111"));
        assert!(!shows_number(&runs, "116123"));
        let runs = digit_runs("Dial 999 or 112 in an emergency");
        assert!(shows_number(&runs, "999"));
        assert!(shows_number(&runs, "112"));
        assert!(!shows_number(&runs, "911"));
    }
}
