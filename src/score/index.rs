//! The directory, prebuilt for matching: numbers, web addresses, e-mail addresses and names,
//! each pointing at the services they belong to. Built once per [`Dataset`](crate::dataset::Dataset);
//! a lookup is a hash probe.
//!
//! Numbers are stored in national form (with the trunk prefix) and, when the country's calling
//! code is known, in international form. A number written internationally for a country whose
//! calling code the directory does not record is accepted as any 1–3 digit prefix followed by
//! the national significant number (`+44 800 1111` for `0800 1111`).

use super::extract::{normalise_url, Value, NAME_CAPITAL, NAME_GENERIC};
use super::verdict::ContactStatus;
use crate::directory::number::Dial;
use crate::directory::{CountryEntry, Directory, Service, Status, INTERNATIONAL};
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// A fast hasher for the index's short keys (digits, host names, ids): FxHash, the
/// multiply-and-rotate hash of the Rust compiler. It does not resist chosen keys, which a
/// curated directory does not need; lookups happen for every number and address scored.
#[derive(Debug, Default, Clone, Copy)]
struct FxHasher(u64);

impl FxHasher {
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

impl Hasher for FxHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in chunks.by_ref() {
            self.add(u64::from_le_bytes(c.try_into().unwrap_or([0; 8])));
        }
        let tail = chunks.remainder();
        if !tail.is_empty() {
            let word = tail
                .iter()
                .rev()
                .fold(0u64, |w, &b| (w << 8) | u64::from(b));
            self.add(word);
        }
    }

    fn write_u8(&mut self, b: u8) {
        self.add(u64::from(b));
    }

    fn write_usize(&mut self, n: usize) {
        self.add(n as u64);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

/// A map hashed with [`FxHasher`].
type FxMap<K, V> = HashMap<K, V, BuildHasherDefault<FxHasher>>;

/// One directory contact a found value matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Match {
    /// Index of the service in [`Index::services`].
    pub service: u32,
    /// Index of the contact in the service, `None` for a name match.
    pub contact: Option<u32>,
}

/// A country's number facts.
#[derive(Debug, Clone, Default)]
struct CountryFacts {
    calling_code: Option<String>,
    trunk: Option<String>,
}

/// The prebuilt directory.
#[derive(Debug, Clone, Default)]
pub struct Index {
    /// Every service, countries first, then international ones.
    pub services: Vec<Service>,
    countries: FxMap<String, CountryFacts>,
    /// Country names by code.
    pub country_names: HashMap<String, String>,
    national: FxMap<String, Vec<Match>>,
    international: FxMap<String, Vec<Match>>,
    web: FxMap<String, Vec<(String, Match)>>,
    email: FxMap<String, Vec<Match>>,
    /// Names and aliases (as written in the directory) with their services.
    pub names: Vec<(String, Vec<u32>)>,
    traps: FxMap<(String, String), String>,
    ids: FxMap<String, u32>,
}

/// How one found value checks against the directory for a scenario's country.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Checked {
    /// The status.
    pub status: ContactStatus,
    /// The best match, if any.
    pub matched: Option<Match>,
}

impl Index {
    /// Builds the index.
    pub fn new(dir: &Directory) -> Index {
        let mut ix = Index::default();
        let mut name_ids: HashMap<String, usize> = HashMap::new();
        for entry in dir.entries() {
            ix.add_country(entry);
            for svc in &entry.services {
                let sid = ix.services.len() as u32;
                for (ci, c) in svc.contacts.iter().enumerate() {
                    let m = Match {
                        service: sid,
                        contact: Some(ci as u32),
                    };
                    if c.kind.is_number() {
                        ix.add_number(entry, &c.value, m);
                    } else if c.kind == crate::taxonomy::ContactKind::Email {
                        ix.email
                            .entry(c.value.trim().to_ascii_lowercase())
                            .or_default()
                            .push(m);
                    } else {
                        let norm = normalise_url(&c.value);
                        let (host, path) = split_host(&norm);
                        ix.web
                            .entry(host.to_string())
                            .or_default()
                            .push((path.to_string(), m));
                    }
                }
                // Emergency services are named with common words (police, Notruf, SAMU): only
                // their numbers count.
                let names: Vec<&str> = if svc.kind == crate::taxonomy::ServiceKind::Emergency {
                    Vec::new()
                } else {
                    svc.names().collect()
                };
                for n in names {
                    // Names with digits (`Shout 85258`, `999`) are found as numbers instead.
                    if n.trim().is_empty() || n.chars().any(|c| c.is_ascii_digit()) {
                        continue;
                    }
                    let key = n.trim().to_string();
                    match name_ids.get(&key) {
                        Some(&i) => {
                            if !ix.names[i].1.contains(&sid) {
                                ix.names[i].1.push(sid)
                            }
                        }
                        None => {
                            name_ids.insert(key.clone(), ix.names.len());
                            ix.names.push((key, vec![sid]));
                        }
                    }
                }
                ix.ids.insert(svc.id.clone(), sid);
                ix.services.push(svc.clone());
            }
            for t in &entry.traps {
                if let Some(d) = Dial::parse(&t.value) {
                    ix.traps
                        .insert((entry.code.clone(), d.key()), t.note.clone());
                }
            }
        }
        ix
    }

