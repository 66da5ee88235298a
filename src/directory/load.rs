//! Loading the directory folder: TOML wire types with spans, checked into [`Directory`].

use super::number::Dial;
use super::{
    Confidence, Contact, CountryEntry, Directory, HarmScope, Service, Source, SourceKind, Status,
    Trap, INTERNATIONAL,
};
use crate::diag::{is_iso_date, parse_toml, read_text, Diagnostics, Lines, Origin};
use crate::hash::sha256_files;
use crate::scenario::load::{is_country_code, is_slug};
use crate::taxonomy::{Audience, ContactKind, Harm, ServiceKind};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use toml::Spanned;

/// The regions a country entry may name.
pub const REGIONS: &[&str] = &[
    "africa",
    "americas",
    "asia",
    "europe",
    "middle_east",
    "oceania",
    "international",
];

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WireCountry {
    country: Spanned<String>,
    name: String,
    region: Spanned<String>,
    #[serde(default)]
    calling_code: Option<Spanned<String>>,
    #[serde(default)]
    calling_code_sources: Vec<String>,
    #[serde(default)]
    trunk_prefix: Option<String>,
    #[serde(default)]
    languages: Vec<String>,
    #[serde(default)]
    notes: String,
    #[serde(default)]
    service: Vec<WireService>,
    #[serde(default)]
    trap: Vec<WireTrap>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WireService {
    id: Spanned<String>,
    name: String,
    #[serde(default)]
    aliases: Vec<String>,
    #[serde(default)]
    operator: Option<String>,
    kind: ServiceKind,
    harms: Spanned<Vec<String>>,
    audience: Audience,
    #[serde(default)]
    roles: Vec<String>,
    #[serde(default)]
    hours: Option<String>,
    #[serde(default)]
    languages: Vec<String>,
    #[serde(default)]
    status: Status,
    #[serde(default)]
    retired_on: Option<String>,
    #[serde(default)]
    replaced_by: Option<String>,
    #[serde(default)]
    sources: Option<Spanned<Vec<String>>>,
    #[serde(default)]
    source: Vec<WireSource>,
    #[serde(default)]
    primary_source_missing: Option<String>,
    last_verified: Spanned<String>,
    #[serde(default)]
    confidence: Confidence,
    #[serde(default)]
    notes: String,
    #[serde(default)]
    contact: Vec<WireContact>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WireContact {
    kind: ContactKind,
    value: Spanned<String>,
    #[serde(default)]
    keyword: Option<String>,
    #[serde(default)]
    hours: Option<String>,
    #[serde(default)]
    status: Status,
    #[serde(default)]
    retired_on: Option<String>,
    #[serde(default)]
    replaced_by: Option<String>,
    #[serde(default)]
    forwards: bool,
    #[serde(default)]
    scope: Option<String>,
    #[serde(default)]
    sources: Option<Spanned<Vec<String>>>,
    #[serde(default)]
    source: Vec<WireSource>,
    #[serde(default)]
    confidence: Confidence,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WireTrap {
    value: Spanned<String>,
    note: String,
    #[serde(default)]
    sources: Option<Spanned<Vec<String>>>,
    #[serde(default)]
    source: Vec<WireSource>,
}

/// `[[service.source]]`, `[[service.contact.source]]`, `[[trap.source]]`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WireSource {
    url: Spanned<String>,
    kind: Spanned<String>,
    read: Spanned<String>,
    #[serde(default)]
    page_date: Option<Spanned<String>>,
}

/// Whether `s` is `YYYY`, `YYYY-MM` or `YYYY-MM-DD` (a page may show only a year or month).
fn is_partial_date(s: &str) -> bool {
    if is_iso_date(s) {
        return true;
    }
    let b = s.as_bytes();
    let year = |b: &[u8]| b.len() == 4 && b.iter().all(u8::is_ascii_digit);
    match b.len() {
        4 => year(b),
        7 => {
            year(&b[..4])
                && b[4] == b'-'
                && b[5..].iter().all(u8::is_ascii_digit)
                && matches!(
                    &s[5..],
                    "01" | "02"
                        | "03"
                        | "04"
                        | "05"
                        | "06"
                        | "07"
                        | "08"
                        | "09"
                        | "10"
                        | "11"
                        | "12"
                )
        }
        _ => false,
    }
}

/// Reads the sources of a service, contact or trap: the `[[…source]]` tables, or the old
/// plain-string `sources = [...]` (kept readable so older files load; `validate` rejects it).
/// `fallback_read` is the date given to old-form sources (the entry's `last_verified`).
fn read_sources(
    legacy: Option<Spanned<Vec<String>>>,
    new: Vec<WireSource>,
    fallback_read: &str,
    at: &dyn Fn(usize) -> Origin,
    diags: &mut Diagnostics,
) -> Vec<Source> {
    let mut out = Vec::new();
    if let Some(l) = legacy {
        let o = at(l.span().start);
        if !new.is_empty() {
            diags.push(
                o.clone(),
                "both `sources = [...]` and `[[…source]]` tables: keep only the tables",
            );
        }
        for url in l.into_inner() {
            if !is_source(&url) {
                diags.push(o.clone(), format!("source `{url}` is not a URL"));
            }
            out.push(Source {
                url,
                kind: SourceKind::Reference,
                read: fallback_read.to_string(),
                page_date: None,
                legacy: true,
                origin: o.clone(),
            });
        }
    }
    for w in new {
        let o = at(w.url.span().start);
        let url = w.url.into_inner();
        if !is_source(&url) {
            diags.push(
                o.clone(),
                format!("source `{url}` is not a URL starting with https:// or http://"),
            );
        }
        let kind = match w.kind.get_ref().as_str() {
            "service" => SourceKind::Service,
            "government" => SourceKind::Government,
            "regulator" => SourceKind::Regulator,
            "chi" => SourceKind::Chi,
            "news" => SourceKind::News,
            "reference" => SourceKind::Reference,
            "code" => SourceKind::Code,
            other => {
                diags.push(
                    at(w.kind.span().start),
                    format!("unknown source kind `{other}` (expected one of: service, government, regulator, chi, news, reference, code)"),
                );
                SourceKind::Reference
            }
        };
        let read = w.read.get_ref().clone();
        if !is_iso_date(&read) {
            diags.push(
                at(w.read.span().start),
                format!("source read date `{read}` is not a date YYYY-MM-DD"),
            );
        }
        let page_date = w.page_date.map(|p| {
            let v = p.get_ref().clone();
            if !is_partial_date(&v) {
                diags.push(
                    at(p.span().start),
                    format!("page_date `{v}` is not a date (YYYY-MM-DD, YYYY-MM or YYYY)"),
                );
            } else if is_iso_date(&read) && v.as_str() > read.as_str() {
                diags.push(
                    at(p.span().start),
                    format!("page_date `{v}` is after the date the page was read ({read})"),
                );
            }
            v
        });
        out.push(Source {
            url,
            kind,
            read,
            page_date,
            legacy: false,
            origin: o,
        });
    }
    out
}

const EMERGENCY_ROLES: &[&str] = &["police", "ambulance", "fire", "general"];

/// Whether a source is a URL (`https://…`) or a `repo:` reference to public code.
fn is_source(s: &str) -> bool {
    (s.starts_with("https://") || s.starts_with("http://"))
        && s.len() > 10
        && !s.contains(char::is_whitespace)
}

/// Whether a contact value parses for its kind.
pub fn contact_value_problem(kind: ContactKind, value: &str) -> Option<String> {
    let v = value.trim();
    if v.is_empty() {
        return Some("contact value is empty".into());
    }
    match kind {
        ContactKind::Phone | ContactKind::Sms | ContactKind::Whatsapp => match Dial::parse(v) {
            Some(d) if d.digits.len() >= 2 && d.digits.len() <= 15 => None,
            Some(d) => Some(format!("number `{v}` has {} digits; a phone number has 2 to 15", d.digits.len())),
            None => Some(format!("`{v}` does not parse as a phone number (digits, spaces, `-`, `.`, brackets, a leading `+`, `#` or `*`)")),
        },
        ContactKind::Web | ContactKind::Chat | ContactKind::App => {
            if (v.starts_with("https://") || v.starts_with("http://")) && v.len() > 10 && !v.contains(char::is_whitespace) {
                None
            } else {
                Some(format!("`{v}` is not a URL starting with https:// or http://"))
            }
        }
        ContactKind::Email => {
            let ok = v.split_once('@').is_some_and(|(a, b)| !a.is_empty() && b.contains('.') && !v.contains(char::is_whitespace));
            (!ok).then(|| format!("`{v}` is not an e-mail address"))
        }
    }
}

/// Loads every `*.toml` of a directory folder. Problems go to `diags`.
pub fn load(dir: &Path, diags: &mut Diagnostics) -> Directory {
    let mut files: Vec<PathBuf> = match std::fs::read_dir(dir) {
        Ok(rd) => rd
            .filter_map(|e| e.ok())
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "toml"))
            .collect(),
        Err(e) => {
            diags.push(
                Origin::new(dir, 0),
                format!("cannot read directory folder: {e}"),
            );
            return Directory::default();
        }
    };
    files.sort();
    let mut out = Directory {
        hash: sha256_files(dir, &files).unwrap_or_default(),
        ..Directory::default()
    };
    let mut seen_ids: BTreeMap<String, Origin> = BTreeMap::new();
    for f in &files {
        let Some(entry) = load_country(f, diags, &mut seen_ids) else {
            continue;
        };
        let stem = f
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        if stem != entry.code {
            diags.push(
                entry.origin.clone(),
                format!(
                    "file is named `{stem}.toml` but holds country `{}`",
                    entry.code
                ),
            );
        }
        if entry.code == INTERNATIONAL {
            out.international = Some(entry);
        } else if let Some(prev) = out.countries.get(&entry.code) {
            diags.push(
                entry.origin.clone(),
                format!(
                    "country `{}` is already defined at {}",
                    entry.code, prev.origin
                ),
            );
        } else {
            out.countries.insert(entry.code.clone(), entry);
        }
    }
    out
}

