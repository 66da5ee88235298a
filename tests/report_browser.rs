//! The core sample run's report in headless Chromium at 360 px and 1400 px: screenshots are
//! taken, the page body must not overflow horizontally, and no text laid out is smaller than
//! 11 CSS px. The report itself carries no script; the probe is our own script added to a copy
//! without the CSP. Also: the core-run HTML stays under 3 MB, and a figure's link reaches the
//! response it counts in two steps, each opening the fold it points into (no script).

mod browser;
use regex::Regex;
use std::path::{Path, PathBuf};
use std::process::Command;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

use browser::{chromium, run_chromium};

/// Writes the report of the committed core sample run into `out`.
fn core_report(out: &Path) -> String {
    let o = Command::new(env!("CARGO_BIN_EXE_popbench"))
        .current_dir(repo())
        .args(["report", "reports/sample-core/run", "--out"])
        .arg(out)
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "report failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    std::fs::read_to_string(out.join("report.html")).unwrap()
}

#[test]
fn core_report_fits_360_and_1400_px_and_stays_under_3_mb() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let html = core_report(&out);
    assert!(
        html.len() < 3 * 1024 * 1024,
        "core report is {} bytes",
        html.len()
    );
    assert!(
        !html.to_lowercase().contains("<script"),
        "the report carries no script"
    );
    for f in [
        "map.csv",
        "map.geojson",
        "results.csv",
        "results.json",
        "report.md",
    ] {
        assert!(out.join(f).is_file(), "{f}");
    }

    let Some(bin) = chromium() else {
        if std::env::var("POPBENCH_SKIP_BROWSER").as_deref() == Ok("1") {
            eprintln!("POPBENCH_SKIP_BROWSER=1: skipping the browser check");
            return;
        }
        panic!("chromium is not installed (apt-get install -y chromium); set POPBENCH_SKIP_BROWSER=1 to skip this test explicitly");
    };
    // The probe: a page of ours whose script loads a copy of the report without its CSP into
    // an iframe of the given width (headless windows have a minimum width; an iframe does
    // not) and writes the widths into the title. The report itself runs no script.
    let csp = Regex::new(r#"<meta http-equiv="Content-Security-Policy"[^>]*>"#).unwrap();
    let bare = csp.replace(&html, "").into_owned();
    assert_ne!(bare, html, "the report has a CSP");
    let doc = serde_json::to_string(&bare).unwrap().replace("</", "<\\/");
    let title = Regex::new(r"<title>LAYOUT (\d+) (\d+) (\d+) (\d+) ([\d.]+) (.*)</title>").unwrap();
    // The smallest text laid out: every element with text of its own that has a box (text in
    // a closed fold has none), at its computed size times the scale of its SVG, if any.
    let smallest = "let min=1e9,at='';for(const e of d.querySelectorAll('body *')){if(![...e.childNodes].some(n=>n.nodeType===3&&n.textContent.trim()))continue;if(!e.getClientRects().length)continue;let px=parseFloat(getComputedStyle(e).fontSize);if(e instanceof SVGElement&&e.getScreenCTM){px*=Math.abs(e.getScreenCTM().a);}if(px<min){min=px;at=e.tagName+'.'+(e.getAttribute('class')||'')+':'+e.textContent.trim().slice(0,30);}}";
    for width in [360u32, 1400] {
        let profile = tempfile::tempdir().unwrap();
        let probe = format!(
            "<!DOCTYPE html><html><head><title>probe</title></head><body style=\"margin:0\"><iframe id=\"f\" width=\"{width}\" height=\"900\" style=\"border:0\"></iframe><script>const f=document.getElementById('f');f.onload=()=>{{const d=f.contentDocument;{smallest}document.title='LAYOUT '+d.documentElement.scrollWidth+' '+d.body.scrollWidth+' '+f.contentWindow.innerWidth+' '+d.querySelectorAll('main > section').length+' '+min+' '+at;}};f.srcdoc={doc};</script></body></html>"
        );
        let probe_path = out.join(format!("probe-{width}.html"));
        std::fs::write(&probe_path, probe).unwrap();
        let dom = run_chromium(
            &bin,
            profile.path(),
            &[
                "--window-size=1500,1000",
                "--virtual-time-budget=3000",
                "--dump-dom",
                &format!("file://{}", probe_path.display()),
            ],
        );
        let caps = title
            .captures(&dom)
            .unwrap_or_else(|| panic!("probe did not run at {width}px"));
        let n = |i: usize| caps[i].parse::<u32>().unwrap();
        let (docw, body, inner, sections) = (n(1), n(2), n(3), n(4));
        assert_eq!(inner, width, "viewport");
        assert!(
            docw <= inner && body <= inner,
            "at {width}px the page overflows: document {docw}, body {body}, viewport {inner}"
        );
        assert!(sections >= 15, "{sections} sections laid out");
        // Regression: at 360 px the charts' words (SVG text scaled down with the chart)
        // shrank to 4-6 px.
        let min: f64 = caps[5].parse().unwrap();
        assert!(
            min >= 11.0,
            "at {width}px the smallest text is {min} px: {}",
            &caps[6]
        );
        let png = out.join(format!("shot-{width}.png"));
        run_chromium(
            &bin,
            profile.path(),
            &[
                &format!("--window-size={width},2400"),
                &format!("--screenshot={}", png.display()),
                &format!("file://{}", out.join("report.html").display()),
            ],
        );
        let bytes = std::fs::read(&png).expect("screenshot written");
        assert_eq!(&bytes[1..4], b"PNG");
        assert_eq!(u32::from_be_bytes(bytes[16..20].try_into().unwrap()), width);
        if let Some(dir) = std::env::var_os("POPBENCH_SCREENSHOTS") {
            let _ = std::fs::copy(&png, Path::new(&dir).join(format!("core-{width}.png")));
        }
    }
}

