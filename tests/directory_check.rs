//! `popbench directory check`: the listing, the source rules (exit 2 with `path:line:
//! message`), the coverage table, and `--online` against a local HTTP server (never the
//! internet).

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_popbench"))
}

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn check(root: &Path, extra: &[&str]) -> Output {
    Command::new(bin())
        .arg("--data")
        .arg(root)
        .args(["directory", "check"])
        .args(extra)
        .output()
        .unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// A data root whose directory holds exactly `files` (name, contents).
fn root_with(files: &[(&str, &str)]) -> tempfile::TempDir {
    let t = tempfile::tempdir().unwrap();
    let d = t.path().join("datasets/directory");
    std::fs::create_dir_all(&d).unwrap();
    for (name, text) in files {
        std::fs::write(d.join(name), text).unwrap();
    }
    t
}

const GOOD: &str = r#"country = "ZQ"
name = "Test country"
region = "europe"

[[service]]
id = "zq-line"
name = "Line"
kind = "child_helpline"
harms = ["all"]
audience = "children"
last_verified = "2026-11-20"

[[service.source]]
url = "https://example.org/help/contact"
kind = "service"
read = "2026-11-20"
page_date = "2025-03"

[[service.contact]]
kind = "phone"
value = "116 111"

[[service]]
id = "zq-emergency-112"
name = "Emergency (112)"
kind = "emergency"
harms = ["all"]
audience = "all"
roles = ["general"]
last_verified = "2026-12-01"
confidence = "medium"

[[service.source]]
url = "https://police.example.gov/emergency"
kind = "government"
read = "2026-12-01"

[[service.source]]
url = "https://github.com/example/helplines/blob/HEAD/data.js"
kind = "code"
read = "2026-12-01"

[[service.contact]]
kind = "phone"
value = "112"
"#;

#[test]
fn shipped_directory_passes_the_source_rules() {
    // Today's date: no source in the shipped data may be read after it.
    let o = check(&repo(), &[]);
    let out = stdout(&o);
    assert_eq!(
        o.status.code(),
        Some(0),
        "directory check found problems in the shipped data:\n{}",
        out.lines()
            .filter(|l| l.contains(".toml:"))
            .collect::<Vec<_>>()
            .join("\n")
    );
    // One line per service, oldest first, after the header.
    let lines: Vec<&str> = out.lines().skip(1).collect();
    assert!(lines.len() > 300, "only {} services listed", lines.len());
    let dates: Vec<&str> = lines
        .iter()
        .map(|l| l.split('\t').nth(1).unwrap())
        .collect();
    let mut sorted = dates.clone();
    sorted.sort_unstable();
    assert_eq!(dates, sorted, "listing is not ordered by last_verified");
}

#[test]
fn listing_reports_age_source_kinds_and_confidence() {
    let root = root_with(&[("ZQ.toml", GOOD)]);
    let o = check(root.path(), &["--today", "2026-12-02"]);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    let out = stdout(&o);
    let line = |id: &str| {
        out.lines()
            .find(|l| l.split('\t').nth(2) == Some(id))
            .unwrap_or_else(|| panic!("no line for {id} in\n{out}"))
            .split('\t')
            .map(str::to_string)
            .collect::<Vec<_>>()
    };
    let helpline = line("zq-line");
    assert_eq!(
        helpline[0], "12",
        "age in days from 2026-11-20 to 2026-12-02"
    );
    assert_eq!(helpline[4], "high");
    assert_eq!(helpline[5], "yes");
    assert_eq!(helpline[6], "service");
    let emergency = line("zq-emergency-112");
    assert_eq!(emergency[0], "1");
    assert_eq!(emergency[4], "medium");
    assert_eq!(emergency[5], "yes");
    assert_eq!(emergency[6], "government,code");
    // The oldest entry comes first.
    assert!(out.find("zq-line").unwrap() < out.find("zq-emergency-112").unwrap());
}

#[test]
fn json_listing_carries_the_same_facts() {
    let root = root_with(&[("ZQ.toml", GOOD)]);
    let o = check(root.path(), &["--today", "2026-12-02", "--json"]);
    assert_eq!(o.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let rows = v.as_array().unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0]["id"], "zq-line");
    assert_eq!(rows[0]["age_days"], 12);
    assert_eq!(rows[0]["source_kinds"][0], "service");
    assert_eq!(rows[1]["primary"], true);
}

#[test]
fn a_rule_broken_gives_exit_2_and_path_line_message() {
    // An emergency entry resting on code repositories alone, at high confidence.
    let text = GOOD
        .replace(
            "[[service.source]]\nurl = \"https://police.example.gov/emergency\"\nkind = \"government\"\nread = \"2026-12-01\"\n\n",
            "",
        )
        .replace("confidence = \"medium\"\n", "");
    assert_ne!(text, GOOD);
    let root = root_with(&[("ZQ.toml", &text)]);
    let o = check(root.path(), &["--today", "2026-12-02"]);
    assert_eq!(o.status.code(), Some(2));
    let path = root.path().join("datasets/directory/ZQ.toml");
    let want = format!("{}:24: ", path.display());
    for rule in [
        "every source is a code repository",
        "cites only code repositories",
    ] {
        assert!(
            stdout(&o)
                .lines()
                .any(|l| l.starts_with(&want) && l.contains(rule)),
            "{rule}: {}",
            stdout(&o)
        );
    }
}

