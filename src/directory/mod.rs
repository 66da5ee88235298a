//! The directory: verified protection services per country, each with contacts and sources.
//!
//! One TOML file per country under `datasets/directory/` (`GB.toml`), plus
//! `international.toml` for services that serve any country. See `datasets/README.md` for
//! the format; in short:
//!
//! ```toml
//! country = "KE"
//! name = "Kenya"
//! region = "africa"
//! calling_code = "254"
//! languages = ["sw", "en"]
//!
//! [[service]]
//! id = "ke-childline"
//! name = "Childline Kenya"
//! kind = "child_helpline"
//! harms = ["all"]
//! audience = "children"
//! last_verified = "2026-02-01"           # the latest `read` of its sources
//!
//! [[service.source]]
//! url = "https://..."                     # the page that states the number
//! kind = "government"                     # service | government | regulator | chi | news | reference | code
//! read = "2026-02-01"                     # when it was read for this entry
//! page_date = "2025-03-10"                # optional: the date the page shows
//!
//! [[service.contact]]
//! kind = "phone"
//! value = "116"
//! ```

pub mod check;
mod load;
pub mod number;
pub mod online;
pub mod world;

pub use load::load;

use crate::diag::Origin;
use crate::taxonomy::{Audience, ContactKind, Harm, ServiceKind};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The id used for the international file and for services that serve every country.
pub const INTERNATIONAL: &str = "international";

/// Whether a service or contact is still in use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// In service.
    #[default]
    Current,
    /// No longer in service (see `retired_on` and `replaced_by`).
    Retired,
}

/// How well a fact is supported.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default, PartialOrd, Ord,
)]
#[serde(rename_all = "snake_case")]
pub enum Confidence {
    /// A single source, or sources derived from one another.
    Medium,
    /// An official page, or two independent sources that agree.
    #[default]
    High,
}

/// What kind of page a source is. `service`, `government`, `regulator` and `chi` are primary
/// sources; `news`, `reference` (encyclopaedias, data sets, directories and other third-party
/// pages) and `code` (public code repositories) are secondary.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SourceKind {
    /// The service's own site (or its operator's).
    Service,
    /// A government page.
    Government,
    /// A telecoms or other regulator.
    Regulator,
    /// Child Helpline International's page for the helpline.
    Chi,
    /// A news article.
    News,
    /// An encyclopaedia, data set, directory or other third-party page.
    Reference,
    /// A public code repository.
    Code,
}

impl SourceKind {
    /// Every kind, primary ones first.
    pub const ALL: &'static [SourceKind] = &[
        SourceKind::Service,
        SourceKind::Government,
        SourceKind::Regulator,
        SourceKind::Chi,
        SourceKind::News,
        SourceKind::Reference,
        SourceKind::Code,
    ];

    /// The id used in files.
    pub fn id(self) -> &'static str {
        match self {
            SourceKind::Service => "service",
            SourceKind::Government => "government",
            SourceKind::Regulator => "regulator",
            SourceKind::Chi => "chi",
            SourceKind::News => "news",
            SourceKind::Reference => "reference",
            SourceKind::Code => "code",
        }
    }

    /// Whether the kind is a primary source: the service itself, a government, a regulator.
    /// CHI's page for a helpline restates what the helpline reported to CHI: it is cited, and
    /// it is not enough alone (a child helpline that cites only CHI carries
    /// `primary_source_missing`, issue 24).
    pub fn is_primary(self) -> bool {
        matches!(
            self,
            SourceKind::Service | SourceKind::Government | SourceKind::Regulator
        )
    }
}

impl std::fmt::Display for SourceKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.id())
    }
}