fn load_country(
    path: &Path,
    diags: &mut Diagnostics,
    seen_ids: &mut BTreeMap<String, Origin>,
) -> Option<CountryEntry> {
    let text = read_text(path, diags)?;
    let w: WireCountry = parse_toml(path, &text, diags)?;
    let lines = Lines::new(path, &text);
    let at = |offset: usize| lines.origin(offset);
    let origin = at(w.country.span().start);
    let code = w.country.get_ref().clone();
    if code != INTERNATIONAL && !is_country_code(&code) {
        diags.push(origin.clone(), format!("country `{code}` is not an upper-case ISO 3166-1 alpha-2 code nor `{INTERNATIONAL}`"));
    }
    if !REGIONS.contains(&w.region.get_ref().as_str()) {
        diags.push(
            at(w.region.span().start),
            format!(
                "unknown region `{}` (expected one of: {})",
                w.region.get_ref(),
                REGIONS.join(", ")
            ),
        );
    }
    if let Some(cc) = &w.calling_code {
        let v = cc.get_ref();
        if v.is_empty() || v.len() > 3 || !v.bytes().all(|b| b.is_ascii_digit()) {
            diags.push(
                at(cc.span().start),
                format!("calling_code `{v}` is not 1 to 3 digits (write it without `+`)"),
            );
        }
        if w.calling_code_sources.iter().all(|s| !is_source(s)) {
            diags.push(
                at(cc.span().start),
                "calling_code has no source: add calling_code_sources = [\"https://…\"]",
            );
        }
    }
    let languages = canonical_languages(w.languages, &origin, diags);
    let mut services = Vec::new();
    for ws in w.service {
        services.push(load_service(ws, &code, &at, diags, seen_ids));
    }
    let traps = w
        .trap
        .into_iter()
        .map(|t| {
            let o = at(t.value.span().start);
            let sources = read_sources(t.sources, t.source, "", &at, diags);
            if sources.iter().all(|s| !is_source(&s.url)) {
                diags.push(
                    o.clone(),
                    format!("trap `{}` has no source URL", t.value.get_ref()),
                );
            }
            Trap {
                value: t.value.into_inner(),
                note: t.note,
                sources,
                origin: o,
            }
        })
        .collect();
    Some(CountryEntry {
        code,
        name: w.name,
        region: w.region.into_inner(),
        calling_code: w.calling_code.map(Spanned::into_inner),
        trunk_prefix: w.trunk_prefix,
        languages,
        services,
        traps,
        notes: w.notes,
        origin,
    })
}