/// Regression: links landed on closed `<details>`, so a response was four clicks from its
/// figure. Following the pass rate's link opens its list of items; following the list's
/// first item opens that item, whose response is there.
#[test]
fn a_figure_link_reaches_its_response_with_its_folds_open() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let html = core_report(&out);
    // The leaderboard's first figure (the pass rate) and the list it links to.
    let lb = &html[html.find(r#"<section id="leaderboard">"#).unwrap()..];
    let list = Regex::new(r##"<a href="#(l\d+)" class="v">"##)
        .unwrap()
        .captures(lb)
        .expect("a figure links to its list")[1]
        .to_string();
    let at = html.find(&format!(r#"id="{list}">"#)).unwrap();
    let item = Regex::new(r##"<a href="#(i\d+)">"##)
        .unwrap()
        .captures(&html[at..])
        .expect("the list links to an item")[1]
        .to_string();
    // The item's response is inside the item's fold.
    let start = html.find(&format!(r#"id="{item}">"#)).unwrap();
    let end = start + html[start..].find("</details>").unwrap();
    assert!(
        html[start..end].contains("<pre class=\"u\""),
        "the item shows its response"
    );

    let Some(bin) = chromium() else {
        if std::env::var("POPBENCH_SKIP_BROWSER").as_deref() == Ok("1") {
            eprintln!("POPBENCH_SKIP_BROWSER=1: skipping the browser check");
            return;
        }
        panic!("chromium is not installed (apt-get install -y chromium); set POPBENCH_SKIP_BROWSER=1 to skip this test explicitly");
    };
    let opened = |anchor: &str| -> bool {
        let profile = tempfile::tempdir().unwrap();
        let dom = run_chromium(
            &bin,
            profile.path(),
            &[
                "--window-size=360,900",
                "--virtual-time-budget=3000",
                "--dump-dom",
                &format!("file://{}#{anchor}", out.join("report.html").display()),
            ],
        );
        // The fold around the anchor is open once the browser has followed the link.
        let at = dom
            .find(&format!(r#"id="{anchor}""#))
            .unwrap_or_else(|| panic!("{anchor} in the page"));
        let open = dom[..at].rfind("<details").unwrap();
        dom[open..at].starts_with("<details") && dom[open..at].contains(" open=")
    };
    // Closed as written: only following a link opens them.
    for anchor in [&list, &item] {
        let at = html.find(&format!(r#"id="{anchor}""#)).unwrap();
        let open = html[..at].rfind("<details").unwrap();
        assert!(
            !html[open..at].contains(" open"),
            "{anchor} is closed as written"
        );
        assert!(opened(anchor), "following #{anchor} opens its fold");
    }
}