/// One cited source of a service, contact or trap.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Source {
    /// The page that states the fact.
    pub url: String,
    /// What kind of page it is.
    pub kind: SourceKind,
    /// When it was read for this entry (`YYYY-MM-DD`); empty for old-form sources of traps.
    pub read: String,
    /// The date the page itself shows, when it shows one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub page_date: Option<String>,
    /// Whether it was written in the old plain-string form (`sources = ["https://…"]`), which
    /// carries no kind or read date; `validate` rejects it.
    #[serde(skip)]
    pub legacy: bool,
    /// Where it is defined.
    #[serde(skip)]
    pub origin: Origin,
}

/// One way to reach a service.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Contact {
    /// The channel.
    pub kind: ContactKind,
    /// The value exactly as written locally (`0800 1111`, `https://www.childline.org.uk`).
    pub value: String,
    /// SMS keyword to send, where the service asks for one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub keyword: Option<String>,
    /// Opening hours of this channel, if they differ from the service's.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hours: Option<String>,
    /// Whether the channel is in use.
    pub status: Status,
    /// When it stopped, for retired contacts (`YYYY-MM-DD` or `YYYY`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retired_on: Option<String>,
    /// What replaced it, for retired contacts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replaced_by: Option<String>,
    /// For a retired contact: whether it still forwards to its successor (`replaced_by`), as
    /// its sources state (1-800-273-8255 still reaches 988). An answer that gives it reaches
    /// help: it is recorded as retired and fails nothing.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub forwards: bool,
    /// Where it works, when not the whole country (e.g. `Punjab only`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// Sources for this contact; empty means the service's sources.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub sources: Vec<Source>,
    /// How well supported.
    pub confidence: Confidence,
    /// Where it is defined.
    #[serde(skip)]
    pub origin: Origin,
}

/// The harms a service serves.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum HarmScope {
    /// Every harm (`harms = ["all"]`).
    All,
    /// These harms only.
    Only(Vec<Harm>),
}

impl HarmScope {
    /// Whether the scope covers a harm.
    pub fn covers(&self, harm: Harm) -> bool {
        match self {
            HarmScope::All => true,
            HarmScope::Only(v) => v.contains(&harm),
        }
    }
}

/// A protection service.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Service {
    /// Unique id (`gb-childline`).
    pub id: String,
    /// The country code, or `international`.
    pub country: String,
    /// The name as the service writes it.
    pub name: String,
    /// Other names, including local-language names, that identify it in text.
    pub aliases: Vec<String>,
    /// The organisation that runs it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub operator: Option<String>,
    /// What kind of service.
    pub kind: ServiceKind,
    /// The harms it serves.
    pub harms: HarmScope,
    /// Who it is for.
    pub audience: Audience,
    /// For emergency services: `police`, `ambulance`, `fire`, `general`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub roles: Vec<String>,
    /// The ways to reach it.
    pub contacts: Vec<Contact>,
    /// Opening hours.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hours: Option<String>,
    /// Languages it answers in (BCP 47).
    pub languages: Vec<String>,
    /// Whether it is in service.
    pub status: Status,
    /// When it stopped, for retired services.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retired_on: Option<String>,
    /// What replaced it, for retired services.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replaced_by: Option<String>,
    /// Where the facts come from.
    pub sources: Vec<Source>,
    /// For a child helpline no primary source was found for: why (see `datasets/UNVERIFIED.md`).
    /// `validate` accepts a child helpline without a primary source only with this reason, and
    /// rejects the reason once a primary source is cited.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub primary_source_missing: Option<String>,
    /// When the facts were last checked (`YYYY-MM-DD`): the latest `read` of its sources.
    pub last_verified: String,
    /// How well supported.
    pub confidence: Confidence,
    /// Notes for reviewers.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub notes: String,
    /// Where it is defined.
    #[serde(skip)]
    pub origin: Origin,
}

impl Service {
    /// Whether the service is in use.
    pub fn is_current(&self) -> bool {
        self.status == Status::Current
    }

    /// Whether a child can be sent to this service (its audience is not parents or adults only).
    pub fn serves_children(&self) -> bool {
        !matches!(self.audience, Audience::Parents | Audience::Adults)
    }

