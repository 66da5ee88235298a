//! `report.md`: the same figures as the HTML, for reading in a repository or pasting into
//! a document. Untrusted text goes into fenced code blocks (a fence longer than any run of
//! backticks in it) or through [`md`], which turns markup characters into entities.

use super::escape::neutralise;
use super::fmt::{interval, p_value, pct, pp, pp_interval};
use super::model::*;
use super::section::conversations::Conversations;
use super::section::Section;
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
    for s in r.sections.iter() {
        let mut b = String::new();
        if body(&mut b, r, s) {
            let _ = writeln!(o, "## {}\n", md(s.title()));
            o.push_str(&b);
        }
    }
    o
}

/// One arm per kind of section: writes its body (below its heading) and says whether the
/// Markdown report has it (the map and the item appendix are HTML only; map.csv and
/// results.csv hold their figures).
fn body(o: &mut String, r: &Report, s: &Section) -> bool {
    match s {
        Section::Warnings => warnings(o, r),
        Section::Headline => headline(o, r),
        Section::Recommendations => recommendations(o, r),
        Section::Leaderboard => leaderboard(o, r),
        Section::Controls => controls(o, r),
        Section::Anatomy => anatomy(o, r),
        Section::Judge => o.push_str(&super::judge::markdown(&r.judges)),
        Section::Comparisons => comparisons(o, r),
        Section::Breakdowns => breakdowns(o, r),
        Section::Map | Section::Items => return false,
        Section::Countries => countries(o, r),
        Section::Exemplars => exemplars(o, r),
        Section::Conversations(c) => conversations(o, c),
        Section::Methodology => methodology(o, r),
        Section::Coverage => coverage(o, r),
        Section::Provenance => provenance(o, r),
        Section::Limitations => limitations(o, r),
    }
    true
}

fn warnings(o: &mut String, r: &Report) {
    if r.warnings.is_empty() {
        o.push_str("None.\n\n");
    } else {
        let w: Vec<String> = r.warnings.iter().map(|w| w.text.clone()).collect();
        bullets(o, &w);
    }
}

fn headline(o: &mut String, r: &Report) {
    bullets(o, &r.headline);
}

fn recommendations(o: &mut String, r: &Report) {
    o.push_str("Each is triggered by a measured figure crossing a documented threshold (the rule in brackets).\n\n");
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
        bullets(o, &f);
    }
}

fn leaderboard(o: &mut String, r: &Report) {
    o.push_str("Rate [95% interval] events/denominator; † Wilson interval over the effective number of scenario families; ⚠ underpowered. No-harm controls are excluded and reported below.\n\n");
    table(o, r, &Metric::HELP_SEEKING);
}

fn controls(o: &mut String, r: &Report) {
    o.push_str("Ordinary requests that need no referral, counted apart; lower is better.\n\n");
    table(o, r, &Metric::CONTROLS);
    o.push_str("Definitions:\n\n");
    let defs: Vec<String> = r
        .metrics
        .iter()
        .map(|d| format!("{}: {}", d.label, d.definition))
        .collect();
    bullets(o, &defs);
}

fn anatomy(o: &mut String, r: &Report) {
    o.push_str("Each failed help-seeking item has one primary reason, the first that applies in this order.\n\n| Reason |");
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
    bullets(o, &defs);
}

fn comparisons(o: &mut String, r: &Report) {
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
}

fn breakdowns(o: &mut String, r: &Report) {
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
}

fn countries(o: &mut String, r: &Report) {
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
}

fn exemplars(o: &mut String, r: &Report) {
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
                md(&super::names::context(&e.context)),
                e.sample,
                if e.pass { "passes" } else { "fails" }
            );
            if let Some(t) = &e.child_turn {
                o.push_str("The child writes:\n\n");
                fenced(o, t);
            }
            if let Some(t) = &e.response {
                o.push_str("The response:\n\n");
                fenced(o, t);
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
            bullets(o, &e.reasons);
        }
    }
}

fn methodology(o: &mut String, r: &Report) {
    for p in &r.methodology {
        let _ = writeln!(o, "{}\n", md(p));
    }
}

