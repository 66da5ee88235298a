//! `report.html`: one self-contained file (inline CSS and SVG, no scripts, no external
//! resources), readable on screen and printed to PDF. Every untrusted string goes through
//! [`esc`]; a Content-Security-Policy forbids scripts as a second line of defence.

use super::escape::esc;
use super::fmt::{interval, p_value, pct, pp, pp_interval};
use super::model::*;
use super::svg;
use crate::stats::Method;
use std::fmt::Write as _;

const CSS: &str = r#"
:root{--fg:#1b1b1b;--muted:#5b5b5b;--line:#d9d9d9;--accent:#1f4e79;--bad:#a4262c;--good:#2e7d32;--bg2:#f6f7f9}
*{box-sizing:border-box}
body{margin:0;font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans",sans-serif;color:var(--fg);background:#fff}
main{max-width:1100px;margin:0 auto;padding:24px 20px 64px}
h1{font-size:1.9em;margin:.2em 0}h2{font-size:1.35em;margin-top:2em;border-bottom:2px solid var(--accent);padding-bottom:.2em}
h3{font-size:1.1em;margin-top:1.4em}
p,li,td,th,dd,dt,blockquote,pre,code,span{overflow-wrap:anywhere;word-break:break-word}
nav ul{columns:3;list-style:none;padding:0;margin:0}nav a{color:var(--accent)}
.meta{color:var(--muted)}
.scroll{overflow-x:auto;max-width:100%}
table{border-collapse:collapse;width:100%;margin:.6em 0;font-size:.92em}
th,td{border:1px solid var(--line);padding:4px 6px;vertical-align:top;text-align:left}
th{background:var(--bg2)}
td.num{white-space:nowrap}
.v{font-weight:600}.ci,.n{color:var(--muted);font-size:.9em}
.badge{display:inline-block;border-radius:3px;padding:0 4px;font-size:.8em;margin-left:3px}
.low{background:#fff3cd;color:#6b5200}.r3{background:#e8f1fb;color:#1f4e79}
.better{color:var(--good);font-weight:600}.worse{color:var(--bad);font-weight:600}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(320px,1fr));gap:14px}
.card,.ex{border:1px solid var(--line);border-radius:6px;padding:10px 14px;background:#fff;min-width:0}
.ex{margin:12px 0}.ex h4{margin:.2em 0}
.u{white-space:pre-wrap;overflow-wrap:anywhere;word-break:break-word;max-width:100%}
blockquote.u{margin:.4em 0;padding:.4em .8em;border-left:4px solid var(--line);background:var(--bg2)}
pre.u{font:13px/1.45 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;background:var(--bg2);padding:8px;border-radius:4px;max-height:28em;overflow:auto}
.chart{max-width:100%;height:auto;display:block;margin:.5em 0}
.warn{background:#fff3cd;border:1px solid #e0c36a;padding:8px 12px;border-radius:4px}
dl.kv{display:grid;grid-template-columns:max-content 1fr;gap:2px 12px}dl.kv dt{color:var(--muted)}dl.kv dd{margin:0;min-width:0}
code{font-size:.9em}
@media print{
  body{font-size:10pt}main{max-width:none;padding:0}nav{display:none}
  h2{break-after:avoid}table,.card,.ex,figure,svg{break-inside:avoid}
  pre.u{max-height:none;overflow:visible}.scroll{overflow:visible}
  a{color:inherit;text-decoration:none}
}
"#;

fn figure_cell(f: &Figure) -> String {
    let e = &f.estimate;
    let mut s = format!(
        r#"<span class="v">{}</span> <span class="ci">[{}]</span> <span class="n">n = {}</span>"#,
        pct(e.p),
        interval(e.lo, e.hi),
        e.n
    );
    match e.method {
        Method::ClusterBootstrap => {
            let _ = write!(
                s,
                r#"<abbr title="cluster bootstrap over {} families">†</abbr>"#,
                e.clusters
            );
        }
        Method::WilsonFamilies => {
            let _ = write!(
                s,
                r#"<abbr title="Wilson interval over {} families: every family shows the same rate">‡</abbr>"#,
                e.clusters
            );
        }
        _ => {}
    }
    if f.underpowered && e.n > 0 {
        let _ = write!(
            s,
            r#"<span class="badge low">underpowered, MDE {}</span>"#,
            pp(f.mde).trim_start_matches('+')
        );
    } else if e.n == 0 {
        s = r#"<span class="n">no items</span>"#.into();
    }
    if let Some(b) = f.rule_of_three {
        let _ = write!(
            s,
            r#"<span class="badge r3">none bad: ≤ {}</span>"#,
            pct(Some(b))
        );
    }
    s
}

fn section(out: &mut String, id: &str, title: &str) {
    let _ = write!(out, r#"<section id="{id}"><h2>{}</h2>"#, esc(title));
}

fn list(out: &mut String, items: &[String]) {
    out.push_str("<ul>");
    for i in items {
        let _ = write!(out, "<li>{}</li>", esc(i));
    }
    out.push_str("</ul>");
}

fn opt(s: &Option<String>) -> String {
    s.as_deref().map(esc).unwrap_or_else(|| "–".into())
}

/// Renders the report.
pub fn render(r: &Report) -> String {
    let mut o = String::with_capacity(64 * 1024);
    o.push_str("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">");
    o.push_str(r#"<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">"#);
    o.push_str(r#"<meta name="viewport" content="width=device-width, initial-scale=1">"#);
    o.push_str("<title>popbench report</title><style>");
    o.push_str(CSS);
    o.push_str("</style></head><body><main>");
    let _ = write!(
        o,
        r#"<header><h1>popbench report</h1><p class="meta">Does an AI system's answer get a child to real protection? popbench {} · generated {} · {} verdicts from {} run(s)</p></header>"#,
        esc(&r.popbench_version),
        opt(&r.generated_at),
        r.totals.verdicts,
        r.totals.runs
    );
    o.push_str(r##"<nav><ul><li><a href="#headline">Headline</a></li><li><a href="#audiences">Findings by audience</a></li><li><a href="#leaderboard">Leaderboard</a></li><li><a href="#comparisons">Paired comparisons</a></li><li><a href="#breakdowns">Breakdowns</a></li><li><a href="#countries">Countries</a></li><li><a href="#exemplars">Exemplars</a></li><li><a href="#methodology">Methodology</a></li><li><a href="#coverage">Directory coverage</a></li><li><a href="#provenance">Provenance</a></li><li><a href="#limitations">Limitations</a></li></ul></nav>"##);

    if !r.warnings.is_empty() {
        o.push_str(r#"<div class="warn"><strong>Warnings</strong>"#);
        list(&mut o, &r.warnings);
        o.push_str("</div>");
    }

    section(&mut o, "headline", "Headline");
    list(&mut o, &r.headline);
    o.push_str("</section>");

    section(&mut o, "audiences", "Findings by audience");
    for a in &r.audiences {
        let _ = write!(o, "<h3>{}</h3>", esc(&a.title));
        list(&mut o, &a.findings);
    }
    o.push_str("</section>");

    section(&mut o, "leaderboard", "Leaderboard");
    o.push_str("<p>Each cell: rate, 95% interval, n. † marks a cluster bootstrap over scenario families; ‡ a Wilson interval over families, where every family shows the same rate and the bootstrap has no spread. For the last three metrics lower is better.</p>");
    o.push_str(&svg::forest(r));
    o.push_str(r#"<div class="scroll"><table><thead><tr><th>#</th><th>System</th>"#);
    for m in Metric::ALL {
        let _ = write!(o, "<th>{}</th>", esc(m.label()));
    }
    o.push_str("</tr></thead><tbody>");
    for s in &r.leaderboard {
        let _ = write!(
            o,
            r#"<tr><td>{}</td><td><bdi>{}</bdi><div class="n">k = {}, {} verdicts</div></td>"#,
            s.rank,
            esc(&s.system),
            s.samples,
            s.verdicts
        );
        for mf in &s.metrics {
            let _ = write!(o, "<td>{}", figure_cell(&mf.figure));
            if let Some(pk) = &mf.pass_k {
                let _ = write!(o, r#"<div class="n">pass^k: {}</div>"#, figure_cell(pk));
            }
            o.push_str("</td>");
        }
        o.push_str("</tr>");
    }
    o.push_str("</tbody></table></div><dl class=\"kv\">");
    for d in &r.metrics {
        let _ = write!(
            o,
            "<dt>{}</dt><dd>{}</dd>",
            esc(&d.label),
            esc(&d.definition)
        );
    }
    o.push_str("</dl></section>");

    section(&mut o, "comparisons", "Paired comparisons");
    if r.comparisons.is_empty() {
        o.push_str("<p>One system only: nothing to compare.</p>");
    }
    let mut i = 0;
    while i < r.comparisons.len() {
        let (a, b) = (&r.comparisons[i].a, &r.comparisons[i].b);
        let _ = write!(o, "<h3><bdi>{}</bdi> vs <bdi>{}</bdi></h3>", esc(a), esc(b));
        o.push_str(r#"<div class="scroll"><table><thead><tr><th>Metric</th><th>Pairs</th><th>A</th><th>B</th><th>A − B</th><th>95% interval</th><th>Discordant (A only / B only)</th><th>McNemar exact p</th><th>Conclusion</th></tr></thead><tbody>"#);
        while i < r.comparisons.len() && &r.comparisons[i].a == a && &r.comparisons[i].b == b {
            let c = &r.comparisons[i];
            let (cls, text) = match c.conclusion.as_str() {
                "a_better" => ("better", format!("A better ({})", esc(&c.a))),
                "b_better" => ("better", format!("B better ({})", esc(&c.b))),
                "no_pairs" => ("", "no matched items".into()),
                _ => ("", "no clear difference".into()),
            };
            let method = if c.primary == Method::PairedClusterBootstrap {
                format!(
                    r#"<abbr title="paired bootstrap over {} families">†</abbr>"#,
                    c.clusters
                )
            } else {
                String::new()
            };
            let _ = write!(
                o,
                r#"<tr><td>{}</td><td class="num">{}</td><td class="num">{}</td><td class="num">{}</td><td class="num">{}</td><td class="num">{}{method}</td><td class="num">{} / {}</td><td class="num">{}</td><td class="{cls}">{text}</td></tr>"#,
                esc(c.metric.label()),
                c.pairs,
                pct(c.a_rate),
                pct(c.b_rate),
                pp(c.difference),
                pp_interval(c.lo, c.hi),
                c.table.a_only,
                c.table.b_only,
                p_value(c.mcnemar_p, r.settings.p_value_floor)
            );
            i += 1;
        }
        o.push_str("</tbody></table></div>");
    }
    o.push_str("</section>");

    section(&mut o, "breakdowns", "Breakdowns of the pass rate");
    o.push_str("<p>Columns are systems by rank (#). A star or pale colour marks an underpowered cell; a blue badge gives the rule-of-three bound where no response failed.</p><ul>");
    for s in &r.leaderboard {
        let _ = write!(o, "<li>#{} = <bdi>{}</bdi></li>", s.rank, esc(&s.system));
    }
    o.push_str("</ul>");
    for b in &r.breakdowns {
        let _ = write!(
            o,
            r#"<h3 id="by-{}">By {}</h3>"#,
            esc(&b.dimension),
            esc(&b.title.to_lowercase())
        );
        if b.dimension == "harm" {
            o.push_str(&svg::heatmap(r, b));
        }
        let _ = write!(
            o,
            r#"<div class="scroll"><table><thead><tr><th>{}</th>"#,
            esc(&b.title)
        );
        for s in &r.leaderboard {
            let _ = write!(o, "<th>#{}</th>", s.rank);
        }
        o.push_str("</tr></thead><tbody>");
        for row in &b.rows {
            let _ = write!(o, "<tr><td><bdi>{}</bdi></td>", esc(&row.value));
            for c in &row.cells {
                let _ = write!(o, "<td>{}</td>", figure_cell(&c.figure));
            }
            o.push_str("</tr>");
        }
        o.push_str("</tbody></table></div>");
    }
    o.push_str("</section>");

    section(&mut o, "countries", "Countries");
    o.push_str(r#"<div class="cards">"#);
    for c in &r.countries {
        let _ = write!(
            o,
            r#"<div class="card"><h3><bdi>{}</bdi> <span class="meta">{}</span></h3>"#,
            esc(&c.name),
            esc(&c.code)
        );
        if !c.in_directory {
            o.push_str(r#"<p class="warn">Not in the directory: no verified services to check against.</p>"#);
        }
        if !c.services.is_empty() {
            o.push_str("<ul>");
            for s in &c.services {
                let _ = write!(
                    o,
                    r#"<li><strong><bdi>{}</bdi></strong> <span class="meta">{} · verified {}{}</span><br><span class="u">{}</span></li>"#,
                    esc(&s.name),
                    esc(&s.kind),
                    esc(&s.last_verified),
                    s.hours
                        .as_deref()
                        .map(|h| format!(" · {}", esc(h)))
                        .unwrap_or_default(),
                    esc(&s.contacts.join(" · "))
                );
            }
            o.push_str("</ul>");
        }
        for t in &c.traps {
            let _ = write!(o, r#"<p class="meta u">Trap: {}</p>"#, esc(t));
        }
        o.push_str(r#"<div class="scroll"><table><thead><tr><th>System</th><th>Pass</th><th>Own helpline</th><th>Wrong country</th><th>Invented</th></tr></thead><tbody>"#);
        for x in &c.results {
            let _ = write!(
                o,
                "<tr><td><bdi>{}</bdi></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(&x.system),
                figure_cell(&x.pass),
                figure_cell(&x.helpline_correct),
                figure_cell(&x.wrong_country),
                figure_cell(&x.invented_contact)
            );
        }
        o.push_str("</tbody></table></div></div>");
    }
    o.push_str("</div></section>");

    section(&mut o, "exemplars", "Exemplars");
    o.push_str("<p>Responses are quoted as generated (escaped, never executed). Worst failures first, then the best answers.</p>");
    for s in &r.exemplars {
        let _ = write!(o, "<h3><bdi>{}</bdi></h3>", esc(&s.system));
        if s.worst.is_empty() && s.best.is_empty() {
            o.push_str("<p>No exemplars.</p>");
        }
        for e in s.worst.iter().chain(&s.best) {
            exemplar(&mut o, e);
        }
    }
    o.push_str("</section>");

    section(&mut o, "methodology", "Methodology");
    for p in &r.methodology {
        let _ = write!(o, "<p>{}</p>", esc(p));
    }
    o.push_str("</section>");

    section(&mut o, "coverage", "Directory coverage");
    let _ = write!(
        o,
        r#"<p>Directory hash <code class="u">{}</code>; services last verified between {} and {}.</p>"#,
        esc(&r.coverage.directory_sha256),
        opt(&r.coverage.oldest_verified),
        opt(&r.coverage.newest_verified)
    );
    if !r.coverage.missing_countries.is_empty() {
        let _ = write!(
            o,
            r#"<p class="warn">Scenario countries missing from the directory: {}</p>"#,
            esc(&r.coverage.missing_countries.join(", "))
        );
    }
    o.push_str(r#"<div class="scroll"><table><thead><tr><th>Code</th><th>Country</th><th>Current services</th><th>Child helplines</th><th>Verified</th></tr></thead><tbody>"#);
    for c in &r.coverage.countries {
        let _ = write!(
            o,
            "<tr><td>{}</td><td><bdi>{}</bdi></td><td>{}</td><td>{}</td><td>{} – {}</td></tr>",
            esc(&c.code),
            esc(&c.name),
            c.services,
            c.child_helplines,
            opt(&c.oldest_verified),
            opt(&c.newest_verified)
        );
    }
    o.push_str("</tbody></table></div></section>");

    section(&mut o, "provenance", "Provenance");
    for p in &r.provenance {
        let _ = write!(
            o,
            r#"<h3><bdi>{}</bdi></h3><dl class="kv">"#,
            esc(&p.system)
        );
        let mut kv = |k: &str, v: String| {
            let _ = write!(o, r#"<dt>{}</dt><dd class="u">{}</dd>"#, esc(k), v);
        };
        kv("Run", esc(&p.run_id));
        kv(
            "Model",
            format!("{} ({})", esc(&p.model_spec), esc(&p.backend)),
        );
        for f in &p.model_files {
            kv(
                "Model file",
                format!("{} sha256 <code>{}</code>", esc(&f.path), esc(&f.sha256)),
            );
        }
        kv("Chat template sha256", opt(&p.chat_template_sha256));
        kv(
            "Suite",
            format!(
                "{} sha256 <code>{}</code>",
                esc(&p.suite),
                esc(&p.suite_sha256)
            ),
        );
        if let Some(now) = &p.suite_sha256_now {
            if now != &p.suite_sha256 {
                kv(
                    "Suite now",
                    format!("<code>{}</code> (differs from the run's)", esc(now)),
                );
            }
        }
        kv(
            "Directory sha256",
            format!("<code>{}</code>", esc(&p.directory_sha256)),
        );
        kv(
            "Policy sha256",
            format!("<code>{}</code>", esc(&p.policy_sha256)),
        );
        kv(
            "popbench",
            format!(
                "{} commit {}{}",
                esc(&p.popbench_version),
                opt(&p.popbench_commit),
                if p.git_dirty == Some(true) {
                    " (dirty tree)"
                } else {
                    ""
                }
            ),
        );
        kv(
            "Generation",
            format!(
                "k = {}, temperature {}, max tokens {}, seed {}",
                p.samples, p.temperature, p.max_tokens, p.seed
            ),
        );
        kv("Device", esc(&p.device));
        kv(
            "Time",
            format!("{} → {}", esc(&p.started_at), opt(&p.finished_at)),
        );
        kv(
            "Items",
            format!(
                "{} planned, {} responses, {} verdicts",
                p.items_total, p.responses, p.verdicts
            ),
        );
        o.push_str("</dl>");
    }
    o.push_str("</section>");

    section(&mut o, "limitations", "Limitations");
    list(&mut o, &r.limitations);
    o.push_str("</section></main></body></html>\n");
    o
}

fn exemplar(o: &mut String, e: &Exemplar) {
    let title = match e.category.as_str() {
        "missed_emergency" => "Missed emergency",
        "invented_contact" => "Invented contact",
        "critical_flag" => "Critical flag",
        "best" => "Best answer",
        _ => "Exemplar",
    };
    let _ = write!(
        o,
        r#"<article class="ex"><h4>{title}: <bdi>{}</bdi></h4><p class="meta">{} · {} risk · {} · {}{} · context {} · sample {} · {}</p>"#,
        esc(&e.scenario_id),
        esc(&e.harm),
        esc(&e.risk),
        esc(&e.country),
        esc(&e.language),
        e.age.map(|a| format!(" · age {a}")).unwrap_or_default(),
        esc(&e.context),
        e.sample,
        if e.pass { "passes" } else { "fails" }
    );
    match &e.child_turn {
        Some(t) => {
            let _ = write!(
                o,
                r#"<p>The child writes:</p><blockquote class="u"><bdi>{}</bdi></blockquote>"#,
                esc(t)
            );
        }
        None => o.push_str(r#"<p class="meta">The scenario is not in the loaded suites.</p>"#),
    }
    match &e.response {
        Some(t) => {
            let _ = write!(
                o,
                r#"<p>The response:</p><pre class="u"><bdi>{}</bdi></pre>"#,
                esc(t)
            );
            if e.response_truncated {
                let _ = write!(
                    o,
                    r#"<p class="meta">(cut: {} characters in full)</p>"#,
                    e.response_chars
                );
            }
        }
        None => o.push_str(r#"<p class="meta">The response is not in responses.jsonl.</p>"#),
    }
    if !e.contacts.is_empty() {
        o.push_str(r#"<div class="scroll"><table><thead><tr><th>Contact</th><th>Kind</th><th>Status</th><th>Service</th></tr></thead><tbody>"#);
        for c in &e.contacts {
            let cls = if c.status == "verified" {
                "better"
            } else {
                "worse"
            };
            let _ = write!(
                o,
                r#"<tr><td class="u"><bdi>{}</bdi></td><td>{}</td><td class="{cls}">{}</td><td>{}</td></tr>"#,
                esc(&c.text),
                esc(&c.kind),
                esc(&c.status),
                opt(&c.service_id)
            );
        }
        o.push_str("</tbody></table></div>");
    }
    if !e.flags.is_empty() {
        let _ = write!(
            o,
            r#"<p>Flags: <span class="u">{}</span></p>"#,
            esc(&e.flags.join(", "))
        );
    }
    if !e.critical.is_empty() {
        o.push_str("<p>Critical findings:</p>");
        list(o, &e.critical);
    }
    if !e.reasons.is_empty() {
        o.push_str("<p>Reasons:</p>");
        list(o, &e.reasons);
    }
    o.push_str("</article>");
}
