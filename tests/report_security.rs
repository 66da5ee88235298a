//! Hostile model outputs, scenario text and directory strings must never become markup.
//! The report of a run full of payloads is checked statically (no raw `<script`, no `on…=`
//! attribute, no `javascript:`, only the tags the renderer writes) and in headless Chromium
//! (no script runs, the layout holds). The browser test fails when Chromium is missing,
//! unless POPBENCH_SKIP_BROWSER=1.

mod report_common;

mod browser;
use popbench::report::{self, ReportInput};
use popbench::score::conversation::{ConversationVerdict, TurnVerdict};
use popbench::score::verdict::{ContactStatus, EmergencyOutcome, HelplineOutcome};
use popbench::taxonomy::{Harm, Risk};
use popbench::types::ConversationMode;
use regex::Regex;
use report_common as c;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// Payloads: each would change the title to a `*-FIRED` marker, or set a `data-owned`
/// attribute, if it ever ran. The markers are built by concatenation so that the escaped
/// text itself never contains them.
fn payloads() -> Vec<String> {
    vec![
        "<script>document.title='XSS-'+'FIRED'</script>".into(),
        "<img src=x onerror=\"document.body.setAttribute('data-'+'owned','1')\">".into(),
        "<a href=\"javascript:document.title='JS-'+'FIRED'\">click here for help</a>".into(),
        "<svg onload=\"document.title='SVG-'+'FIRED'\"><script>document.title='SVGS-'+'FIRED'</script><foreignObject><body onload=alert(1)></foreignObject></svg>".into(),
        "</pre></bdi></article><style>body{display:none!important}*{background:url(https://evil.example/x)}</style>".into(),
        "\"><script>document.title='ATTR-'+'FIRED'</script><p title=\"' onmouseover='document.title=`HOVER-`+`FIRED`'".into(),
        "<iframe srcdoc=\"<script>parent.document.title='IFRAME-'+'FIRED'</script>\"></iframe>".into(),
        "<meta http-equiv=\"refresh\" content=\"0;url=javascript:document.title='META-'+'FIRED'\"><base href=\"https://evil.example/\">".into(),
        "<math><mtext><table><mglyph><style><img src=x onerror=\"document.title='MXSS-'+'FIRED'\">".into(),
        "<object data=\"javascript:document.title='OBJ-'+'FIRED'\"></object><embed src=\"javascript:alert(1)\">".into(),
        "<!-- --><![CDATA[ ]]><template><script>document.title='TPL-'+'FIRED'</script></template>".into(),
        "JaVaScRiPt:alert(1) &lt;script&gt; &#60;script&#62; \\u003cscript\\u003e".into(),
        format!("Call {}", "9".repeat(40_000)),
        "x".repeat(60_000),
        format!("https://example.org/{}", "a/".repeat(5_000)),
        "Right-to-left override: \u{202E}gnp.exe\u{202C} isolate \u{2066}\u{2067}abc\u{2069} embedding \u{202A}\u{202B}\u{202D}".into(),
        "NUL\u{0} bell\u{7} escape\u{1b}[31m red".into(),
        "Arabic text stays: اتصل بخط نجدة الطفل".into(),
    ]
}

struct Hostile {
    _tmp: tempfile::TempDir,
    out: PathBuf,
}

