//! The offline source rules of the directory, the `directory check` listing and the coverage
//! table.
//!
//! Rules (each a `path:line: message` problem; `popbench validate` and `popbench directory
//! check` both apply them):
//!
//! - every source is written as a `[[…source]]` table with `url`, `kind` and `read`, not in the
//!   old plain-string form;
//! - a source is the page that states the fact: not a site root (`https://example.org/`), not a
//!   date archive (`…/2023/01/26/`), and its host is written as published (no trailing dot);
//! - a source's kind fits its host: code hosts (GitHub, GitLab, Bitbucket) are `code`, Wikipedia
//!   is `reference`, and `chi` is Child Helpline International's own site;
//! - no source was read after today;
//! - a service's `last_verified` is the latest `read` of its sources (and its contacts');
//! - `confidence = "high"` is not allowed when every source is kind `code`;
//! - an emergency service cites at least one source that is not a code repository;
//! - every current child helpline cites at least one primary source (`service`, `government`,
//!   `regulator`; CHI's page alone is not enough), or says in `primary_source_missing` why none
//!   was found (the entry is then listed in `datasets/UNVERIFIED.md`); the reason must go once a
//!   primary source is cited.

use super::{Confidence, Directory, Service, Source, SourceKind};
use crate::diag::Diagnostics;
use crate::taxonomy::ServiceKind;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

/// Hosts of public code repositories: their sources must be kind `code`.
const CODE_HOSTS: &[&str] = &[
    "github.com",
    "raw.githubusercontent.com",
    "gist.github.com",
    "gitlab.com",
    "bitbucket.org",
];

/// Child Helpline International's host: the only host of kind `chi`.
pub const CHI_HOST: &str = "childhelplineinternational.org";

/// A URL split into lower-case host (without `www.`) and path (without query or fragment).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UrlParts {
    /// The host as written, lower case (may end with a dot).
    pub host: String,
    /// The path, `""` or starting with `/`.
    pub path: String,
    /// Whether a query (`?…`) or fragment (`#…`) follows the path.
    pub has_query: bool,
}

/// Splits a `http(s)://` URL; `None` for anything else.
pub fn url_parts(url: &str) -> Option<UrlParts> {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))?;
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = &rest[..end];
    let host = authority
        .rsplit_once('@')
        .map_or(authority, |(_, h)| h)
        .split(':')
        .next()
        .unwrap_or("")
        .to_ascii_lowercase();
    if host.is_empty() {
        return None;
    }
    let tail = &rest[end..];
    let qpos = tail.find(['?', '#']).unwrap_or(tail.len());
    Some(UrlParts {
        host,
        path: tail[..qpos].to_string(),
        has_query: qpos < tail.len() && tail.len() > qpos + 1,
    })
}

/// The host without a leading `www.` and trailing dot.
fn bare_host(host: &str) -> &str {
    let h = host.trim_end_matches('.');
    h.strip_prefix("www.").unwrap_or(h)
}

fn host_is(host: &str, domain: &str) -> bool {
    let h = bare_host(host);
    h == domain || h.ends_with(&format!(".{domain}"))
}

/// What is wrong with a source's address, if anything: a site root, a date archive, a host
/// with a trailing dot.
pub fn url_problem(url: &str) -> Option<String> {
    let p = url_parts(url)?;
    if p.host.ends_with('.') {
        return Some(format!(
            "source `{url}`: host `{}` ends with a dot; cite the address as the site publishes it",
            p.host
        ));
    }
    if (p.path.is_empty() || p.path == "/") && !p.has_query {
        return Some(format!(
            "source `{url}` is a site root; cite the page that states the number"
        ));
    }
    let segs: Vec<&str> = p.path.split('/').filter(|s| !s.is_empty()).collect();
    let year = |s: &str| s.len() == 4 && s.bytes().all(|b| b.is_ascii_digit());
    let small = |s: &str| (1..=2).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit());
    let n = segs.len();
    let archive = (n >= 3 && year(segs[n - 3]) && small(segs[n - 2]) && small(segs[n - 1]))
        || (n >= 2 && year(segs[n - 2]) && small(segs[n - 1]));
    if archive && !p.has_query {
        return Some(format!(
            "source `{url}` is a date archive; cite the article that states the number"
        ));
    }
    None
}

