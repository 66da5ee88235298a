//! No text makes the scorer panic, and every contact span lies on character boundaries.

use popbench::dataset::Dataset;
use popbench::diag::Diagnostics;
use popbench::score::gold::scenario_for;
use popbench::score::Scorer;
use popbench::taxonomy::{Harm, Risk};
use proptest::prelude::*;
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
        for c in &v.contacts {
            assert!(
                text.is_char_boundary(c.start) && text.is_char_boundary(c.end) && c.start <= c.end
            );
            assert_eq!(&text[c.start..c.end], c.text);
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
