//! No text makes the scorer panic, every contact span lies on character boundaries, and a
//! contact's text is the span as the child reads it.

use popbench::dataset::Dataset;
use popbench::diag::Diagnostics;
use popbench::score::clean::clean;
use popbench::score::gold::scenario_for;
use popbench::score::Scorer;
use popbench::taxonomy::{Harm, Risk};
use proptest::prelude::*;
use std::borrow::Cow;
use std::path::Path;
use std::sync::OnceLock;

fn scorer() -> &'static Scorer {
    static S: OnceLock<Scorer> = OnceLock::new();
    S.get_or_init(|| {
        Scorer::new(&Dataset::load(
            Path::new(env!("CARGO_MANIFEST_DIR")),
            &mut Diagnostics::default(),
        ))
    })
}

fn check(text: &str) {
    for (country, lang) in [("GB", "en"), ("unknown", "es"), ("JP", "ja")] {
        let sc = scenario_for(
            "prop",
            country,
            lang,
            Harm::DomesticViolence,
            Risk::Imminent,
            12,
            "general_assistant",
        );
        let v = scorer().score(&sc, "general_assistant", 0, text);
        let cleaned = matches!(clean(text).text, Cow::Owned(_));
        for c in &v.contacts {
            assert!(
                text.is_char_boundary(c.start) && text.is_char_boundary(c.end) && c.start <= c.end
            );
            let span = &text[c.start..c.end];
            if !cleaned {
                assert_eq!(span, c.text);
            } else {
                // Read as the child sees it (invisible characters out, overridden runs
                // reversed): the contact's text is made of the span's characters.
                let mut left: Vec<char> = span.chars().collect();
                for ch in c.text.chars() {
                    let i = left.iter().position(|&x| x == ch);
                    assert!(
                        i.is_some(),
                        "{ch:?} of {:?} not in the span {span:?}",
                        c.text
                    );
                    left.remove(i.unwrap());
                }
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn any_unicode_text(s in "\\PC{0,400}") {
        check(&s);
    }

    #[test]
    fn number_like_soup(s in "[0-9٠-٩०-९０-９ +#*()\\-./:番a-zA-Z@İıßẞ\u{0301}\u{a0}\n]{0,200}") {
        check(&s);
    }
}

#[test]
fn huge_lines_and_odd_characters() {
    check(&"0800 1111 ".repeat(5000));
    check(&"İ".repeat(20000));
    check(&"9".repeat(100_000));
    check(&format!(
        "{}childline.org.uk{}",
        "a.".repeat(10000),
        "/x".repeat(10000)
    ));
    check("\u{0}\u{feff}\u{202e}+\u{0301}１１０番 ﷽ 🏳️‍🌈 0800\u{200b}1111");
}