#[test]
fn reading_a_page_after_today_is_an_error() {
    let root = root_with(&[("ZQ.toml", GOOD)]);
    let o = check(root.path(), &["--today", "2026-11-25"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stdout(&o).contains("after today (2026-11-25)"),
        "{}",
        stdout(&o)
    );
}

#[test]
fn a_missing_primary_source_needs_a_recorded_reason() {
    let news_only = GOOD.replace(
        "url = \"https://example.org/help/contact\"\nkind = \"service\"",
        "url = \"https://news.example.org/2025/line-story\"\nkind = \"news\"",
    );
    let root = root_with(&[("ZQ.toml", &news_only)]);
    let o = check(root.path(), &["--today", "2026-12-02"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stdout(&o).contains("cites no primary source"));
    let waived = news_only.replace(
        "audience = \"children\"\n",
        "audience = \"children\"\nprimary_source_missing = \"no official page found\"\n",
    );
    let root = root_with(&[("ZQ.toml", &waived)]);
    let o = check(root.path(), &["--today", "2026-12-02"]);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    let row = stdout(&o)
        .lines()
        .find(|l| l.contains("\tzq-line\t"))
        .unwrap()
        .to_string();
    assert!(row.contains("\tmissing\t"), "{row}");
}

#[test]
fn coverage_table_counts_what_the_files_hold() {
    let root = root_with(&[("ZQ.toml", GOOD)]);
    // Without the list of the world's states, coverage is refused with its path.
    let o = check(root.path(), &["--coverage"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("world.toml")
            || stdout(&o).contains("world.toml"),
        "{}",
        stdout(&o)
    );
    std::fs::copy(
        repo().join("datasets/world.toml"),
        root.path().join("datasets/world.toml"),
    )
    .unwrap();
    let o = check(root.path(), &["--coverage"]);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    let out = stdout(&o);
    assert!(
        out.contains("| UN member states with emergency numbers | 0 / 193 |"),
        "{out}"
    );
    assert!(out.contains("| europe | 1 | ZQ |"), "{out}");
    assert!(
        out.contains("| child_helpline | 1 | 1 | 1 | 100% | 0 | 1 |"),
        "{out}"
    );
    assert!(
        out.contains("| emergency | 1 | 1 | 1 | 100% | 0 | 0 |"),
        "{out}"
    );
    assert!(out.contains("| 2026-12-01 | 1 | 0 |"), "{out}");
    assert!(out.contains("| 2026-11-20 | 1 | 1 |"), "{out}");
    assert!(out.contains("Dates shown by the cited pages range from 2025-03 to 2025-03."));
}

#[test]
fn coverage_of_the_shipped_directory_names_every_country_file() {
    let o = check(&repo(), &["--coverage"]);
    let out = stdout(&o);
    let files = std::fs::read_dir(repo().join("datasets/directory"))
        .unwrap()
        .filter(|e| {
            let p = e.as_ref().unwrap().path();
            p.extension().is_some_and(|x| x == "toml")
                && p.file_stem().is_some_and(|s| s != "international")
        })
        .count();
    assert!(
        out.contains(&format!("| **total** | **{files}** | |")),
        "{files} country files, table:\n{out}"
    );
}

/// Serves `pages` (path, status, body) on 127.0.0.1 until the test ends.
fn serve(pages: Vec<(&'static str, u16, &'static str)>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut request = String::new();
            let _ = reader.read_line(&mut request);
            loop {
                let mut h = String::new();
                if reader.read_line(&mut h).unwrap_or(0) == 0 || h == "\r\n" {
                    break;
                }
            }
            let path = request.split_whitespace().nth(1).unwrap_or("/").to_string();
            let (status, body) = pages
                .iter()
                .find(|(p, _, _)| *p == path)
                .map(|(_, s, b)| (*s, *b))
                .unwrap_or((404, "not found"));
            let _ = write!(
                stream,
                "HTTP/1.1 {status} X\r\nContent-Type: text/html\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    format!("http://{addr}")
}

#[test]
fn online_reports_dead_links_and_pages_without_the_number() {
    let base = serve(vec![
        ("/shows", 200, "<p>Call <b>116&nbsp;111</b> any time.</p>"),
        ("/silent", 200, "<p>We moved; call our new line.</p>"),
    ]);
    let text = format!(
        r#"country = "ZQ"
name = "Test country"
region = "europe"

[[service]]
id = "zq-line"
name = "Line"
kind = "child_helpline"
harms = ["all"]
audience = "children"
last_verified = "2026-11-20"

[[service.source]]
url = "{base}/shows"
kind = "service"
read = "2026-11-20"

[[service.contact]]
kind = "phone"
value = "116 111"

[[service]]
id = "zq-other"
name = "Other line"
kind = "child_helpline"
harms = ["all"]
audience = "children"
last_verified = "2026-11-20"

[[service.source]]
url = "{base}/silent"
kind = "service"
read = "2026-11-20"

[[service.source]]
url = "{base}/gone"
kind = "service"
read = "2026-11-20"

[[service.contact]]
kind = "phone"
value = "0800 123 456"
"#
    );
    let root = root_with(&[("ZQ.toml", &text)]);
    let o = check(
        root.path(),
        &["--today", "2026-12-02", "--online", "--timeout", "5"],
    );
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(1), "{out}");
    let online: Vec<&str> = out.lines().filter(|l| l.starts_with("online: ")).collect();
    assert_eq!(online.len(), 2, "{out}");
    assert!(online.iter().any(|l| l.contains("dead link")
        && l.contains("/gone")
        && l.contains("HTTP 404")
        && l.contains("zq-other")));
    assert!(online
        .iter()
        .any(|l| l.contains("zq-other: `0800 123 456` is not shown on") && l.contains("/silent")));
    assert!(!out.contains("zq-line: `116 111`"), "{out}");
}

#[test]
fn check_flags_are_refused_without_check() {
    let o = Command::new(bin())
        .arg("--data")
        .arg(repo())
        .args(["directory", "GB", "--coverage"])
        .output()
        .unwrap();
    assert_ne!(o.status.code(), Some(0));
}