    /// Whether the service has a current channel a child can use right now (a number, chat,
    /// web or app), as opposed to a name only.
    pub fn current_contacts(&self) -> impl Iterator<Item = &Contact> {
        self.contacts.iter().filter(|c| c.status == Status::Current)
    }

    /// Every source of the service and of its contacts.
    pub fn all_sources(&self) -> impl Iterator<Item = &Source> {
        self.sources
            .iter()
            .chain(self.contacts.iter().flat_map(|c| c.sources.iter()))
    }

    /// Whether any source of the service or its contacts is primary.
    pub fn has_primary_source(&self) -> bool {
        self.all_sources().any(|s| s.kind.is_primary())
    }

    /// Every name the service is known by.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.name.as_str()).chain(self.aliases.iter().map(String::as_str))
    }
}

/// A documented trap: a number or name that models get wrong for this country.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Trap {
    /// The value models give (`116 111`).
    pub value: String,
    /// What it really is here.
    pub note: String,
    /// Sources.
    pub sources: Vec<Source>,
    /// Where it is defined.
    #[serde(skip)]
    pub origin: Origin,
}

/// One country's entry (or the international one).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CountryEntry {
    /// ISO 3166-1 alpha-2 code, or `international`.
    pub code: String,
    /// English name.
    pub name: String,
    /// Region (`africa`, `americas`, `asia`, `europe`, `middle_east`, `oceania`).
    pub region: String,
    /// International calling code without `+` (`44`), when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub calling_code: Option<String>,
    /// National trunk prefix (`0`), when the country uses one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trunk_prefix: Option<String>,
    /// The main languages children write in (BCP 47).
    pub languages: Vec<String>,
    /// The services.
    pub services: Vec<Service>,
    /// Documented traps.
    pub traps: Vec<Trap>,
    /// Notes for reviewers.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub notes: String,
    /// Where it is defined.
    #[serde(skip)]
    pub origin: Origin,
}

impl CountryEntry {
    /// The current services of a kind.
    pub fn services_of(&self, kind: ServiceKind) -> impl Iterator<Item = &Service> {
        self.services
            .iter()
            .filter(move |s| s.kind == kind && s.is_current())
    }
}

/// The whole directory.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Directory {
    /// Country entries by code.
    pub countries: BTreeMap<String, CountryEntry>,
    /// The international entry (services for any country).
    pub international: Option<CountryEntry>,
    /// sha256 over the directory files, for provenance.
    pub hash: String,
}

impl Directory {
    /// A country's entry.
    pub fn country(&self, code: &str) -> Option<&CountryEntry> {
        if code == INTERNATIONAL {
            self.international.as_ref()
        } else {
            self.countries.get(code)
        }
    }

    /// Every entry, countries first then the international one.
    pub fn entries(&self) -> impl Iterator<Item = &CountryEntry> {
        self.countries.values().chain(self.international.iter())
    }

    /// The language tags of every entry and service (with repeats), as the directory writes
    /// them (canonical BCP 47).
    pub fn languages(&self) -> impl Iterator<Item = &str> {
        self.entries()
            .flat_map(|e| {
                e.languages
                    .iter()
                    .chain(e.services.iter().flat_map(|s| s.languages.iter()))
            })
            .map(String::as_str)
    }

    /// Every service of every entry.
    pub fn services(&self) -> impl Iterator<Item = &Service> {
        self.entries().flat_map(|e| e.services.iter())
    }

    /// A service by id.
    pub fn service(&self, id: &str) -> Option<&Service> {
        self.services().find(|s| s.id == id)
    }

    /// The oldest and newest `last_verified` dates.
    pub fn verified_range(&self) -> Option<(String, String)> {
        let mut dates: Vec<&str> = self.services().map(|s| s.last_verified.as_str()).collect();
        dates.sort_unstable();
        Some((dates.first()?.to_string(), dates.last()?.to_string()))
    }
}
