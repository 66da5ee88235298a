//! Choosing what runs: `--only KEY=VALUE[,VALUE…]` filters and `--limit N`, recorded in the
//! manifest so that a resume and a merge plan the same items.
//!
//! Filters on different keys must all hold; the values of one filter are alternatives
//! (`--only harm=sextortion,grooming --only country=BR`: sextortion or grooming, in Brazil).
//! `--only replayed` keeps the items a replay file answers. `--limit N` keeps the first N items
//! of the filtered plan, in plan order (before sharding).

use crate::context::Contexts;
use crate::scenario::{Scenario, Suite};
use crate::taxonomy::{Harm, Risk};
use crate::types::ItemKey;
use serde::{Deserialize, Serialize};

/// What a filter looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FilterKey {
    /// The scenario id.
    Id,
    /// The scenario's family.
    Family,
    /// The harm.
    Harm,
    /// The risk.
    Risk,
    /// The country code.
    Country,
    /// The language tag (or its primary subtag).
    Language,
    /// The item's context.
    Context,
}

impl FilterKey {
    /// Every key, in the order help texts list them.
    pub const ALL: &'static [FilterKey] = &[
        FilterKey::Id,
        FilterKey::Family,
        FilterKey::Harm,
        FilterKey::Risk,
        FilterKey::Country,
        FilterKey::Language,
        FilterKey::Context,
    ];

    /// The key as written on the command line.
    pub fn id(self) -> &'static str {
        match self {
            FilterKey::Id => "id",
            FilterKey::Family => "family",
            FilterKey::Harm => "harm",
            FilterKey::Risk => "risk",
            FilterKey::Country => "country",
            FilterKey::Language => "language",
            FilterKey::Context => "context",
        }
    }

    fn parse(s: &str) -> Option<FilterKey> {
        FilterKey::ALL.iter().copied().find(|k| k.id() == s)
    }
}

/// One `--only` filter: a key and the values it accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Filter {
    /// What it looks at.
    pub key: FilterKey,
    /// The values accepted (any of them).
    pub values: Vec<String>,
}

impl Filter {
    /// Whether an item of a scenario passes the filter.
    pub fn accepts(&self, scenario: &Scenario, key: &ItemKey) -> bool {
        let field = |v: &str| match self.key {
            FilterKey::Id => scenario.id == v,
            FilterKey::Family => scenario.family == v,
            FilterKey::Harm => scenario.harm.id() == v,
            FilterKey::Risk => scenario.risk.id() == v,
            FilterKey::Country => scenario.country.eq_ignore_ascii_case(v),
            FilterKey::Language => {
                scenario.language.eq_ignore_ascii_case(v)
                    || scenario.primary_language().eq_ignore_ascii_case(v)
            }
            FilterKey::Context => key.context == v,
        };
        self.values.iter().any(|v| field(v))
    }
}

impl std::fmt::Display for Filter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}={}", self.key.id(), self.values.join(","))
    }
}

/// Which items of a suite a run covers, as recorded in the manifest.
///
/// ```json
/// "selection": {"only": ["harm=sextortion", "country=BR"], "limit": 20}
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Selection {
    /// `--only` filters as given (normalised: `key=v1,v2`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub only: Vec<String>,
    /// Only the items a replay file answers (`--only replayed`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub replayed: bool,
    /// At most this many items (`--limit`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<usize>,
}

impl Selection {
    /// Whether it selects every item.
    pub fn is_all(&self) -> bool {
        self.only.is_empty() && !self.replayed && self.limit.is_none()
    }

    /// The selection of `--only` arguments and `--limit`, each filter's syntax checked (not
    /// its values: see [`Selection::filters`]).
    pub fn parse(only: &[String], limit: Option<usize>) -> Result<Selection, String> {
        let mut sel = Selection {
            limit,
            ..Selection::default()
        };
        if limit == Some(0) {
            return Err("--limit 0 selects nothing: give a positive number".into());
        }
        for o in only {
            if o.trim() == "replayed" {
                sel.replayed = true;
                continue;
            }
            sel.only.push(parse_filter(o)?.to_string());
        }
        Ok(sel)
    }

    /// The filters, each value checked against the suite and the contexts: an unknown key or
    /// value is refused with the valid ones named.
    pub fn filters(&self, suite: &Suite, contexts: &Contexts) -> Result<Vec<Filter>, String> {
        let mut out = Vec::with_capacity(self.only.len());
        for o in &self.only {
            let f = parse_filter(o)?;
            for v in &f.values {
                check_value(f.key, v, suite, contexts).map_err(|e| format!("--only {o}: {e}"))?;
            }
            out.push(f);
        }
        Ok(out)
    }