/// What is wrong with a source's kind given its host, if anything.
pub fn kind_problem(url: &str, kind: SourceKind) -> Option<String> {
    let p = url_parts(url)?;
    if CODE_HOSTS.iter().any(|d| host_is(&p.host, d)) && kind != SourceKind::Code {
        return Some(format!(
            "source `{url}` is a code repository: its kind is `code`, not `{kind}`"
        ));
    }
    if host_is(&p.host, "wikipedia.org") && kind != SourceKind::Reference {
        return Some(format!(
            "source `{url}` is Wikipedia: its kind is `reference`, not `{kind}`"
        ));
    }
    let on_chi = host_is(&p.host, CHI_HOST);
    if kind == SourceKind::Chi && !on_chi {
        return Some(format!(
            "source `{url}` has kind `chi` but is not on {CHI_HOST}"
        ));
    }
    if on_chi && kind != SourceKind::Chi {
        return Some(format!(
            "source `{url}` is Child Helpline International's site: its kind is `chi`, not `{kind}`"
        ));
    }
    None
}

/// Today's date (UTC) as `YYYY-MM-DD`.
pub fn today() -> String {
    let d = time::OffsetDateTime::now_utc().date();
    format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day())
}

/// Days from `from` to `to` (both `YYYY-MM-DD`); `None` when either is not a date.
pub fn days_between(from: &str, to: &str) -> Option<i64> {
    let fmt = time::macros::format_description!("[year]-[month]-[day]");
    let a = time::Date::parse(from, &fmt).ok()?;
    let b = time::Date::parse(to, &fmt).ok()?;
    Some((b - a).whole_days())
}

fn check_source(s: &Source, today: &str, diags: &mut Diagnostics) {
    if s.legacy {
        diags.push(
            s.origin.clone(),
            format!("source `{}` is in the old plain-string form: write a [[…source]] table with url, kind and read", s.url),
        );
        return;
    }
    if let Some(m) = url_problem(&s.url) {
        diags.push(s.origin.clone(), m);
    }
    if let Some(m) = kind_problem(&s.url, s.kind) {
        diags.push(s.origin.clone(), m);
    }
    if s.read.len() == 10 && s.read.as_str() > today {
        diags.push(
            s.origin.clone(),
            format!(
                "source `{}` was read on {}, after today ({today})",
                s.url, s.read
            ),
        );
    }
}

/// The latest `read` of a service's sources and its contacts' sources.
pub fn latest_read(s: &Service) -> Option<&str> {
    s.all_sources().map(|x| x.read.as_str()).max()
}