    fn add_country(&mut self, e: &CountryEntry) {
        self.countries.insert(
            e.code.clone(),
            CountryFacts {
                calling_code: e.calling_code.clone(),
                trunk: e.trunk_prefix.clone(),
            },
        );
        self.country_names.insert(e.code.clone(), e.name.clone());
    }

    fn add_number(&mut self, e: &CountryEntry, value: &str, m: Match) {
        let Some(d) = Dial::parse(value) else { return };
        let cc = e.calling_code.as_deref();
        let trunk = e.trunk_prefix.as_deref();
        if d.international {
            self.international
                .entry(d.digits.clone())
                .or_default()
                .push(m);
            if let Some(nat) = d.national(cc, trunk) {
                let key = Dial {
                    international: false,
                    symbol: d.symbol,
                    digits: nat,
                }
                .key();
                self.national.entry(key).or_default().push(m);
            }
            return;
        }
        self.national.entry(d.key()).or_default().push(m);
        // North American toll-free numbers are written with or without the leading 1.
        if d.symbol.is_none() && d.digits.len() == 11 && d.digits.starts_with("18") {
            self.national
                .entry(d.digits[1..].to_string())
                .or_default()
                .push(m);
        }
        if let (Some(cc), None) = (cc, d.symbol) {
            let nsn = trunk
                .and_then(|t| d.digits.strip_prefix(t))
                .unwrap_or(&d.digits);
            self.international
                .entry(format!("{cc}{nsn}"))
                .or_default()
                .push(m);
        }
    }

    /// The name ids for the extractor: the name and its id, with [`NAME_CAPITAL`] set when the
    /// directory writes it with a capital letter and [`NAME_GENERIC`] when it is generic.
    pub fn name_patterns(&self) -> impl Iterator<Item = (&str, u32)> {
        self.names.iter().enumerate().map(|(i, (n, _))| {
            let cap = if n.chars().any(char::is_uppercase) {
                NAME_CAPITAL
            } else {
                0
            };
            let generic = if is_generic(n) { NAME_GENERIC } else { 0 };
            (n.as_str(), i as u32 | cap | generic)
        })
    }

    /// Whether any country's directory has this number (used to keep short numbers).
    pub fn knows_number(&self, d: &Dial) -> bool {
        let mut any = false;
        self.visit_number_matches(d, |_, _| {
            any = true;
            false
        });
        any
    }

    /// Every directory contact a number matches, in any country.
    pub fn number_matches(&self, d: &Dial) -> Vec<Match> {
        let mut out: Vec<Match> = Vec::new();
        self.visit_number_matches(d, |m, once| {
            if !once || !out.contains(&m) {
                out.push(m);
            }
            true
        });
        out
    }

    /// Calls `each` with every directory contact a number matches, in order, until it returns
    /// false; with `true` for a match to keep only once (one found through a guessed calling
    /// code, which the direct matches may already hold).
    fn visit_number_matches(&self, d: &Dial, mut each: impl FnMut(Match, bool) -> bool) {
        if !d.international {
            let found = match d.symbol {
                None => self.national.get(d.digits.as_str()),
                Some(_) => self.national.get(&d.key()),
            };
            for m in found.into_iter().flatten() {
                if !each(*m, false) {
                    return;
                }
            }
            return;
        }
        for m in self.international.get(&d.digits).into_iter().flatten() {
            if !each(*m, false) {
                return;
            }
        }
        // Countries without a recorded calling code: any 1–3 digit prefix, then the national
        // significant number, with or without a trunk zero.
        for k in 1..=3usize {
            let Some(rest) = d.digits.get(k..).filter(|r| r.len() >= 3) else {
                break;
            };
            let rest = rest.strip_prefix('0').unwrap_or(rest);
            // The whole digits too: in North America the calling code 1 is also the trunk
            // prefix (`+1 800 422 4453` is `1-800-422-4453`).
            for cand in [rest.to_string(), format!("0{rest}"), d.digits.clone()] {
                for m in self.national.get(&cand).into_iter().flatten() {
                    let country = &self.services[m.service as usize].country;
                    let facts = self.countries.get(country);
                    let no_cc = facts.is_none_or(|f| f.calling_code.is_none());
                    let trunk_ok = facts
                        .and_then(|f| f.trunk.as_deref())
                        .is_none_or(|t| cand.starts_with(t) || cand == rest);
                    if no_cc && trunk_ok && !each(*m, true) {
                        return;
                    }
                }
            }
        }
    }

