//! `popbench validate`: every check of the curated data that can be made without a model.

use crate::dataset::Dataset;
use crate::diag::{Diagnostics, Origin};
use crate::directory::INTERNATIONAL;
use crate::policy::satisfies;
use crate::scenario::{suite, CountryCue, Scenario, Suite, SuiteSpec};
use crate::taxonomy::{Harm, ServiceKind};
use std::path::Path;

/// What `validate` looked at.
#[derive(Debug, Default, Clone)]
pub struct Summary {
    /// Countries in the directory.
    pub countries: usize,
    /// Services in the directory.
    pub services: usize,
    /// Contacts in the directory.
    pub contacts: usize,
    /// Scenarios per suite.
    pub suites: Vec<(String, usize)>,
    /// Contexts defined in contexts.toml (the built-in `none` not counted).
    pub contexts: usize,
    /// Policy rules.
    pub rules: usize,
}

/// Validates the data root: directory, policy, contexts and every suite under `scenarios/`
/// (or only `suites` when given). Returns the problems (sorted) and a summary.
pub fn validate(root: &Path, suites: &[SuiteSpec]) -> (Diagnostics, Summary) {
    let mut diags = Diagnostics::default();
    let data = Dataset::load(root, &mut diags);
    check_directory(&data, &mut diags);
    check_policy(&data, &mut diags);
    // The judge's rubric is curated data like the policy: checked with it.
    let _ = crate::judge::rubric::load_into(&crate::judge::rubric::Rubric::path(root), &mut diags);
    let specs: Vec<SuiteSpec> = if suites.is_empty() {
        Suite::names(root)
            .into_iter()
            .map(SuiteSpec::Named)
            .collect()
    } else {
        suites.to_vec()
    };
    let mut summary = Summary {
        countries: data.directory.countries.len(),
        services: data.directory.services().count(),
        contacts: data.directory.services().map(|s| s.contacts.len()).sum(),
        contexts: data
            .contexts
            .list
            .iter()
            .filter(|c| c.id != crate::context::NONE)
            .count(),
        rules: data.policy.rules.len(),
        suites: Vec::new(),
    };
    let mut all: Vec<Scenario> = Vec::new();
    for spec in &specs {
        let s = Suite::load(spec, root, &mut diags);
        summary.suites.push((s.name.clone(), s.scenarios.len()));
        check_suite(&s, &data, &mut diags);
        all.extend(s.scenarios);
    }
    // Ids are unique within each suite (checked on load) and across suites.
    let mut across = Diagnostics::default();
    suite::check_unique(&all, &mut across);
    for d in across.0 {
        if !diags.0.contains(&d) {
            diags.0.push(d);
        }
    }
    diags.sort();
    (diags, summary)
}

/// The checks of a loaded suite against the curated data (contexts, countries, the policy):
/// what `validate --suite` applies beyond loading, and what `run --suite` applies too, so that
/// a scenario `validate` refuses never runs.
pub fn check_suite(suite: &Suite, data: &Dataset, diags: &mut Diagnostics) {
    for sc in &suite.scenarios {
        check_scenario(sc, data, diags);
    }
}

fn check_directory(data: &Dataset, diags: &mut Diagnostics) {
    // The list of states coverage is measured against loads and cites its source.
    let _ = crate::directory::world::World::load(&data.root, diags);
    // The source rules (primary source for child helplines, last_verified = latest read,
    // no high confidence on code alone, no site roots or date archives…).
    crate::directory::check::check(&data.directory, &crate::directory::check::today(), diags);
    // A country without a child helpline in the directory still has its emergency numbers
    // (`directory check --coverage` says what is missing); a scenario set there is refused
    // below.
    for entry in data.directory.countries.values() {
        if entry.services_of(ServiceKind::Emergency).next().is_none() {
            diags.push(
                entry.origin.clone(),
                format!("country `{}` has no current emergency service", entry.code),
            );
        }
    }
    if data.directory.international.is_none() {
        diags.push(
            Origin::new(Dataset::directory_dir(&data.root).join("international.toml"), 0),
            "no international.toml: scenarios with an unknown country have nothing to be referred to",
        );
    }
}

fn check_policy(data: &Dataset, diags: &mut Diagnostics) {
    for rule in &data.policy.rules {
        for &kind in rule
            .require
            .iter()
            .chain(&rule.require_one_of)
            .chain(&rule.recommend)
        {
            for &harm in Harm::ALL {
                if !rule.harms.covers(harm) {
                    continue;
                }
                let any = data.directory.services().any(|s| satisfies(s, kind, harm));
                if !any {
                    diags.push(
                        rule.origin.clone(),
                        format!("no directory has a current `{kind}` service for children that serves `{harm}`: this rule cannot be satisfied"),
                    );
                }
            }
        }
    }
}

fn check_scenario(sc: &Scenario, data: &Dataset, diags: &mut Diagnostics) {
    let o = &sc.origin;
    match data.contexts.get(&sc.context) {
        None => diags.push(
            o.clone(),
            format!(
                "scenario `{}`: unknown context `{}` (known: {})",
                sc.id,
                sc.context,
                data.contexts.ids()
            ),
        ),
        Some(ctx) => {
            if ctx.states_country && !sc.country_known() {
                diags.push(o.clone(), format!("scenario `{}`: context `{}` states the user's country but the country is unknown", sc.id, ctx.id));
            }
            if sc.country_cue == CountryCue::Context && !ctx.states_country {
                diags.push(o.clone(), format!("scenario `{}`: country_cue is `context` but context `{}` does not state the country", sc.id, ctx.id));
            }
        }
    }
    if sc.country_known() {
        match data.directory.countries.get(&sc.country) {
            None if sc.country == INTERNATIONAL => {}
            None => diags.push(
                o.clone(),
                format!(
                    "scenario `{}`: country `{}` is not in the directory",
                    sc.id, sc.country
                ),
            ),
            Some(entry) => {
                if entry
                    .services_of(ServiceKind::ChildHelpline)
                    .next()
                    .is_none()
                {
                    diags.push(
                        o.clone(),
                        format!(
                            "scenario `{}`: country `{}` has no current child helpline",
                            sc.id, sc.country
                        ),
                    );
                }
            }
        }
    }
    let expected = data.policy.expected(sc, &data.directory);
    for r in &expected.required {
        // A child helpline required alone must exist; where a crisis line can stand in for it
        // (`require_one_of`), one of the group is enough.
        if r.kind == ServiceKind::ChildHelpline && !expected.group_available(r.kind) {
            diags.push(o.clone(), format!("scenario `{}`: the policy requires a child helpline that serves `{}`, and `{}` has none", sc.id, sc.harm, sc.country));
        }
    }
}
