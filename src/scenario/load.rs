//! Loading scenario files: TOML wire types with spans, checked into [`Scenario`]s.

use super::{CountryCue, ExpectOverride, Role, Scenario, Turn, UNKNOWN_COUNTRY};
use crate::diag::{parse_toml, read_text, Diagnostics, Origin};
use crate::taxonomy::{Harm, Risk};
use serde::Deserialize;
use std::path::Path;
use toml::Spanned;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WireFile {
    #[serde(default)]
    scenario: Vec<WireScenario>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WireScenario {
    id: Spanned<String>,
    family: Spanned<String>,
    harm: Harm,
    risk: Risk,
    age: Spanned<i64>,
    country: Spanned<String>,
    country_cue: CountryCue,
    language: Spanned<String>,
    context: String,
    turns: Spanned<Vec<Turn>>,
    #[serde(default)]
    expect: Option<Spanned<ExpectOverride>>,
    #[serde(default)]
    tags: Vec<String>,
    #[serde(default)]
    notes: String,
}

/// Whether `s` is a slug: lower-case ASCII letters, digits and dashes, starting with a letter
/// or digit.
pub(crate) fn is_slug(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 100
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
        && s.as_bytes()[0].is_ascii_alphanumeric()
}

/// Whether `s` has the shape of a BCP 47 language tag (language subtag, then optional
/// script/region/variant subtags).
pub(crate) fn is_language_tag(s: &str) -> bool {
    let mut parts = s.split('-');
    let Some(lang) = parts.next() else {
        return false;
    };
    (2..=3).contains(&lang.len())
        && lang.bytes().all(|b| b.is_ascii_lowercase())
        && parts.all(|p| (2..=8).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_alphanumeric()))
}

/// Whether `s` is an upper-case ISO 3166-1 alpha-2 shaped code.
pub(crate) fn is_country_code(s: &str) -> bool {
    s.len() == 2 && s.bytes().all(|b| b.is_ascii_uppercase())
}

/// Loads every scenario of one file. Problems are added to `diags`; scenarios with problems
/// are still returned where they could be read, so later checks can run on them.
pub fn load_file(path: &Path, diags: &mut Diagnostics) -> Vec<Scenario> {
    let Some(text) = read_text(path, diags) else {
        return Vec::new();
    };
    let Some(file) = parse_toml::<WireFile>(path, &text, diags) else {
        return Vec::new();
    };
    if file.scenario.is_empty() {
        diags.push(Origin::new(path, 1), "no [[scenario]] in file");
    }
    let at = |offset: usize| Origin::at_offset(path, &text, offset);
    let mut out = Vec::with_capacity(file.scenario.len());
    for w in file.scenario {
        let origin = at(w.id.span().start);
        let id = w.id.get_ref().clone();
        if !is_slug(&id) {
            diags.push(
                origin.clone(),
                format!("scenario id `{id}` is not a slug (a-z, 0-9, `-`, `_`)"),
            );
        }
        if !is_slug(w.family.get_ref()) {
            diags.push(
                at(w.family.span().start),
                format!("family `{}` is not a slug", w.family.get_ref()),
            );
        }
        let age = *w.age.get_ref();
        if !(5..=25).contains(&age) {
            diags.push(
                at(w.age.span().start),
                format!("age {age} is outside 5..=25"),
            );
        }
        let country = w.country.get_ref().clone();
        if country != UNKNOWN_COUNTRY && !is_country_code(&country) {
            diags.push(
                at(w.country.span().start),
                format!("country `{country}` is not an ISO 3166-1 alpha-2 code in upper case, nor `unknown`"),
            );
        }
        match (country == UNKNOWN_COUNTRY, w.country_cue) {
            (true, cue) if cue != CountryCue::None => diags.push(
                at(w.country.span().start),
                "country is `unknown` but country_cue is not `none`",
            ),
            (false, CountryCue::None) => diags.push(
                at(w.country.span().start),
                format!("country_cue is `none` but country is `{country}`: use `unknown` when the model cannot know it"),
            ),
            _ => {}
        }
        if !is_language_tag(w.language.get_ref()) {
            diags.push(
                at(w.language.span().start),
                format!(
                    "language `{}` is not a BCP 47 tag such as `en`, `pt-BR`, `zh-Hant`",
                    w.language.get_ref()
                ),
            );
        }
        check_turns(&w.turns, &at, diags);
        if let Some(expect) = &w.expect {
            let e = expect.get_ref();
            if e.reason.trim().is_empty() {
                diags.push(
                    at(expect.span().start),
                    "expect override has an empty `reason`",
                );
            }
            if e.child_helpline.is_none()
                && e.emergency.is_none()
                && e.crisis_line.is_none()
                && e.specialised.is_none()
            {
                diags.push(at(expect.span().start), "expect override changes nothing");
            }
        }
        out.push(Scenario {
            id,
            family: w.family.into_inner(),
            harm: w.harm,
            risk: w.risk,
            age: age.clamp(0, u8::MAX as i64) as u8,
            country,
            country_cue: w.country_cue,
            language: w.language.into_inner(),
            context: w.context,
            turns: w.turns.into_inner(),
            expect: w.expect.map(Spanned::into_inner),
            tags: w.tags,
            notes: w.notes,
            origin,
        });
    }
    out
}

fn check_turns(turns: &Spanned<Vec<Turn>>, at: &dyn Fn(usize) -> Origin, diags: &mut Diagnostics) {
    let origin = at(turns.span().start);
    let list = turns.get_ref();
    match list.last() {
        None => diags.push(origin.clone(), "a scenario needs at least one turn"),
        Some(last) if last.role != Role::User => diags.push(
            origin.clone(),
            "the last turn must be the child's (`role = \"user\"`)",
        ),
        _ => {}
    }
    if let Some(first) = list.first() {
        if first.role != Role::User {
            diags.push(
                origin.clone(),
                "the first turn must be the child's (`role = \"user\"`)",
            );
        }
    }
    for (i, pair) in list.windows(2).enumerate() {
        if pair[0].role == pair[1].role {
            diags.push(
                origin.clone(),
                format!(
                    "turns {} and {} have the same role; turns alternate user/assistant",
                    i + 1,
                    i + 2
                ),
            );
        }
    }
    for (i, t) in list.iter().enumerate() {
        if t.content.trim().is_empty() {
            diags.push(origin.clone(), format!("turn {} is empty", i + 1));
        }
    }
}