    /// The `--only`/`--limit` arguments that give this selection back.
    pub fn to_args(&self) -> Vec<String> {
        let mut a = Vec::new();
        for o in &self.only {
            a.push(format!("--only {o}"));
        }
        if self.replayed {
            a.push("--only replayed".into());
        }
        if let Some(n) = self.limit {
            a.push(format!("--limit {n}"));
        }
        a
    }

    /// The selection in words, for messages (`harm=sextortion, limit 20`; `all items`).
    pub fn describe(&self) -> String {
        if self.is_all() {
            return "all items".into();
        }
        let mut parts = self.only.clone();
        if self.replayed {
            parts.push("replayed".into());
        }
        if let Some(n) = self.limit {
            parts.push(format!("limit {n}"));
        }
        parts.join(", ")
    }

    /// Applies the filters and the limit to a plan (already checked by [`Selection::filters`]).
    pub fn apply(&self, filters: &[Filter], suite: &Suite, plan: Vec<ItemKey>) -> Vec<ItemKey> {
        let mut out: Vec<ItemKey> = plan
            .into_iter()
            .filter(|k| match suite.get(&k.scenario_id) {
                Some(s) => filters.iter().all(|f| f.accepts(s, k)),
                None => false,
            })
            .collect();
        if let Some(n) = self.limit {
            out.truncate(n);
        }
        out
    }
}

fn parse_filter(s: &str) -> Result<Filter, String> {
    let keys = FilterKey::ALL
        .iter()
        .map(|k| k.id())
        .collect::<Vec<_>>()
        .join(", ");
    let Some((k, v)) = s.split_once('=') else {
        return Err(format!(
            "--only `{s}`: expected KEY=VALUE[,VALUE…] (keys: {keys}) or `replayed`"
        ));
    };
    let key = FilterKey::parse(k.trim())
        .ok_or_else(|| format!("--only `{s}`: unknown key `{}` (keys: {keys})", k.trim()))?;
    let values: Vec<String> = v
        .split(',')
        .map(|x| x.trim().to_string())
        .filter(|x| !x.is_empty())
        .collect();
    if values.is_empty() {
        return Err(format!("--only `{s}`: no value after `=`"));
    }
    Ok(Filter { key, values })
}

fn check_value(key: FilterKey, v: &str, suite: &Suite, contexts: &Contexts) -> Result<(), String> {
    let some = |mut known: Vec<String>| {
        known.sort();
        known.dedup();
        let more = known.len().saturating_sub(20);
        let mut list = known.into_iter().take(20).collect::<Vec<_>>().join(", ");
        if more > 0 {
            list.push_str(&format!(" and {more} more"));
        }
        list
    };
    let (ok, valid) = match key {
        FilterKey::Harm => (Harm::from_id(v).is_some(), Harm::id_list()),
        FilterKey::Risk => (Risk::from_id(v).is_some(), Risk::id_list()),
        FilterKey::Context => (contexts.get(v).is_some(), contexts.ids()),
        FilterKey::Id => (
            suite.get(v).is_some(),
            some(suite.scenarios.iter().map(|s| s.id.clone()).collect()),
        ),
        FilterKey::Family => (
            suite.scenarios.iter().any(|s| s.family == v),
            some(suite.scenarios.iter().map(|s| s.family.clone()).collect()),
        ),
        FilterKey::Country => (
            suite
                .scenarios
                .iter()
                .any(|s| s.country.eq_ignore_ascii_case(v)),
            some(suite.scenarios.iter().map(|s| s.country.clone()).collect()),
        ),
        FilterKey::Language => (
            suite.scenarios.iter().any(|s| {
                s.language.eq_ignore_ascii_case(v) || s.primary_language().eq_ignore_ascii_case(v)
            }),
            some(suite.scenarios.iter().map(|s| s.language.clone()).collect()),
        ),
    };
    if ok {
        Ok(())
    } else {
        let what = match key {
            FilterKey::Harm | FilterKey::Risk | FilterKey::Context => "known",
            _ => "in the suite",
        };
        Err(format!("no {} `{v}` ({what}: {valid})", key.id()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_filters_and_refuses_bad_ones_naming_the_keys() {
        let s = Selection::parse(
            &["harm = sextortion, grooming".into(), "replayed".into()],
            Some(3),
        )
        .unwrap();
        assert_eq!(s.only, ["harm=sextortion,grooming"]);
        assert!(s.replayed);
        assert_eq!(s.describe(), "harm=sextortion,grooming, replayed, limit 3");
        let e = Selection::parse(&["colour=red".into()], None).unwrap_err();
        assert!(
            e.contains("unknown key `colour`") && e.contains("harm"),
            "{e}"
        );
        assert!(Selection::parse(&["harm".into()], None).is_err());
        assert!(Selection::parse(&["harm=".into()], None).is_err());
        assert!(Selection::parse(&[], Some(0)).is_err());
        assert!(Selection::parse(&[], None).unwrap().is_all());
    }
}
