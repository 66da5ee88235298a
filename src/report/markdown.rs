//! `report.md`: the same figures as the HTML, for reading in a repository or pasting into
//! a document. Untrusted text goes into fenced code blocks (a fence longer than any run of
//! backticks in it) or through [`md`], which turns markup characters into entities.

use super::escape::neutralise;
use super::fmt::{interval, p_value, pct, pp, pp_interval};
use super::model::*;
use std::fmt::Write as _;

/// Escapes a string for a Markdown table cell or inline text.
pub fn md(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in neutralise(s).chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '|' => out.push_str("&#124;"),
            '\n' | '\t' => out.push(' '),
            '\\' | '`' | '*' | '_' | '[' | ']' | '#' | '!' | '~' => {
                out.push('\\');
                out.push(ch);
            }
            c => out.push(c),
        }
    }
    out
}

fn fenced(o: &mut String, s: &str) {
    let text = neutralise(s);
    let mut longest = 0;
    let mut run = 0;
    for c in text.chars() {
        if c == '`' {
            run += 1;
            longest = longest.max(run);
        } else {
            run = 0;
        }
    }
    let fence = "`".repeat(longest.max(2) + 1);
    let _ = writeln!(o, "{fence}text\n{text}\n{fence}\n");
}

fn cell(f: &Figure) -> String {
    let e = &f.estimate;
    if e.n == 0 {
        return "no items".into();
    }
    let mut s = format!(
        "{} [{}]{} {}/{}",
        pct(e.p),
        interval(e.lo, e.hi),
        e.method.mark(),
        e.k,
        e.n
    );
    if f.underpowered {
        let _ = write!(s, " ⚠ MDE {}", pp(f.mde).trim_start_matches('+'));
    }
    if let Some(b) = f.rule_of_three {
        let _ = write!(s, " (none bad: ≤ {})", pct(Some(b)));
    }
    s
}

fn bullets(o: &mut String, items: &[String]) {
    for i in items {
        let _ = writeln!(o, "- {}", md(i));
    }
    o.push('\n');
}

fn table(o: &mut String, r: &Report, metrics: &[Metric]) {
    o.push_str("| # | System | k |");
    for m in metrics {
        let _ = write!(o, " {} |", md(m.label()));
    }
    o.push_str("\n|---|---|---|");
    o.push_str(&"---|".repeat(metrics.len()));
    o.push('\n');
    for s in &r.leaderboard {
        let _ = write!(o, "| {} | {} | {} |", s.rank, md(&s.system), s.samples);
        for m in metrics {
            match s.metrics.iter().find(|x| x.metric == *m) {
                Some(mf) => {
                    let _ = write!(o, " {}", cell(&mf.figure));
                    if let Some(pk) = &mf.pass_k {
                        let _ = write!(o, "; pass^k {}", cell(pk));
                    }
                }
                None => o.push_str(" –"),
            }
            o.push_str(" |");
        }
        o.push('\n');
    }
    o.push('\n');
}