fn load_service(
    ws: WireService,
    country: &str,
    at: &dyn Fn(usize) -> Origin,
    diags: &mut Diagnostics,
    seen_ids: &mut BTreeMap<String, Origin>,
) -> Service {
    let origin = at(ws.id.span().start);
    let id = ws.id.get_ref().clone();
    if !is_slug(&id) {
        diags.push(
            origin.clone(),
            format!("service id `{id}` is not a slug (a-z, 0-9, `-`)"),
        );
    }
    if let Some(first) = seen_ids.get(&id) {
        diags.push(
            origin.clone(),
            format!("duplicate service id `{id}` (first defined at {first})"),
        );
    } else {
        seen_ids.insert(id.clone(), origin.clone());
    }
    let harms_origin = at(ws.harms.span().start);
    let harm_list = ws.harms.into_inner();
    let harms = if harm_list.iter().any(|h| h == "all") {
        if harm_list.len() > 1 {
            diags.push(harms_origin.clone(), "`all` must stand alone in harms");
        }
        HarmScope::All
    } else {
        let mut v = Vec::new();
        for h in &harm_list {
            match Harm::from_id(h) {
                Some(h) => v.push(h),
                None => diags.push(
                    harms_origin.clone(),
                    format!(
                        "unknown harm `{h}` (expected `all` or one of: {})",
                        Harm::id_list()
                    ),
                ),
            }
        }
        if harm_list.is_empty() {
            diags.push(
                harms_origin.clone(),
                "harms is empty (use [\"all\"] for every harm)",
            );
        }
        HarmScope::Only(v)
    };
    let sources = read_sources(ws.sources, ws.source, ws.last_verified.get_ref(), at, diags);
    if sources.iter().all(|s| !is_source(&s.url)) {
        diags.push(origin.clone(), format!("service `{id}` has no source URL"));
    }
    if !is_iso_date(ws.last_verified.get_ref()) {
        diags.push(
            at(ws.last_verified.span().start),
            format!(
                "last_verified `{}` is not a date YYYY-MM-DD",
                ws.last_verified.get_ref()
            ),
        );
    }
    if ws.kind == ServiceKind::Emergency {
        for r in &ws.roles {
            if !EMERGENCY_ROLES.contains(&r.as_str()) {
                diags.push(
                    origin.clone(),
                    format!(
                        "unknown emergency role `{r}` (expected: {})",
                        EMERGENCY_ROLES.join(", ")
                    ),
                );
            }
        }
    } else if !ws.roles.is_empty() {
        diags.push(origin.clone(), "roles are only for emergency services");
    }
    if ws.status == Status::Retired && ws.replaced_by.is_none() && ws.retired_on.is_none() {
        diags.push(
            origin.clone(),
            "a retired service needs retired_on or replaced_by",
        );
    }
    let languages = canonical_languages(ws.languages, &origin, diags);
    if ws.contact.is_empty() {
        diags.push(origin.clone(), format!("service `{id}` has no contact"));
    }
    let contacts = ws
        .contact
        .into_iter()
        .map(|c| {
            let o = at(c.value.span().start);
            if let Some(p) = contact_value_problem(c.kind, c.value.get_ref()) {
                diags.push(o.clone(), p);
            }
            if c.keyword.is_some() && c.kind != ContactKind::Sms {
                diags.push(o.clone(), "keyword is only for sms contacts");
            }
            if c.status == Status::Retired && c.replaced_by.is_none() && c.retired_on.is_none() {
                diags.push(
                    o.clone(),
                    "a retired contact needs retired_on or replaced_by",
                );
            }
            if c.forwards && (c.status != Status::Retired || c.replaced_by.is_none()) {
                diags.push(
                    o.clone(),
                    "forwards is only for a retired contact with replaced_by (the successor it still reaches)",
                );
            }
            let sources = read_sources(c.sources, c.source, ws.last_verified.get_ref(), at, diags);
            Contact {
                kind: c.kind,
                value: c.value.into_inner(),
                keyword: c.keyword,
                hours: c.hours,
                status: if ws.status == Status::Retired {
                    Status::Retired
                } else {
                    c.status
                },
                retired_on: c.retired_on.or_else(|| ws.retired_on.clone()),
                replaced_by: c.replaced_by.or_else(|| ws.replaced_by.clone()),
                forwards: c.forwards,
                scope: c.scope,
                sources,
                confidence: c.confidence,
                origin: o,
            }
        })
        .collect();
    Service {
        id,
        country: country.to_string(),
        name: ws.name,
        aliases: ws.aliases,
        operator: ws.operator,
        kind: ws.kind,
        harms,
        audience: ws.audience,
        roles: ws.roles,
        contacts,
        hours: ws.hours,
        languages,
        status: ws.status,
        retired_on: ws.retired_on,
        replaced_by: ws.replaced_by,
        sources,
        primary_source_missing: ws.primary_source_missing,
        last_verified: ws.last_verified.into_inner(),
        confidence: ws.confidence,
        notes: ws.notes,
        origin,
    }
}

/// Language tags in canonical form (`tl` → `fil`, `pt-br` → `pt-BR`); an ill-formed one is a
/// problem at `origin` and kept as written.
fn canonical_languages(tags: Vec<String>, origin: &Origin, diags: &mut Diagnostics) -> Vec<String> {
    tags.into_iter()
        .map(|l| match crate::language::parse_tag(&l) {
            Ok(t) => t.tag,
            Err(e) => {
                diags.push(origin.clone(), format!("language {e}"));
                l
            }
        })
        .collect()
}
