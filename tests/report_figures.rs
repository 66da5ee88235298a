//! The report's figures: every number in report.html is in results.json, the sections are
//! all there, and the statistics behave (pass^k, rule of three, underpowered cells).

mod report_common;

use popbench::report::{self, ReportInput};
use regex::Regex;
use report_common as c;
use serde_json::Value;
use std::collections::{BTreeMap, HashSet};

fn decode_entities(s: &str) -> String {
    let re = Regex::new(r"&(#x[0-9a-fA-F]+|#[0-9]+|amp|lt|gt|quot|apos);").unwrap();
    re.replace_all(s, |caps: &regex::Captures<'_>| {
        let e = &caps[1];
        match e {
            "amp" => "&".to_string(),
            "lt" => "<".to_string(),
            "gt" => ">".to_string(),
            "quot" => "\"".to_string(),
            "apos" => "'".to_string(),
            _ if e.starts_with("#x") => char::from_u32(u32::from_str_radix(&e[2..], 16).unwrap())
                .unwrap()
                .to_string(),
            _ => char::from_u32(e[1..].parse().unwrap()).unwrap().to_string(),
        }
    })
    .into_owned()
}

/// The visible text of the page: no style block, no tags, entities decoded.
fn visible_text(html: &str) -> String {
    let no_style = Regex::new(r"(?s)<style>.*?</style>")
        .unwrap()
        .replace_all(html, " ");
    let no_tags = Regex::new(r"<[^>]*>").unwrap().replace_all(&no_style, " ");
    decode_entities(&no_tags)
}

/// Every way a JSON figure may be printed: numbers at 0–4 decimals, as fractions and as
/// percentages, and every digit run inside JSON strings (ids, dates, hashes, sentences).
fn json_tokens(v: &Value, out: &mut HashSet<String>, digits: &Regex) {
    match v {
        Value::Number(n) => {
            let x = n.as_f64().unwrap();
            for y in [x, x * 100.0] {
                for d in 0..=4 {
                    out.insert(format!("{:.*}", d, y.abs()));
                }
            }
            out.insert(n.to_string());
        }
        Value::String(s) => {
            for m in digits.find_iter(s) {
                out.insert(m.as_str().to_string());
            }
        }
        Value::Array(a) => a.iter().for_each(|x| json_tokens(x, out, digits)),
        Value::Object(o) => o.values().for_each(|x| json_tokens(x, out, digits)),
        _ => {}
    }
}

fn fixture() -> (
    tempfile::TempDir,
    Vec<report::RunData>,
    Vec<popbench::scenario::Scenario>,
    popbench::directory::Directory,
) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = c::directory(tmp.path());
    let scenarios = c::scenarios(12);
    let runs = vec![
        c::run("run-a", "alpha-1.5b", &scenarios, 2, 0.7, 1),
        c::run("run-b", "beta-7b", &scenarios, 2, 0.3, 2),
        c::run("run-c", "gamma-perfect", &scenarios, 2, 1.0, 3),
    ];
    (tmp, runs, scenarios, dir)
}

/// The report of `runs`, with no warnings, no judge and no timestamp.
fn build(
    runs: &[report::RunData],
    scenarios: &[popbench::scenario::Scenario],
    dir: &popbench::directory::Directory,
) -> report::Report {
    let hashes = BTreeMap::new();
    report::build(&ReportInput {
        runs,
        scenarios,
        directory: dir,
        suite_hashes: &hashes,
        warnings: &[],
        generated_at: None,
        scorer_gold: None,
        judges: &[],
    })
}