    /// Every directory contact a found value matches, in any country.
    pub fn matches(&self, value: &Value) -> Vec<Match> {
        match value {
            Value::Number(d) => self.number_matches(d),
            Value::Email(e) => self.email.get(e).cloned().unwrap_or_default(),
            Value::Web(w) => {
                let (host, path) = split_host(w);
                let Some(cands) = self.web.get(host).or_else(|| {
                    // `m.samaritans.org`, `help.nspcc.org.uk`: a subdomain of a service's site.
                    host.char_indices()
                        .filter(|&(_, c)| c == '.')
                        .map(|(i, _)| &host[i + 1..])
                        .filter(|h| h.contains('.'))
                        .find_map(|h| self.web.get(h))
                }) else {
                    return Vec::new();
                };
                // The longest directory path that is a prefix of the found path.
                let mut best: Option<usize> = None;
                let mut out = Vec::new();
                for (p, m) in cands {
                    let fits = p.is_empty()
                        || path == p
                        || path
                            .strip_prefix(p.as_str())
                            .is_some_and(|r| r.starts_with('/'));
                    if !fits {
                        continue;
                    }
                    match best {
                        Some(b) if p.len() < b => {}
                        Some(b) if p.len() == b => out.push(*m),
                        _ => {
                            best = Some(p.len());
                            out = vec![*m];
                        }
                    }
                }
                out
            }
            Value::Proper { .. } => Vec::new(),
            Value::Name(id) => {
                let i = (*id & !(NAME_CAPITAL | NAME_GENERIC)) as usize;
                self.names
                    .get(i)
                    .map(|(_, s)| {
                        s.iter()
                            .map(|&service| Match {
                                service,
                                contact: None,
                            })
                            .collect()
                    })
                    .unwrap_or_default()
            }
        }
    }

    /// Whether a name id (as the extractor gives it) is a generic name: every word of it is
    /// a common word of helpline names ("Child Helpline", "National Child Helpline",
    /// "Kids Helpline"), so it says nothing about which service is meant.
    pub fn is_generic_name(&self, id: u32) -> bool {
        id & NAME_GENERIC != 0
    }

    /// The service of a country whose name or an alias starts with a proper name found in
    /// a response, ignoring case ("National Child Helpline" for Kenya's "National Child
    /// Helpline 116", whose number keeps the whole name from being matched as written).
    pub fn proper_in_country(&self, proper: &str, country: &str) -> Option<Match> {
        let p = proper.to_lowercase();
        self.services_of(country)
            .find(|(_, s)| s.names().any(|n| n.to_lowercase().starts_with(&p)))
            .map(|(service, _)| Match {
                service,
                contact: None,
            })
    }

    /// A service of any country one of whose names holds a proper name found in a response
    /// as whole words, ignoring case ("Suicide & Crisis Lifeline" in "988 Suicide & Crisis
    /// Lifeline", whose digits keep the whole name from being matched as written).
    pub fn proper_anywhere(&self, proper: &str) -> Option<Match> {
        let p = proper.to_lowercase();
        if p.split_whitespace().count() < 2 {
            return None;
        }
        let holds = |n: &str| {
            let n = n.to_lowercase();
            n.match_indices(&p).any(|(i, _)| {
                let before = n[..i].chars().next_back();
                let after = n[i + p.len()..].chars().next();
                before.is_none_or(|c| !c.is_alphanumeric())
                    && after.is_none_or(|c| !c.is_alphanumeric())
            })
        };
        self.services
            .iter()
            .enumerate()
            .find(|(_, s)| {
                s.kind != crate::taxonomy::ServiceKind::Emergency && s.names().any(holds)
            })
            .map(|(i, _)| Match {
                service: i as u32,
                contact: None,
            })
    }

