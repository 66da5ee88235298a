//! Golden test: real chat templates (tests/data/templates/*.jinja, sources in SOURCES.md)
//! rendered by popbench's minijinja setup must equal what Jinja2, configured as Hugging Face
//! configures it, renders (tests/data/templates/golden.json, from scripts/golden-templates.py).

use popbench::backend::candle::chat_template::{ChatTemplate, DATE_ENV};
use popbench::types::ChatMessage;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::PathBuf;

#[test]
fn real_templates_render_as_hugging_face_renders_them() {
    // The golden file pins strftime_now to this date.
    std::env::set_var(DATE_ENV, "2024-07-26");
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/templates");
    let golden: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("golden.json")).unwrap()).unwrap();
    let cases = golden["cases"].as_array().unwrap();
    assert!(cases.len() >= 18);
    let mut families = std::collections::BTreeSet::new();
    for c in cases {
        let name = c["template"].as_str().unwrap();
        families.insert(name.to_string());
        let source = std::fs::read_to_string(dir.join(format!("{name}.jinja"))).unwrap();
        let vars: BTreeMap<String, String> = c["vars"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
            .collect();
        let t = ChatTemplate::new(&source, vars).unwrap();
        let messages: Vec<ChatMessage> = serde_json::from_value(c["messages"].clone()).unwrap();
        let agp = c["add_generation_prompt"].as_bool().unwrap();
        let got = t.render(&messages, agp);
        let label = format!(
            "{name} / {} / add_generation_prompt={agp}",
            c["chat"].as_str().unwrap()
        );
        match c["expected"].as_str() {
            Some(want) => assert_eq!(got.as_deref(), Ok(want), "{label}"),
            None => assert!(
                got.is_err(),
                "{label}: Jinja2 raised {:?} but popbench rendered",
                c["error"]
            ),
        }
    }
    assert_eq!(families.len(), 3);
}

#[test]
fn roles_must_alternate_where_the_template_says_so() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/templates");
    let source = std::fs::read_to_string(dir.join("gemma3.jinja")).unwrap();
    let t = ChatTemplate::new(&source, BTreeMap::new()).unwrap();
    let err = t
        .render(
            &[ChatMessage::new("user", "a"), ChatMessage::new("user", "b")],
            true,
        )
        .unwrap_err();
    assert!(err.contains("alternate"), "{err}");
}