#[test]
fn every_figure_in_the_html_is_in_results_json() {
    let (tmp, runs, scenarios, dir) = fixture();
    let hashes = BTreeMap::new();
    let input = ReportInput {
        runs: &runs,
        scenarios: &scenarios,
        directory: &dir,
        suite_hashes: &hashes,
        warnings: &[],
        generated_at: Some("2026-12-02T08:30:00Z"),
        scorer_gold: None,
        judges: &[],
    };
    let out = tmp.path().join("out");
    let (_, written) = report::write_all(&input, &out).unwrap();
    let html = std::fs::read_to_string(&written.html).unwrap();
    let json: Value = serde_json::from_slice(&std::fs::read(&written.json).unwrap()).unwrap();

    let number = Regex::new(r"\d+(?:\.\d+)?").unwrap();
    let mut known = HashSet::new();
    json_tokens(&json, &mut known, &number);
    let text = visible_text(&html);
    let mut checked = 0;
    let mut missing = Vec::new();
    for m in number.find_iter(&text) {
        checked += 1;
        if !known.contains(m.as_str()) {
            let from = m.start().saturating_sub(40);
            missing.push(format!(
                "{} in …{}…",
                m.as_str(),
                &text[text.floor_char_boundary(from)
                    ..text.ceil_char_boundary((m.end() + 20).min(text.len()))]
            ));
        }
    }
    assert!(checked > 500, "only {checked} numbers found in the HTML");
    assert!(
        missing.is_empty(),
        "{} figure(s) of report.html not in results.json:\n{}",
        missing.len(),
        missing.join("\n")
    );
}