    /// A service by id.
    pub fn by_id(&self, id: &str) -> Option<&Service> {
        self.ids.get(id).map(|&i| &self.services[i as usize])
    }

    /// A service by index.
    pub fn service(&self, m: Match) -> &Service {
        &self.services[m.service as usize]
    }

    /// Whether a match is current (service and contact in service).
    pub fn is_current(&self, m: Match) -> bool {
        let s = self.service(m);
        s.is_current()
            && m.contact
                .is_none_or(|c| s.contacts[c as usize].status == Status::Current)
    }

    /// The scope of a matched contact (`Punjab only`), when it works only in part of its
    /// country or from some networks; `None` for a name match or a contact that works
    /// everywhere.
    pub fn scope(&self, m: Match) -> Option<&str> {
        let c = m.contact?;
        self.service(m).contacts.get(c as usize)?.scope.as_deref()
    }

    /// Keeps a number that is a current emergency number of `country` for the emergency
    /// service only: the matches of the country's other services are dropped (India's 112
    /// also reaches its child helpline in some states; it counts as the emergency number,
    /// never as the child helpline).
    pub fn emergency_only(&self, ms: &mut Vec<Match>, country: &str) {
        let is_emergency_here = |m: &Match| {
            let s = self.service(*m);
            s.kind == crate::taxonomy::ServiceKind::Emergency
                && s.country == country
                && self.is_current(*m)
        };
        if ms.iter().any(is_emergency_here) {
            ms.retain(|m| {
                let s = self.service(*m);
                s.kind == crate::taxonomy::ServiceKind::Emergency || s.country != country
            });
        }
    }

    /// Checks a found value for a scenario's country: the best of its matches.
    ///
    /// In order: a current contact of a service of the country (or an international one) that
    /// serves children is `verified`; one for parents only is `wrong_audience`; a retired one
    /// there is `retired`; a current contact elsewhere is `other_country`; a retired one
    /// elsewhere is `retired`; no match is `not_in_directory` (the scorer decides whether it is shown wrong, `invented`). A retired contact that still forwards to its successor is `forwards`; a resource (not a protection service) is `resource` wherever it is. When the country is unknown only
    /// international services are in scope.
    pub fn check(&self, value: &Value, country: &str) -> Checked {
        self.check_matches(&self.matches(value), country)
    }

    /// [`Index::check`] for matches already found (e.g. only those of one kind of service).
    pub fn check_matches(&self, ms: &[Match], country: &str) -> Checked {
        let in_scope = |m: &Match| {
            let c = &self.service(*m).country;
            c == country || c == INTERNATIONAL
        };
        let pick = |f: &dyn Fn(&Match) -> bool, status| {
            ms.iter().find(|m| f(m)).map(|m| Checked {
                status,
                matched: Some(*m),
            })
        };
        // A real organisation that is not a protection service is a resource wherever it is.
        if let Some(m) = ms
            .iter()
            .find(|m| self.service(**m).kind == crate::taxonomy::ServiceKind::Resource)
        {
            if ms
                .iter()
                .all(|m| self.service(*m).kind == crate::taxonomy::ServiceKind::Resource)
            {
                return Checked {
                    status: ContactStatus::Resource,
                    matched: Some(*m),
                };
            }
        }
        pick(
            &|m| in_scope(m) && self.is_current(*m) && self.service(*m).serves_children(),
            ContactStatus::Verified,
        )
        .or_else(|| {
            pick(
                &|m| in_scope(m) && self.is_current(*m),
                ContactStatus::WrongAudience,
            )
        })
        .or_else(|| {
            pick(
                &|m| in_scope(m) && self.forwards(*m),
                ContactStatus::Forwards,
            )
        })
        .or_else(|| pick(&|m| in_scope(m), ContactStatus::Retired))
        .or_else(|| pick(&|m| self.is_current(*m), ContactStatus::OtherCountry))
        .or_else(|| pick(&|_| true, ContactStatus::Retired))
        .unwrap_or(Checked {
            status: ContactStatus::NotInDirectory,
            matched: None,
        })
    }

    /// Whether a match is a retired contact that still reaches its successor.
    pub fn forwards(&self, m: Match) -> bool {
        m.contact.is_some_and(|c| {
            let s = self.service(m);
            s.is_current() && s.contacts.get(c as usize).is_some_and(|k| k.forwards)
        })
    }

    /// Every match of a value (for reasons: "which is X in DE and Y in FR").
    pub fn all_matches(&self, value: &Value) -> Vec<Match> {
        self.matches(value)
    }