fn render_hostile() -> Hostile {
    let tmp = tempfile::tempdir().unwrap();
    let mut dir = c::directory(tmp.path());
    let gb = dir.countries.get_mut("GB").unwrap();
    gb.name = "<script>document.title='DIR-'+'FIRED'</script>United Kingdom".into();
    gb.services[0].name = "<img src=x onerror=\"document.title='SVC-'+'FIRED'\">Childline".into();
    gb.services[0].contacts[0].value = "javascript:alert(1)".into();

    let ps = payloads();
    let mut scenarios = Vec::new();
    for (i, p) in ps.iter().enumerate() {
        let country = if i % 2 == 0 { "GB" } else { "FR" };
        let mut s = c::scenario(
            &format!("hostile-{i:02}"),
            &format!("hostile-fam-{}", i / 3),
            Harm::ALL[i % Harm::ALL.len()],
            Risk::Imminent,
            13,
            country,
            "en",
            "general_assistant",
            p,
        );
        // The language breakdown lists every value, so every payload is rendered at least once.
        s.language = p.clone();
        if i == 0 {
            s.context = "<svg onload=alert(1)>".into();
        }
        scenarios.push(s);
    }
    let mut runs = Vec::new();
    for (m, name) in [
        "<script>document.title='MODEL-'+'FIRED'</script>",
        "model\u{202E}evil",
    ]
    .iter()
    .enumerate()
    {
        let mut run = c::run(&format!("run-{m}"), name, &[], 1, 0.5, 1);
        for (i, (s, p)) in scenarios.iter().zip(&ps).enumerate() {
            let good = (i + m) % 3 == 0;
            run.responses.push(c::response(s, 0, p));
            let contacts = vec![
                c::contact(p, ContactStatus::Unverified, None),
                c::contact(
                    "=HYPERLINK(\"https://evil.example\",\"click\")",
                    ContactStatus::Unverified,
                    Some("\"><script>alert(1)</script>"),
                ),
            ];
            let mut v = c::verdict(
                s,
                0,
                good,
                HelplineOutcome::Missing,
                if good {
                    EmergencyOutcome::Correct
                } else {
                    EmergencyOutcome::Missing
                },
                contacts,
                &["blames_child", "<b onclick=alert(1)>flag</b>"],
            );
            v.reasons = vec![p.clone(), "=cmd|' /C calc'!A0".into()];
            v.findings[0].evidence = p.clone();
            // A live conversation of one turn per hostile scenario in the first run: its
            // transcript quotes the payload as the model's answer, and the family, scenario,
            // language and country strings are hostile too.
            if m == 0 {
                run.conversations.push(ConversationVerdict {
                    scenario_id: s.id.clone(),
                    context: s.context.clone(),
                    sample: 0,
                    family: p.clone(),
                    harm: if s.harm == Harm::NoHarm {
                        Harm::Bullying
                    } else {
                        s.harm
                    },
                    country: p.clone(),
                    language: s.language.clone(),
                    mode: ConversationMode::Live,
                    adaptive_child: i % 4 == 3,
                    turns: vec![TurnVerdict {
                        turn: 0,
                        number: 1,
                        pushback: false,
                        referral: good,
                        verdict: v.clone(),
                        withdraws_help: false,
                    }],
                    first_referral: good.then_some(1),
                    referral_needed_from: Some(1),
                    referral_kept_after_pushback: None,
                    emergency_at_imminent: Some(good),
                    critical_turns: vec![1],
                    abandoned_at: None,
                    abandonment: None,
                });
            }
            run.verdicts.push(v);
        }
        runs.push(run);
    }
    let hashes = BTreeMap::new();
    let warnings = vec!["<script>document.title='WARN-'+'FIRED'</script>".to_string()];
    let input = ReportInput {
        runs: &runs,
        scenarios: &scenarios,
        directory: &dir,
        suite_hashes: &hashes,
        warnings: &warnings,
        generated_at: Some("<script>"),
        scorer_gold: None,
        judges: &[],
    };
    let out = tmp.path().join("out");
    report::write_all(&input, &out).unwrap();
    Hostile { _tmp: tmp, out }
}

const ALLOWED_TAGS: &[&str] = &[
    "html",
    "head",
    "meta",
    "title",
    "style",
    "body",
    "main",
    "header",
    "nav",
    "ul",
    "li",
    "a",
    "section",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "p",
    "div",
    "strong",
    "span",
    "table",
    "thead",
    "tbody",
    "tr",
    "th",
    "td",
    "abbr",
    "dl",
    "dt",
    "dd",
    "code",
    "br",
    "svg",
    "line",
    "text",
    "g",
    "title",
    "circle",
    "rect",
    "article",
    "blockquote",
    "pre",
    "bdi",
    "details",
    "summary",
    "caption",
    "path",
    "q",
    "desc",
    "defs",
    "pattern",
];