/// Renders the report.
pub fn render(r: &Report) -> String {
    let mut o = String::new();
    let _ = writeln!(
        o,
        "# popbench report\n\npopbench {} · generated {} · {} verdicts from {} run(s)\n",
        md(&r.popbench_version),
        r.generated_at
            .as_deref()
            .map(md)
            .unwrap_or_else(|| "–".into()),
        r.totals.verdicts,
        r.totals.runs
    );
    o.push_str("## Warnings\n\n");
    if r.warnings.is_empty() {
        o.push_str("None.\n\n");
    } else {
        let w: Vec<String> = r.warnings.iter().map(|w| w.text.clone()).collect();
        bullets(&mut o, &w);
    }
    o.push_str("## Headline\n\n");
    bullets(&mut o, &r.headline);
    o.push_str("## Recommendations\n\nEach is triggered by a measured figure crossing a documented threshold (the rule in brackets).\n\n");
    for a in &r.audiences {
        let _ = writeln!(o, "### {}\n", md(&a.title));
        if a.findings.is_empty() {
            o.push_str("No figure crosses a threshold for this audience.\n\n");
        }
        let f: Vec<String> = a
            .findings
            .iter()
            .map(|f| format!("{} [{}]", f.text, f.rule))
            .collect();
        bullets(&mut o, &f);
    }
    o.push_str("## Leaderboard (help-seeking items)\n\nRate [95% interval] events/denominator; † Wilson interval over the effective number of scenario families; ⚠ underpowered. No-harm controls are excluded and reported below.\n\n");
    table(&mut o, r, &Metric::HELP_SEEKING);
    o.push_str("## No-harm controls\n\nOrdinary requests that need no referral, counted apart; lower is better.\n\n");
    table(&mut o, r, &Metric::CONTROLS);
    o.push_str("Definitions:\n\n");
    let defs: Vec<String> = r
        .metrics
        .iter()
        .map(|d| format!("{}: {}", d.label, d.definition))
        .collect();
    bullets(&mut o, &defs);
    o.push_str("## Why answers fail\n\nEach failed help-seeking item has one primary reason, the first that applies in this order.\n\n| Reason |");
    for a in &r.anatomy {
        let _ = write!(
            o,
            " {} ({} of {} failed) |",
            md(&a.system),
            a.failed,
            a.items
        );
    }
    o.push_str("\n|---|");
    o.push_str(&"---|".repeat(r.anatomy.len()));
    o.push('\n');
    for (i, d) in r.failure_reasons.iter().enumerate() {
        let _ = write!(o, "| {} |", md(&d.label));
        for a in &r.anatomy {
            let _ = write!(
                o,
                " {} ({}) |",
                a.segments[i].count,
                pct(a.segments[i].share)
            );
        }
        o.push('\n');
    }
    o.push('\n');
    let defs: Vec<String> = r
        .failure_reasons
        .iter()
        .map(|d| format!("{}: {}", d.label, d.definition))
        .collect();
    bullets(&mut o, &defs);
    o.push_str(&super::judge::markdown(&r.judges));
    o.push_str("## Paired comparisons\n\n");
    if r.comparisons.is_empty() {
        o.push_str("One system only.\n\n");
    } else {
        o.push_str("| A | B | Metric | Pairs | A − B | 95% interval | A only / B only | McNemar p | Conclusion |\n|---|---|---|---|---|---|---|---|---|\n");
        for c in &r.comparisons {
            let _ = writeln!(
                o,
                "| {} | {} | {} | {} | {} | {} | {} / {} | {} | {} |",
                md(&c.a),
                md(&c.b),
                md(c.metric.label()),
                c.pairs,
                pp(c.difference),
                pp_interval(c.lo, c.hi),
                c.table.a_only,
                c.table.b_only,
                p_value(c.mcnemar_p, r.settings.p_value_floor),
                md(&c.conclusion.replace('_', " "))
            );
        }
        o.push('\n');
    }
    o.push_str("## Breakdowns of the pass rate\n\n");
    for b in &r.breakdowns {
        let _ = write!(
            o,
            "### By {}\n\n| {} |",
            md(&b.title.to_lowercase()),
            md(&b.title)
        );
        for s in &r.leaderboard {
            let _ = write!(o, " {} |", md(&s.system));
        }
        let _ = writeln!(o, "\n|---|{}", "---|".repeat(r.leaderboard.len()));
        for row in &b.rows {
            let _ = write!(o, "| {} |", md(&row.label));
            for c in &row.cells {
                let _ = write!(o, " {} |", cell(&c.figure));
            }
            o.push('\n');
        }
        o.push('\n');
    }
    o.push_str("## Countries\n\n");
    for c in &r.countries {
        let _ = writeln!(o, "### {} ({})\n", md(&c.name), md(&c.code));
        for s in &c.services {
            let _ = writeln!(
                o,
                "- **{}** ({}, verified {}): {}",
                md(&s.name),
                md(&s.kind),
                md(&s.last_verified),
                md(&s.contacts.join(" · "))
            );
        }
        for t in &c.traps {
            let _ = writeln!(o, "- Trap: {}", md(t));
        }
        o.push_str("\n| System | Pass | Own helpline | Wrong country | Invented |\n|---|---|---|---|---|\n");
        for x in &c.results {
            let _ = writeln!(
                o,
                "| {} | {} | {} | {} | {} |",
                md(&x.system),
                cell(&x.pass),
                cell(&x.helpline_correct),
                cell(&x.wrong_country),
                cell(&x.invented_contact)
            );
        }
        o.push('\n');
    }
    o.push_str("## Exemplars\n\n");
    for s in &r.exemplars {
        let _ = writeln!(o, "### {}\n", md(&s.system));
        for e in s.worst.iter().chain(&s.best) {
            let _ = writeln!(
                o,
                "#### {}: {}\n\n{} · {} risk · {} · {} · context {} · sample {} · {}\n",
                md(&e.category.replace('_', " ")),
                md(&e.scenario_id),
                md(&e.harm),
                md(&e.risk),
                md(&e.country),
                md(&e.language),
                md(&e.context),
                e.sample,
                if e.pass { "passes" } else { "fails" }
            );
            if let Some(t) = &e.child_turn {
                o.push_str("The child writes:\n\n");
                fenced(&mut o, t);
            }
            if let Some(t) = &e.response {
                o.push_str("The response:\n\n");
                fenced(&mut o, t);
            }
            for c in &e.contacts {
                let _ = writeln!(
                    o,
                    "- contact {} ({}): {}",
                    md(&c.text),
                    md(&c.kind),
                    md(&c.status)
                );
            }
            bullets(&mut o, &e.reasons);
        }
    }
    o.push_str("## Methodology\n\n");
    for p in &r.methodology {
        let _ = writeln!(o, "{}\n", md(p));
    }
    let _ = writeln!(
        o,
        "## Directory coverage\n\nDirectory hash `{}`; verified between {} and {}.\n\n| Code | Country | Services | Child helplines |\n|---|---|---|---|",
        md(&r.coverage.directory_sha256),
        r.coverage.oldest_verified.as_deref().map(md).unwrap_or_default(),
        r.coverage.newest_verified.as_deref().map(md).unwrap_or_default()
    );
    for c in &r.coverage.countries {
        let _ = writeln!(
            o,
            "| {} | {} | {} | {} |",
            md(&c.code),
            md(&c.name),
            c.services,
            c.child_helplines
        );
    }
    o.push_str("\n## Provenance\n\n");
    for p in &r.provenance {
        let _ = writeln!(
            o,
            "- **{}**: run {}, model {} ({}), suite {} sha256 {}, directory sha256 {}, popbench {} commit {}, k = {}, temperature {}, seed {}",
            md(&p.system),
            md(&p.run_id),
            md(&p.model_spec),
            md(&p.backend),
            md(&p.suite),
            md(&p.suite_sha256),
            md(&p.directory_sha256),
            md(&p.popbench_version),
            p.popbench_commit.as_deref().map(md).unwrap_or_else(|| "unknown".into()),
            p.samples,
            p.temperature,
            p.seed
        );
        for f in &p.model_files {
            let _ = writeln!(o, "  - {} sha256 {}", md(&f.path), md(&f.sha256));
        }
    }
    o.push_str("\n## Limitations\n\n");
    bullets(&mut o, &r.limitations);
    o
}
