//! The core sample run's report in headless Chromium at 360 px and 1400 px: screenshots are
//! taken and the page body must not overflow horizontally. The report itself carries no
//! script; the width probe is our own script added to a copy without the CSP.
//! Also: the core-run HTML stays under 3 MB.

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
    let title = Regex::new(r"<title>LAYOUT (\d+) (\d+) (\d+) (\d+)</title>").unwrap();
    for width in [360u32, 1400] {
        let profile = tempfile::tempdir().unwrap();
        let probe = format!(
            "<!DOCTYPE html><html><head><title>probe</title></head><body style=\"margin:0\"><iframe id=\"f\" width=\"{width}\" height=\"900\" style=\"border:0\"></iframe><script>const f=document.getElementById('f');f.onload=()=>{{const d=f.contentDocument;document.title='LAYOUT '+d.documentElement.scrollWidth+' '+d.body.scrollWidth+' '+f.contentWindow.innerWidth+' '+d.querySelectorAll('main > section').length;}};f.srcdoc={doc};</script></body></html>"
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