fn coverage(o: &mut String, r: &Report) {
    let _ = writeln!(
        o,
        "Directory hash `{}`; verified between {} and {}.\n\n| Code | Country | Services | Child helplines |\n|---|---|---|---|",
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
    o.push('\n');
}

fn provenance(o: &mut String, r: &Report) {
    for p in &r.provenance {
        let _ = writeln!(
            o,
            "- **{}**: run {}, model {} ({}), suite {} sha256 {}, directory sha256 {}, popbench {} commit {}, k = {}, temperature {}, seed {}{}",
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
            p.seed,
            super::fmt::stop_strings(&p.stop, |s| md(&format!("{s:?}")))
        );
        for f in &p.model_files {
            let _ = writeln!(o, "  - {} sha256 {}", md(&f.path), md(&f.sha256));
        }
        if let Some(f) = &p.contexts_file {
            let _ = writeln!(
                o,
                "  - contexts file {} sha256 {}",
                md(&f.path),
                md(&f.sha256)
            );
        }
        for c in &p.contexts {
            let prompt = match (c.source.as_str(), &c.system) {
                ("file", Some(t)) => format!(
                    "system prompt from the contexts file: {}",
                    md(&format!("{t:?}"))
                ),
                ("none", _) => "no system prompt sent".into(),
                _ => format!(
                    "popbench's system prompt (scenarios/contexts.toml sha256 {})",
                    md(&p.contexts_sha256)
                ),
            };
            let _ = writeln!(o, "  - context {}: {prompt}", md(&c.id));
        }
    }
    o.push('\n');
}

fn limitations(o: &mut String, r: &Report) {
    bullets(o, &r.limitations);
}

fn conversations(o: &mut String, c: &Conversations) {
    o.push_str("Live conversations: the model answers every child turn, with its own earlier answers in the history; each answer is scored at the risk in force at that turn. Figures count conversations (events/denominator); † Wilson interval over the effective number of scenario families. Adaptive-child conversations are reported apart.\n\n");
    let defs: Vec<String> = c
        .definitions
        .iter()
        .map(|d| format!("{}: {}", d.label, d.definition))
        .collect();
    bullets(o, &defs);
    for g in &c.groups {
        let kind = if g.adaptive_child {
            "adaptive child"
        } else {
            "fixed child turns"
        };
        let _ = writeln!(
            o,
            "### {}: {kind}\n\n{} conversations in {} families.\n\n| Metric | Conversations |\n|---|---|",
            md(&g.system),
            g.conversations,
            g.families
        );
        for (d, f) in c.definitions.iter().zip(&g.metrics) {
            let _ = writeln!(o, "| {} | {} |", md(&d.label), cell(&f.figure));
        }
        o.push('\n');
        if !g.first_referral.is_empty() {
            let parts: Vec<String> = g
                .first_referral
                .iter()
                .map(|f| match f.number {
                    Some(n) => format!("turn {n}: {}", f.conversations),
                    None => format!("never: {}", f.conversations),
                })
                .collect();
            let _ = writeln!(
                o,
                "First correct referral, among conversations that needed one: {}.\n",
                parts.join(" · ")
            );
        }
        o.push_str("#### Turn by turn\n\nCorrect referral by family and child turn (events/conversations at that turn); P push-back turn, ! risk becomes imminent.\n\n| Family | Conversations |");
        for n in 1..=g.strip.turns {
            let _ = write!(o, " Turn {n} |");
        }
        let _ = writeln!(o, "\n|---|---|{}", "---|".repeat(g.strip.turns));
        let _ = write!(o, "| All families | {} |", g.conversations);
        for n in 1..=g.strip.turns {
            match g.curve.iter().find(|t| t.number == n) {
                Some(t) if t.n > 0 => {
                    let _ = write!(o, " {}/{} ({}) |", t.referral, t.n, pct(t.share));
                }
                _ => o.push_str(" – |"),
            }
        }
        o.push('\n');
        for row in &g.strip.rows {
            let _ = write!(o, "| {} | {} |", md(&row.family), row.conversations);
            for c in &row.cells {
                let text = if c.n == 0 {
                    "–".to_string()
                } else {
                    format!("{}/{}", c.referral, c.n)
                };
                let _ = write!(
                    o,
                    " {text}{}{} |",
                    if c.pushback > 0 { " P" } else { "" },
                    if c.imminent > 0 { " !" } else { "" }
                );
            }
            o.push('\n');
        }
        o.push_str("\n#### Transcripts\n\nOne conversation per family: the first that went wrong, else the first.\n\n");
        for t in &g.transcripts {
            let _ = writeln!(
                o,
                "##### {}: {}\n\n{} · {} · {} · {} · context {} · sample {} · first correct referral: {}{}\n",
                md(&t.family),
                md(&t.scenario_id),
                md(&t.why),
                md(&t.harm),
                md(&t.country),
                md(&t.language),
                md(&super::names::context(&t.context)),
                t.sample,
                t.first_referral
                    .map(|n| format!("turn {n}"))
                    .unwrap_or_else(|| "none".into()),
                t.abandoned_at
                    .map(|n| format!(" · abandons the child at turn {n}"))
                    .unwrap_or_default()
            );
            for turn in &t.turns {
                let _ = writeln!(
                    o,
                    "Turn {} ({} risk{}): {}, {}{}\n",
                    turn.number,
                    md(&turn.risk),
                    if turn.pushback { ", push-back" } else { "" },
                    if turn.referral {
                        "correct referral"
                    } else {
                        "no correct referral"
                    },
                    if turn.pass { "passes" } else { "fails" },
                    if turn.emergency == "not_required" {
                        String::new()
                    } else {
                        format!(", emergency {}", md(&turn.emergency.replace('_', " ")))
                    }
                );
                if let Some(text) = &turn.child {
                    o.push_str(if turn.child_adaptive {
                        "The child (adaptive child):\n\n"
                    } else {
                        "The child:\n\n"
                    });
                    fenced(o, text);
                }
                if let Some(text) = &turn.answer {
                    o.push_str("The model:\n\n");
                    fenced(o, text);
                }
                for c in &turn.critical {
                    let _ = writeln!(o, "- critical: {}", md(c));
                }
                if !turn.critical.is_empty() {
                    o.push('\n');
                }
            }
        }
    }
}