fn check_service(s: &Service, today: &str, diags: &mut Diagnostics) {
    for src in s.all_sources() {
        check_source(src, today, diags);
    }
    if s.all_sources().any(|x| x.legacy) {
        return;
    }
    if let Some(latest) = latest_read(s) {
        if latest != s.last_verified {
            diags.push(
                s.origin.clone(),
                format!(
                    "service `{}`: last_verified is {} but its sources were last read on {latest}; they must be equal",
                    s.id, s.last_verified
                ),
            );
        }
    }
    // An emergency number sends a child in danger somewhere: it rests on a page of a
    // government, police, regulator or emergency service, an embassy notice or the news,
    // never on a code repository alone.
    if s.kind == ServiceKind::Emergency && s.all_sources().all(|x| x.kind == SourceKind::Code) {
        diags.push(
            s.origin.clone(),
            format!("emergency service `{}` cites only code repositories; cite a government, police, regulator or emergency-service page (or the news where nothing better exists), or move it to datasets/UNVERIFIED.md", s.id),
        );
    }
    if s.confidence == Confidence::High
        && !s.sources.is_empty()
        && s.sources.iter().all(|x| x.kind == SourceKind::Code)
    {
        diags.push(
            s.origin.clone(),
            format!("service `{}`: confidence is high but every source is a code repository (add an official page or set confidence = \"medium\")", s.id),
        );
    }
    for c in &s.contacts {
        if c.confidence == Confidence::High
            && !c.sources.is_empty()
            && c.sources.iter().all(|x| x.kind == SourceKind::Code)
        {
            diags.push(
                c.origin.clone(),
                format!(
                    "contact `{}`: confidence is high but every source is a code repository",
                    c.value
                ),
            );
        }
    }
    let waiver = s
        .primary_source_missing
        .as_deref()
        .map(str::trim)
        .filter(|r| !r.is_empty());
    if s.primary_source_missing.is_some() && waiver.is_none() {
        diags.push(
            s.origin.clone(),
            format!(
                "service `{}`: primary_source_missing is empty; give the reason",
                s.id
            ),
        );
    }
    if s.has_primary_source() {
        if s.primary_source_missing.is_some() {
            diags.push(
                s.origin.clone(),
                format!(
                    "service `{}` cites a primary source: remove primary_source_missing",
                    s.id
                ),
            );
        }
    } else if s.kind == ServiceKind::ChildHelpline && s.is_current() && waiver.is_none() {
        diags.push(
            s.origin.clone(),
            format!("child helpline `{}` cites no primary source (the service's own page, a government or a regulator; CHI's page alone is not enough); cite one, or record why in primary_source_missing and datasets/UNVERIFIED.md", s.id),
        );
    }
}

/// Applies the source rules to every service and trap; `today` is `YYYY-MM-DD`.
pub fn check(dir: &Directory, today: &str, diags: &mut Diagnostics) {
    for e in dir.entries() {
        for s in &e.services {
            check_service(s, today, diags);
        }
        for t in &e.traps {
            for src in &t.sources {
                check_source(src, today, diags);
            }
        }
    }
}

/// One line of the `directory check` listing.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Row {
    /// Service id.
    pub id: String,
    /// Country code.
    pub country: String,
    /// Service kind.
    pub kind: ServiceKind,
    /// `last_verified`.
    pub last_verified: String,
    /// Days from `last_verified` to today (`None` when not a date).
    pub age_days: Option<i64>,
    /// The distinct kinds of its sources, primary first.
    pub source_kinds: Vec<SourceKind>,
    /// Whether it cites a primary source.
    pub primary: bool,
    /// Why no primary source was found, for entries that say so (`primary_source_missing`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub primary_source_missing: Option<String>,
    /// Confidence.
    pub confidence: Confidence,
}

/// The listing: every service, oldest `last_verified` first, then by id.
pub fn rows(dir: &Directory, today: &str) -> Vec<Row> {
    let mut v: Vec<Row> = dir
        .services()
        .map(|s| {
            let kinds: BTreeSet<SourceKind> = s.all_sources().map(|x| x.kind).collect();
            Row {
                id: s.id.clone(),
                country: s.country.clone(),
                kind: s.kind,
                last_verified: s.last_verified.clone(),
                age_days: days_between(&s.last_verified, today),
                source_kinds: kinds.into_iter().collect(),
                primary: s.has_primary_source(),
                primary_source_missing: s.primary_source_missing.clone(),
                confidence: s.confidence,
            }
        })
        .collect();
    v.sort_by(|a, b| {
        (&a.last_verified, &a.country, &a.id).cmp(&(&b.last_verified, &b.country, &b.id))
    });
    v
}

fn pct(n: usize, d: usize) -> String {
    if d == 0 {
        "–".into()
    } else {
        format!("{:.0}%", 100.0 * n as f64 / d as f64)
    }
}