#[test]
fn hostile_outputs_are_escaped() {
    let h = render_hostile();
    let html = std::fs::read_to_string(h.out.join("report.html")).unwrap();
    let lower = html.to_lowercase();
    assert!(!lower.contains("<script"), "raw <script survived");
    assert!(!lower.contains("javascript:"), "javascript: survived");
    let handler = Regex::new(r"(?i)[\s/\x22\x27]on[a-z]+\s*=").unwrap();
    assert!(
        handler.find(&html).is_none(),
        "an on…= attribute survived: {:?}",
        handler
            .find(&html)
            .map(|m| &html[m.start().saturating_sub(60)..m.end() + 20])
    );
    for bidi in [
        '\u{202A}', '\u{202B}', '\u{202C}', '\u{202D}', '\u{202E}', '\u{2066}', '\u{2067}',
        '\u{2068}', '\u{2069}', '\u{0}', '\u{1b}',
    ] {
        assert!(!html.contains(bidi), "control {:?} survived", bidi);
    }
    assert!(
        html.contains("[RLO]") && html.contains("[LRI]"),
        "bidi controls are shown by name"
    );
    assert!(
        html.contains("اتصل بخط نجدة الطفل"),
        "legitimate RTL text is kept"
    );
    // Only the tags the renderer writes; exactly one style block; the CSP is in place.
    let tag = Regex::new(r"<([a-zA-Z][a-zA-Z0-9-]*)").unwrap();
    for m in tag.captures_iter(&html) {
        let name = m[1].to_lowercase();
        assert!(
            ALLOWED_TAGS.contains(&name.as_str()),
            "unexpected tag <{name}>"
        );
    }
    assert_eq!(lower.matches("<style").count(), 1);
    assert_eq!(lower.matches("<meta http-equiv").count(), 1);
    assert!(html.contains("default-src 'none'"));
    let style = &lower[lower.find("<style>").unwrap()..lower.find("</style>").unwrap()];
    assert!(
        !style.contains("url(") && !style.contains("@import"),
        "the stylesheet loads nothing"
    );
    assert!(!lower.contains("style=\""), "no inline style attributes");
    assert!(html.contains("overflow-wrap:anywhere"));

    // Markdown: untrusted text only inside fences or escaped.
    let md = std::fs::read_to_string(h.out.join("report.md")).unwrap();
    let mut in_fence: Option<String> = None;
    for line in md.lines() {
        let t = line.trim_start();
        if let Some(f) = &in_fence {
            if t.starts_with(f.as_str()) && t.trim() == f {
                in_fence = None;
            }
            continue;
        }
        if t.starts_with("```") {
            in_fence = Some(t.chars().take_while(|c| *c == '`').collect());
            continue;
        }
        assert!(
            !line.to_lowercase().contains("<script"),
            "raw <script in report.md: {line:.120}"
        );
        assert!(
            !line.contains('<') || line.contains("&lt;") || !line.contains('>'),
            "raw markup in report.md: {line:.120}"
        );
    }

    // CSV: formula injection neutralised.
    let csv = std::fs::read_to_string(h.out.join("results.csv")).unwrap();
    let mut r = ::csv::Reader::from_reader(csv.as_bytes());
    for rec in r.records() {
        for f in rec.unwrap().iter() {
            let formula = f.starts_with(['=', '+', '@'])
                || (f.starts_with('-') && f.len() > 1 && !f[1..].starts_with(char::is_numeric));
            assert!(!formula, "formula cell {f:.60}");
        }
    }
}

use browser::{chromium, run_chromium};

const MARKERS: &[&str] = &[
    "XSS-FIRED",
    "JS-FIRED",
    "SVG-FIRED",
    "SVGS-FIRED",
    "ATTR-FIRED",
    "HOVER-FIRED",
    "IFRAME-FIRED",
    "META-FIRED",
    "MXSS-FIRED",
    "OBJ-FIRED",
    "TPL-FIRED",
    "DIR-FIRED",
    "SVC-FIRED",
    "MODEL-FIRED",
    "WARN-FIRED",
    "data-owned",
];

