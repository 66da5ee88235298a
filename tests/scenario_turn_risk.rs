//! The shipped multi-turn suite and its per-turn risks, read through the public API: the suite
//! loads clean, every conversation's risk at its last child turn is the scenario risk, and the
//! suite covers what issue 16 asks of it (60 conversations, 10 languages, every push-back kind).

use popbench::scenario::{Role, Suite, SuiteSpec};
use popbench::taxonomy::Risk;
use popbench::Diagnostics;
use std::collections::BTreeSet;
use std::path::PathBuf;

fn multiturn() -> Suite {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let mut diags = Diagnostics::default();
    let suite = Suite::load(&SuiteSpec::Named("multiturn".into()), &root, &mut diags);
    assert!(diags.is_empty(), "{:?}", diags.0);
    suite
}

#[test]
fn the_last_child_turn_has_the_scenario_risk() {
    for s in &multiturn().scenarios {
        let last = s.turns.len() - 1;
        assert_eq!(s.turns[last].role, Role::User, "{}", s.id);
        assert_eq!(s.risk_at(last), s.risk, "{}", s.id);
        let risks = s.user_turn_risks();
        assert_eq!(risks.last().map(|r| r.1), Some(s.risk), "{}", s.id);
        if s.has_turn_risks() {
            assert!(
                s.turns[0].risk.is_some(),
                "{}: first turn states no risk",
                s.id
            );
            assert!(
                risks.windows(2).any(|w| w[0].1 != w[1].1),
                "{}: turn risks never change",
                s.id
            );
        } else {
            assert!(risks.iter().all(|r| r.1 == s.risk), "{}", s.id);
        }
        for (i, t) in s.turns.iter().enumerate() {
            if t.role == Role::Assistant {
                assert!(
                    t.risk.is_none(),
                    "{}: assistant turn {i} states a risk",
                    s.id
                );
                assert_eq!(s.risk_at(i), s.risk_at(i - 1), "{}", s.id);
            }
        }
    }
}

#[test]
fn a_cant_call_conversation_becomes_imminent_at_its_second_child_turn() {
    let suite = multiturn();
    let s = suite.get("mt-dv-cant-call-gb-en").expect("scenario");
    assert_eq!(s.risk_at(0), Risk::Moderate);
    assert_eq!(s.risk_at(1), Risk::Moderate);
    assert_eq!(s.first_turn_at(Risk::Imminent), Some(2));
    assert_eq!(s.risk_at(4), Risk::Imminent);
}

#[test]
fn the_suite_covers_sixty_conversations_ten_languages_and_every_pushback() {
    let suite = multiturn();
    assert!(suite.scenarios.len() >= 60, "{}", suite.scenarios.len());
    let langs: BTreeSet<String> = suite
        .scenarios
        .iter()
        .map(|s| s.primary_language())
        .collect();
    assert!(langs.len() >= 10, "{langs:?}");
    let changing = suite
        .scenarios
        .iter()
        .filter(|s| s.has_turn_risks())
        .count();
    assert!(
        changing >= 40,
        "only {changing} conversations state turn risks"
    );
    for kind in [
        "cannot-speak",
        "fear-of-police",
        "protects-abuser",
        "no-credit",
        "monitored-phone",
    ] {
        let with: Vec<&str> = suite
            .scenarios
            .iter()
            .filter(|s| s.tags.iter().any(|t| t == kind))
            .map(|s| s.id.as_str())
            .collect();
        assert!(with.len() >= 5, "push-back `{kind}`: only {with:?}");
        assert!(
            suite
                .scenarios
                .iter()
                .filter(|s| s.tags.iter().any(|t| t == kind))
                .all(|s| s.is_multiturn() && s.tags.iter().any(|t| t == "pushback")),
            "`{kind}` scenarios must be multi-turn push-back"
        );
    }
}

#[test]
fn every_child_turn_has_a_derivable_referral_at_its_risk() {
    use popbench::dataset::Dataset;
    use popbench::taxonomy::ServiceKind;
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let data = Dataset::load_strict(&root).expect("shipped data loads");
    let mut problems = Vec::new();
    for s in &multiturn().scenarios {
        for (i, risk) in s.user_turn_risks() {
            let view = s.at_turn(i);
            assert_eq!(view.risk, risk);
            assert_eq!(view.turns.len(), i + 1);
            let expected = data.policy.expected(&view, &data.directory);
            for r in &expected.required {
                let ok = match r.kind {
                    ServiceKind::ChildHelpline => expected.group_available(r.kind),
                    ServiceKind::Emergency => r.available || !s.country_known(),
                    _ => true,
                };
                if !ok {
                    problems.push(format!("{} turn {}: {:?} unavailable", s.id, i + 1, r.kind));
                }
            }
            if risk == Risk::Imminent {
                assert!(
                    expected.required(ServiceKind::Emergency).is_some(),
                    "{}",
                    s.id
                );
            }
        }
    }
    assert!(problems.is_empty(), "{problems:#?}");
}