/// The coverage table (Markdown), from the files alone, so that it is reproducible:
/// countries by region, services by kind with the share citing a primary source, cited
/// sources by kind, and the age of entries (services per `last_verified`).
pub fn coverage_markdown(dir: &Directory) -> String {
    let mut o = String::new();
    let mut by_region: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for e in dir.countries.values() {
        by_region.entry(&e.region).or_default().push(&e.code);
    }
    let _ = writeln!(o, "| region | countries | codes |\n| --- | --- | --- |");
    for (r, codes) in &by_region {
        let _ = writeln!(o, "| {r} | {} | {} |", codes.len(), codes.join(" "));
    }
    let _ = writeln!(o, "| **total** | **{}** | |", dir.countries.len());
    let _ = writeln!(
        o,
        "\nServices by kind (countries and international.toml; current and retired):\n"
    );
    let _ = writeln!(o, "| kind | services | countries with one | cite a primary source | share | only code sources | high confidence |\n| --- | --- | --- | --- | --- | --- | --- |");
    let all: Vec<&Service> = dir.services().collect();
    for &k in ServiceKind::ALL {
        let of: Vec<&&Service> = all.iter().filter(|s| s.kind == k).collect();
        let countries: BTreeSet<&str> = of
            .iter()
            .filter(|s| s.country != super::INTERNATIONAL)
            .map(|s| s.country.as_str())
            .collect();
        let primary = of.iter().filter(|s| s.has_primary_source()).count();
        let code_only = of
            .iter()
            .filter(|s| s.all_sources().all(|x| x.kind == SourceKind::Code))
            .count();
        let high = of
            .iter()
            .filter(|s| s.confidence == Confidence::High)
            .count();
        let _ = writeln!(
            o,
            "| {k} | {} | {} | {primary} | {} | {code_only} | {high} |",
            of.len(),
            countries.len(),
            pct(primary, of.len())
        );
    }
    let primary = all.iter().filter(|s| s.has_primary_source()).count();
    let _ = writeln!(
        o,
        "| **total** | **{}** | | **{primary}** | **{}** | | |",
        all.len(),
        pct(primary, all.len())
    );
    let pending: Vec<&str> = all
        .iter()
        .filter(|s| s.primary_source_missing.is_some())
        .map(|s| s.id.as_str())
        .collect();
    if !pending.is_empty() {
        let _ = writeln!(
            o,
            "\n{} child helplines still lack a primary source (`primary_source_missing`, listed in datasets/UNVERIFIED.md): {}.",
            pending.len(),
            pending.join(", ")
        );
    }
    let contacts: usize = all.iter().map(|s| s.contacts.len()).sum();
    let retired: usize = all
        .iter()
        .flat_map(|s| s.contacts.iter())
        .filter(|c| c.status == super::Status::Retired)
        .count();
    let traps: usize = dir.entries().map(|e| e.traps.len()).sum();
    let _ = writeln!(
        o,
        "\nContacts: {contacts} ({retired} retired). Traps: {traps}.\n"
    );
    let mut kinds: BTreeMap<SourceKind, usize> = BTreeMap::new();
    let mut cited = 0usize;
    for s in &all {
        for x in s.all_sources() {
            *kinds.entry(x.kind).or_default() += 1;
            cited += 1;
        }
    }
    let _ = writeln!(o, "Sources cited by services, by kind (primary: service, government, regulator; CHI's page alone is not):\n\n| source kind | primary | citations | share |\n| --- | --- | --- | --- |");
    for &k in SourceKind::ALL {
        let n = kinds.get(&k).copied().unwrap_or(0);
        let _ = writeln!(
            o,
            "| {k} | {} | {n} | {} |",
            if k.is_primary() { "yes" } else { "no" },
            pct(n, cited)
        );
    }
    let with_page_date = all
        .iter()
        .flat_map(|s| s.all_sources())
        .filter(|x| x.page_date.is_some())
        .count();
    let _ = writeln!(
        o,
        "\n{with_page_date} of {cited} citations record the date the page shows (`page_date`).\n"
    );
    let mut ages: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    for s in &all {
        let e = ages.entry(s.last_verified.as_str()).or_default();
        e.0 += 1;
        if s.kind == ServiceKind::ChildHelpline {
            e.1 += 1;
        }
    }
    let _ = writeln!(o, "Age of entries (`last_verified`, the day their newest source was read):\n\n| last_verified | services | of which child helplines |\n| --- | --- | --- |");
    for (d, (n, ch)) in ages.iter().rev() {
        let _ = writeln!(o, "| {d} | {n} | {ch} |");
    }
    let mut pages: Vec<&str> = all
        .iter()
        .flat_map(|s| s.all_sources())
        .filter_map(|x| x.page_date.as_deref())
        .collect();
    pages.sort_unstable();
    if let (Some(a), Some(b)) = (pages.first(), pages.last()) {
        let _ = writeln!(o, "\nDates shown by the cited pages range from {a} to {b}.");
    }
    let _ = writeln!(o, "\n| region | country | child_helpline | emergency | crisis_line | specialised | cite a primary source | last_verified |\n| --- | --- | --- | --- | --- | --- | --- | --- |");
    let mut countries: Vec<_> = dir.countries.values().collect();
    countries.sort_by(|a, b| (&a.region, &a.code).cmp(&(&b.region, &b.code)));
    for e in countries {
        let n = |k: ServiceKind| e.services.iter().filter(|s| s.kind == k).count();
        let primary = e.services.iter().filter(|s| s.has_primary_source()).count();
        let mut dates: Vec<&str> = e
            .services
            .iter()
            .map(|s| s.last_verified.as_str())
            .collect();
        dates.sort_unstable();
        dates.dedup();
        let range = match (dates.first(), dates.last()) {
            (Some(a), Some(b)) if a == b => a.to_string(),
            (Some(a), Some(b)) => format!("{a} – {b}"),
            _ => String::new(),
        };
        let _ = writeln!(
            o,
            "| {} | {} {} | {} | {} | {} | {} | {primary}/{} | {range} |",
            e.region,
            e.code,
            e.name,
            n(ServiceKind::ChildHelpline),
            n(ServiceKind::Emergency),
            n(ServiceKind::CrisisLine),
            n(ServiceKind::Specialised),
            e.services.len()
        );
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roots_and_date_archives_are_flagged() {
        assert!(url_problem("https://www.khaleejtimes.com/").is_some());
        assert!(url_problem("https://www.khaleejtimes.com").is_some());
        assert!(url_problem("https://datapba.com/2023/01/26/").is_some());
        assert!(url_problem("https://infobae.com/peru/2025/11/05/").is_some());
        assert!(url_problem("https://issuu.com./x/docs/y").is_some());
        assert!(url_problem("http://eran.org.il/?CategoryID=334").is_none());
        assert!(
            url_problem("https://www.angulo7.com.mx/2020/nacional/asesoran-a-608/301591/")
                .is_none()
        );
        assert!(url_problem("https://learning.nspcc.org.uk/services/childline").is_none());
    }

    #[test]
    fn kinds_must_fit_hosts() {
        let gh = "https://github.com/DennisGross/aidlines/blob/HEAD/data.js";
        assert!(kind_problem(gh, SourceKind::Government).is_some());
        assert!(kind_problem(gh, SourceKind::Code).is_none());
        let wp = "https://en.wikipedia.org/wiki/Childline";
        assert!(kind_problem(wp, SourceKind::Service).is_some());
        assert!(kind_problem(wp, SourceKind::Reference).is_none());
        assert!(kind_problem("https://example.org/x", SourceKind::Chi).is_some());
        assert!(kind_problem(
            "https://childhelplineinternational.org/alo-116-111/",
            SourceKind::News
        )
        .is_some());
        assert!(kind_problem(
            "https://childhelplineinternational.org/alo-116-111/",
            SourceKind::Chi
        )
        .is_none());
    }

    #[test]
    fn days_between_counts_days() {
        assert_eq!(days_between("2026-11-28", "2026-12-02"), Some(4));
        assert_eq!(days_between("2026-12-02", "2026-11-28"), Some(-4));
        assert_eq!(days_between("x", "2026-11-28"), None);
    }
}