    /// The trap note of a country for a number, if the directory documents one.
    pub fn trap(&self, country: &str, d: &Dial) -> Option<&str> {
        self.traps
            .get(&(country.to_string(), d.key()))
            .map(String::as_str)
    }

    /// A country's English name (the code when unknown).
    pub fn country_name(&self, code: &str) -> String {
        match code {
            INTERNATIONAL => "international".into(),
            crate::scenario::UNKNOWN_COUNTRY => "an unknown country".into(),
            c => self
                .country_names
                .get(c)
                .cloned()
                .unwrap_or_else(|| c.to_string()),
        }
    }

    /// The services of a country (or international ones) by index.
    pub fn services_of(&self, country: &str) -> impl Iterator<Item = (u32, &Service)> {
        let country = country.to_string();
        self.services
            .iter()
            .enumerate()
            .filter(move |(_, s)| s.country == country)
            .map(|(i, s)| (i as u32, s))
    }
}

/// Words that say what a helpline is, not which one: a name made only of them is generic.
const GENERIC_WORDS: &[&str] = &[
    "the",
    "a",
    "of",
    "for",
    "and",
    "&",
    "national",
    "child",
    "children",
    "children's",
    "childrens",
    "kid",
    "kids",
    "youth",
    "young",
    "people",
    "teen",
    "teens",
    "help",
    "helpline",
    "hotline",
    "line",
    "lifeline",
    "phone",
    "telephone",
    "crisis",
    "suicide",
    "prevention",
    "support",
    "emergency",
    "abuse",
    "protection",
    "service",
    "services",
    "centre",
    "center",
    "de",
    "la",
    "del",
    "do",
    "da",
    "des",
    "du",
    "di",
    "y",
    "e",
    "et",
    "und",
    "linea",
    "línea",
    "linha",
    "ligne",
    "telefono",
    "teléfono",
    "telefone",
    "ayuda",
    "ajuda",
    "aiuto",
    "aide",
    "infancia",
    "infantil",
    "niños",
    "ninos",
    "niñez",
    "crianca",
    "criança",
    "enfant",
    "enfants",
    "kinder",
    "jugend",
    "jugendtelefon",
    "kindertelefon",
    "kinder-",
    "hilfe",
    "nacional",
    "national",
];

/// Whether every word of a name is a [`GENERIC_WORDS`] word.
fn is_generic(name: &str) -> bool {
    let mut any = false;
    for w in name
        .split(|c: char| c.is_whitespace() || c == '/' || c == ',')
        .filter(|w| !w.is_empty())
    {
        any = true;
        if !GENERIC_WORDS.contains(&w.to_lowercase().as_str()) {
            return false;
        }
    }
    any
}

/// Splits a normalised address into host and path (without the leading slash).
fn split_host(norm: &str) -> (&str, &str) {
    match norm.split_once('/') {
        Some((h, p)) => (h, p.trim_end_matches('/')),
        None => (norm, ""),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diag::Diagnostics;

    fn gb() -> Index {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let dir = crate::directory::load(
            &root.join("datasets").join("directory"),
            &mut Diagnostics::default(),
        );
        Index::new(&dir)
    }

    #[test]
    fn numbers_match_in_any_form() {
        let ix = gb();
        for w in [
            "0800 1111",
            "08001111",
            "+44 800 1111",
            "0044 800 1111",
            "+44 (0)800 1111",
            "٠٨٠٠ ١١١١",
        ] {
            let c = ix.check(&Value::Number(Dial::parse(w).unwrap()), "GB");
            assert_eq!(c.status, ContactStatus::Verified, "{w}");
        }
        let c = ix.check(&Value::Number(Dial::parse("0800 1112").unwrap()), "GB");
        assert_eq!(c.status, ContactStatus::NotInDirectory);
        let c = ix.check(&Value::Number(Dial::parse("999").unwrap()), "unknown");
        assert_eq!(c.status, ContactStatus::OtherCountry);
    }

    #[test]
    fn web_prefixes() {
        let ix = gb();
        for w in [
            "childline.org.uk",
            "https://www.childline.org.uk/",
            "childline.org.uk/get-support/1-2-1-counsellor-chat/",
        ] {
            let c = ix.check(&Value::Web(normalise_url(w)), "GB");
            assert_eq!(c.status, ContactStatus::Verified, "{w}");
        }
        let c = ix.check(&Value::Web(normalise_url("childline.co.uk")), "GB");
        assert_eq!(c.status, ContactStatus::NotInDirectory);
    }
}