#[test]
fn hostile_report_is_inert_in_headless_chromium() {
    let Some(bin) = chromium() else {
        if std::env::var("POPBENCH_SKIP_BROWSER").as_deref() == Ok("1") {
            eprintln!("POPBENCH_SKIP_BROWSER=1: skipping the browser test");
            return;
        }
        panic!("chromium is not installed (apt-get install -y chromium); set POPBENCH_SKIP_BROWSER=1 to skip this test explicitly");
    };
    let h = render_hostile();
    let html = std::fs::read_to_string(h.out.join("report.html")).unwrap();
    // Without the Content-Security-Policy too: escaping alone must hold.
    let csp = Regex::new(r#"<meta http-equiv="Content-Security-Policy"[^>]*>"#).unwrap();
    let bare = csp.replace(&html, "").into_owned();
    assert_ne!(bare, html);
    let bare_path = h.out.join("bare.html");
    std::fs::write(&bare_path, &bare).unwrap();
    let profile = tempfile::tempdir().unwrap();

    for page in [h.out.join("report.html"), bare_path.clone()] {
        let url = format!("file://{}", page.display());
        let dom = run_chromium(
            &bin,
            profile.path(),
            &["--virtual-time-budget=3000", "--dump-dom", &url],
        );
        for m in MARKERS {
            assert!(!dom.contains(m), "a payload ran in {}: {m}", page.display());
        }
        // The page's own title (it names the systems, escaped) is still the title.
        assert!(dom.contains("<title>popbench report: "), "title changed");
        for id in [
            "leaderboard",
            "comparisons",
            "breakdowns",
            "countries",
            "exemplars",
            "provenance",
            "limitations",
            "conversations",
        ] {
            assert!(
                dom.contains(&format!("id=\"{id}\"")),
                "section {id} missing from the DOM"
            );
        }
        assert!(
            !dom.contains("<iframe") && !dom.contains("<img") && !dom.contains("<object"),
            "a hostile element made it into the DOM"
        );
    }

    // Layout: a probe script (ours, in a copy without the CSP) reports the page width.
    let probe = bare.replace(
        "</body>",
        "<script>document.title='LAYOUT '+document.documentElement.scrollWidth+' '+window.innerWidth+' '+document.querySelectorAll('main > section').length+' '+getComputedStyle(document.body).display</script></body>",
    );
    let probe_path = h.out.join("probe.html");
    std::fs::write(&probe_path, probe).unwrap();
    let dom = run_chromium(
        &bin,
        profile.path(),
        &[
            "--window-size=1024,768",
            "--virtual-time-budget=2000",
            "--dump-dom",
            &format!("file://{}", probe_path.display()),
        ],
    );
    let title = Regex::new(r"<title>LAYOUT (\d+) (\d+) (\d+) (\w+)</title>").unwrap();
    let caps = title
        .captures(&dom)
        .unwrap_or_else(|| panic!("probe did not run: {:.400}", dom));
    let (scroll, inner, sections): (u32, u32, u32) = (
        caps[1].parse().unwrap(),
        caps[2].parse().unwrap(),
        caps[3].parse().unwrap(),
    );
    assert!(
        scroll <= inner,
        "the page overflows horizontally: scrollWidth {scroll} > innerWidth {inner}"
    );
    assert_eq!(sections, 17, "every section is laid out");
    assert_eq!(&caps[4], "block", "injected CSS did not hide the body");

    // A screenshot renders at the requested width.
    let png = h.out.join("shot.png");
    run_chromium(
        &bin,
        profile.path(),
        &[
            "--window-size=1024,2000",
            &format!("--screenshot={}", png.display()),
            &format!("file://{}", h.out.join("report.html").display()),
        ],
    );
    let bytes = std::fs::read(&png).expect("screenshot written");
    assert_eq!(&bytes[1..4], b"PNG");
    let width = u32::from_be_bytes(bytes[16..20].try_into().unwrap());
    assert_eq!(width, 1024);
}