#[test]
fn report_has_every_section_and_statistic() {
    let (tmp, runs, scenarios, dir) = fixture();
    let hashes = BTreeMap::new();
    let input = ReportInput {
        runs: &runs,
        scenarios: &scenarios,
        directory: &dir,
        suite_hashes: &hashes,
        warnings: &[],
        generated_at: None,
        scorer_gold: None,
        judges: &[],
    };
    let (rep, written) = report::write_all(&input, &tmp.path().join("out")).unwrap();
    let html = std::fs::read_to_string(&written.html).unwrap();
    for id in [
        "headline",
        "audiences",
        "leaderboard",
        "comparisons",
        "breakdowns",
        "countries",
        "exemplars",
        "methodology",
        "coverage",
        "provenance",
        "limitations",
    ] {
        assert!(
            html.contains(&format!("<section id=\"{id}\">")),
            "section {id}"
        );
    }
    for a in [
        "Child helplines",
        "Companies deploying AI",
        "Children and young people",
        "Policy makers",
    ] {
        assert!(html.contains(a), "{a}");
    }
    assert!(html.contains("<svg"), "charts are inline SVG");
    assert!(
        !html.contains("<script") && !html.contains("src=\"http") && !html.contains("href=\"http"),
        "no scripts, no external resources"
    );

    assert_eq!(rep.leaderboard.len(), 3);
    assert_eq!(rep.leaderboard[0].system, "gamma-perfect");
    assert_eq!(
        rep.comparisons.len(),
        3 * popbench::metric::Metric::ALL.len(),
        "every pair, every metric"
    );
    let dims: Vec<&str> = rep
        .breakdowns
        .iter()
        .map(|b| b.dimension.as_str())
        .collect();
    assert_eq!(
        dims,
        ["harm", "risk", "age_band", "language", "country", "context"]
    );
    let codes: Vec<&str> = rep.countries.iter().map(|c| c.code.as_str()).collect();
    assert_eq!(codes, ["FR", "GB", "unknown"]);
    assert!(rep.countries[1]
        .services
        .iter()
        .any(|s| s.contacts.iter().any(|x| x.contains("0800 1111"))));

    // k = 2: pass^k is there, never above the pass rate, and intervals are clustered: the
    // Wilson interval over the effective number of families (12 families of 6 responses).
    for s in &rep.leaderboard {
        let pass = &s.metrics[0];
        let pk = pass.pass_k.as_ref().expect("pass^k when k > 1");
        assert!(pk.estimate.p.unwrap() <= pass.figure.estimate.p.unwrap() + 1e-12);
        assert_eq!(
            pass.figure.estimate.method,
            popbench::stats::Method::WilsonClustered
        );
        assert!((pass.figure.estimate.effective_n - 12.0).abs() < 1e-9);
        assert_eq!(pass.figure.estimate.clusters, 12);
        assert_eq!(pass.figure.estimate.n, 72);
        let e = &pass.figure.estimate;
        assert!(e.lo.unwrap() <= e.p.unwrap() && e.p.unwrap() <= e.hi.unwrap());
    }
    // The perfect model: zero failures get a rule-of-three bound (3 / 12 families).
    let perfect = &rep.leaderboard[0].metrics[0].figure;
    assert_eq!(perfect.rule_of_three, Some(0.25));
    // Small cells are marked underpowered.
    assert!(rep.breakdowns[0]
        .rows
        .iter()
        .all(|r| r.cells.iter().all(|c| c.figure.underpowered)));
    assert!(html.contains("underpowered, MDE"));
    // One stated upper bound per empty cell: the interval's, never a second (rule of three).
    assert!(!html.contains("none bad"));
    // The perfect model beats the weak one on pass rate.
    let c = rep
        .comparisons
        .iter()
        .find(|c| {
            c.a == "gamma-perfect" && c.b == "beta-7b" && c.metric == report::model::Metric::Pass
        })
        .unwrap();
    assert_eq!(c.conclusion, "a_better");
    assert!(c.mcnemar_p < 0.001);
    // Exemplars: the weak model has failures with responses and the child's words.
    let ex = rep
        .exemplars
        .iter()
        .find(|e| e.system == "beta-7b")
        .unwrap();
    assert!(!ex.worst.is_empty() && !ex.best.is_empty());
    assert!(ex
        .worst
        .iter()
        .all(|e| e.child_turn.is_some() && e.response.is_some()));

    // results.csv: one row per verdict, with the response text.
    let csv = std::fs::read_to_string(&written.csv).unwrap();
    let mut reader = csv::Reader::from_reader(csv.as_bytes());
    let col = reader
        .headers()
        .unwrap()
        .iter()
        .position(|h| h == "response")
        .unwrap();
    let rows: Vec<csv::StringRecord> = reader.records().map(|r| r.unwrap()).collect();
    assert_eq!(rows.len(), 3 * 72);
    assert!(rows.iter().all(|r| !r[col].is_empty()));
    // Every figure links to its items, and every item is in the appendix.
    assert_eq!(rep.items.len(), 3 * 72);
    assert!(rep
        .leaderboard
        .iter()
        .all(|s| s.metrics[0].figure.items.is_some()));
    for l in &rep.item_lists {
        assert!(html.contains(&format!("id=\"l{}\"", l.id)));
    }
    for i in &rep.items {
        assert!(html.contains(&format!("id=\"i{}\"", i.id)));
    }
    assert!(html.contains("href=\"#l0\""));
    // report.md holds the same leaderboard.
    let md = std::fs::read_to_string(&written.markdown).unwrap();
    assert!(md.contains("## Leaderboard") && md.contains("gamma-perfect"));
    // The page title names the systems (regression: it read "popbench report" alone); no
    // system here is under 1B parameters or mostly cut, so no floor caveat.
    let title = &html[html.find("<title>").unwrap()..html.find("</title>").unwrap()];
    assert!(
        title.starts_with("<title>popbench report&#58; gamma-perfect, ")
            && title.contains("beta-7b"),
        "{title}"
    );
    assert!(rep.floor.is_empty());
    // "Country not stated" is no country (regression: the headline counted it as one).
    assert_eq!(rep.totals.countries, 2);
    assert!(rep.totals.country_not_stated > 0);
    assert!(
        rep.headline[0].contains("2 countries (and "),
        "{}",
        rep.headline[0]
    );
    // Every help-seeking metric has its column, "Names a service not in the directory"
    // included (regression: it was defined but shown in no table).
    for m in popbench::metric::Metric::ALL {
        if m.population() == popbench::metric::Population::HelpSeeking {
            assert!(
                html.contains(&format!(r#"<th scope="col">{}</th>"#, m.label())),
                "{}",
                m.label()
            );
        }
    }
    // Provenance in both formats gives the token limit (regression: the Markdown's did not).
    assert!(md.contains("max tokens 256") && html.contains("max tokens 256"));
    // "k" means events only: the samples per item are named in words.
    assert!(!html.contains("k = 2") && html.contains("2 samples per item"));
}

/// Answers cut at the token limit and answers with broken text: each warning has its own
/// list, truncation is shown beside every failure reason, a U+FFFD that stands for a
/// character the limit cut is not "garbled", and a small model's figures are called a floor
/// in the title, the headline and every audience block.
#[test]
fn cut_and_garbled_answers_are_counted_apart_with_their_own_lists() {
    let (_tmp, mut runs, scenarios, dir) = fixture();
    runs[1].manifest.model.name = "beta-135m".into();
    let beta = &mut runs[1].responses;
    for (i, r) in beta.iter_mut().enumerate() {
        if i % 3 != 0 {
            r.finish_reason = popbench::types::FinishReason::Length;
            r.response.push('\u{FFFD}');
        }
    }
    beta[1].response.insert(0, '\u{FFFD}');
    let cut_n = beta
        .iter()
        .filter(|r| r.finish_reason == popbench::types::FinishReason::Length)
        .count();
    let rep = build(&runs, &scenarios, &dir);
    let warn = |id: &str| {
        rep.warnings
            .iter()
            .find(|w| w.id == id && w.system.as_deref() == Some("beta-135m"))
            .unwrap_or_else(|| panic!("{id}"))
    };
    let t = warn("truncated");
    let cut_list = &rep.item_lists[t.items.unwrap() as usize];
    assert_eq!(cut_list.with.len(), cut_n);
    assert!(cut_list
        .with
        .iter()
        .all(|&i| rep.items[i as usize].finish_reason.as_deref() == Some("length")));
    // Only the one U+FFFD inside a text is broken text; the others end a cut answer.
    let g = warn("replacement_characters");
    assert!(g.text.contains("1 of 72 responses"), "{}", g.text);
    assert!(
        g.text
            .contains(&format!("{} more end in a character", cut_n - 1)),
        "{}",
        g.text
    );
    assert_eq!(rep.item_lists[g.items.unwrap() as usize].with.len(), 1);
    // The anatomy: cut answers beside every reason, and "truncated" is no reason of its own.
    let a = rep
        .anatomy
        .iter()
        .find(|a| a.system == "beta-135m")
        .unwrap();
    let failed_cut = rep
        .items
        .iter()
        .filter(|i| {
            i.system == "beta-135m"
                && i.primary_reason.is_some()
                && i.finish_reason.as_deref() == Some("length")
        })
        .count() as u64;
    assert!(failed_cut > 0);
    assert_eq!(a.truncated, failed_cut);
    assert_eq!(
        a.segments.iter().map(|s| s.truncated).sum::<u64>(),
        failed_cut
    );
    assert!(a
        .segments
        .iter()
        .all(|s| s.reason != "truncated" && s.truncated <= s.count));
    // The truncation recommendation links to the cut answers, not to the pass rate's list.
    let rec = rep
        .audiences
        .iter()
        .flat_map(|x| &x.findings)
        .find(|f| f.rule == "truncated_warning" && f.system == "beta-135m")
        .unwrap();
    assert_eq!(rec.items, t.items);
    // A 135M model: a floor, said in the title, the headline and every audience block.
    assert_eq!(rep.floor.len(), 1);
    assert_eq!(rep.floor[0].parameters_billions, Some(0.135));
    assert!(rep.headline.contains(&rep.floor[0].text));
    assert!(rep.audiences.iter().all(|x| x.caveat.is_some()));
    let html = popbench::report::html::render(&rep);
    assert!(html
        .contains("(some figures are a floor, not a finding about deployed assistants)</title>"));
}

/// Regression: a rate of 0 or 1 over clustered items had a zero-width bootstrap interval,
/// and the headline read "passes 100.0% (95% CI 100.0–100.0%, n = 72)".
#[test]
fn rates_of_zero_and_one_get_a_clustered_wilson_interval() {
    let (tmp, runs, scenarios, dir) = fixture();
    let hashes = BTreeMap::new();
    let input = ReportInput {
        runs: &runs,
        scenarios: &scenarios,
        directory: &dir,
        suite_hashes: &hashes,
        warnings: &[],
        generated_at: None,
        scorer_gold: None,
        judges: &[],
    };
    let (rep, written) = report::write_all(&input, &tmp.path().join("out")).unwrap();
    let perfect = rep
        .leaderboard
        .iter()
        .find(|s| s.system == "gamma-perfect")
        .unwrap();
    let e = &perfect.metrics[0].figure.estimate;
    assert_eq!((e.p, e.hi), (Some(1.0), Some(1.0)));
    assert!(e.lo.unwrap() < 0.9, "{e:?}");
    let invented = &perfect.metrics[3].figure.estimate;
    assert_eq!(invented.p, Some(0.0));
    assert!(invented.hi.unwrap() > 0.1, "{invented:?}");

    // No printed interval is a single point, where there is a rate at all.
    let point = Regex::new(r"95% CI (\d+\.\d)–(\d+\.\d)%").unwrap();
    for line in rep.headline.iter().chain(
        rep.audiences
            .iter()
            .flat_map(|a| a.findings.iter().map(|f| &f.text)),
    ) {
        for c in point.captures_iter(line) {
            assert_ne!(&c[1], &c[2], "zero-width interval in {line:?}");
        }
    }

    // results.json says which interval each figure uses, and what the ids mean.
    let json: Value = serde_json::from_slice(&std::fs::read(&written.json).unwrap()).unwrap();
    let board = json["leaderboard"].as_array().unwrap();
    let perfect = board
        .iter()
        .find(|s| s["system"] == "gamma-perfect")
        .unwrap();
    assert_eq!(
        perfect["metrics"][0]["figure"]["method"],
        "wilson_clustered"
    );
    assert_eq!(perfect["metrics"][0]["figure"]["hi"], 1.0);
    let methods: Vec<&str> = json["interval_methods"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["method"].as_str().unwrap())
        .collect();
    assert!(methods.contains(&"wilson_clustered") && methods.contains(&"wilson"));
    assert!(rep
        .methodology
        .iter()
        .any(|p| p.contains("wilson_clustered")));

    // The HTML marks such cells and explains the mark in visible text, not on hover.
    let html = std::fs::read_to_string(&written.html).unwrap();
    assert!(html.contains("]†</span>"));
    assert!(visible_text(&html)
        .contains("An interval marked † is a Wilson interval over the effective number"));
    assert!(!html.contains("<abbr"));
}

/// The report's counts agree with a direct count from the verdicts: pass^k (all of an item's
/// first k samples pass) and the paired table of two systems.
#[test]
fn counts_agree_with_a_direct_count() {
    let (_tmp, runs, scenarios, dir) = fixture();
    let rep = build(&runs, &scenarios, &dir);
    let pass_k = |run: &report::RunData| {
        let mut items: BTreeMap<(&str, &str), Vec<(u32, bool)>> = BTreeMap::new();
        for v in &run.verdicts {
            items
                .entry((&v.scenario_id, &v.context))
                .or_default()
                .push((v.sample, v.pass));
        }
        let k = run.manifest.inputs.samples as usize;
        let full: Vec<bool> = items
            .into_values()
            .filter(|s| s.len() >= k)
            .map(|mut s| {
                s.sort();
                s[..k].iter().all(|x| x.1)
            })
            .collect();
        (
            full.iter().filter(|x| **x).count() as u64,
            full.len() as u64,
        )
    };
    let by_label: BTreeMap<&str, &report::RunData> = runs
        .iter()
        .map(|r| (r.manifest.model.name.as_str(), r))
        .collect();
    for s in &rep.leaderboard {
        let run = by_label[s.system.as_str()];
        let pk = s.metrics[0].pass_k.as_ref().unwrap();
        assert_eq!((pk.estimate.k, pk.estimate.n), pass_k(run), "{}", s.system);
        assert_eq!(pk.scenarios, 36);
    }
    for c in rep
        .comparisons
        .iter()
        .filter(|c| c.metric == report::model::Metric::Pass)
    {
        let a: BTreeMap<(&str, &str, u32), bool> = by_label[c.a.as_str()]
            .verdicts
            .iter()
            .map(|v| {
                (
                    (v.scenario_id.as_str(), v.context.as_str(), v.sample),
                    v.pass,
                )
            })
            .collect();
        let mut table = popbench::stats::PairedCounts::default();
        for v in &by_label[c.b.as_str()].verdicts {
            if let Some(&pa) = a.get(&(v.scenario_id.as_str(), v.context.as_str(), v.sample)) {
                table.add(pa, v.pass);
            }
        }
        assert_eq!(c.table, table, "{} vs {}", c.a, c.b);
        assert_eq!(c.pairs, 72);
    }
}

#[test]
fn reports_are_reproducible() {
    let (_tmp, runs, scenarios, dir) = fixture();
    let a = serde_json::to_string(&build(&runs, &scenarios, &dir)).unwrap();
    let b = serde_json::to_string(&build(&runs, &scenarios, &dir)).unwrap();
    assert_eq!(a, b);
}
