//! `report.html`: one self-contained file (inline CSS and SVG, no scripts, no external
//! resources), readable on screen and printed to PDF. Every untrusted string goes through
//! [`esc`]; a Content-Security-Policy forbids scripts as a second line of defence.

use super::escape::esc;
use super::fmt::{interval, p_value, pct, pp, pp_interval};
use super::model::*;
use super::section::conversations::{Conversations, Transcript};
use super::section::Section;
use super::svg;
use crate::metric::Population;
use std::fmt::Write as _;

const CSS: &str = r#"
:root{--fg:#1b1b1b;--muted:#5b5b5b;--line:#d9d9d9;--accent:#1f4e79;--bad:#a4262c;--good:#2e7d32;--bg2:#f6f7f9}
*{box-sizing:border-box}
body{margin:0;font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans",sans-serif;color:var(--fg);background:#fff}
main{max-width:1100px;margin:0 auto;padding:24px 20px 64px}
h1{font-size:1.9em;margin:.2em 0}h2{font-size:1.35em;margin-top:2em;border-bottom:2px solid var(--accent);padding-bottom:.2em}
h3{font-size:1.1em;margin-top:1.4em}
body{overflow-wrap:break-word}
.u{overflow-wrap:anywhere}
td,th{word-break:normal;hyphens:manual}
nav ul{columns:3 12em;list-style:none;padding:0;margin:0}nav a{color:var(--accent)}
.meta{color:var(--muted)}
.scroll{overflow-x:auto;max-width:100%}
table{border-collapse:collapse;width:100%;margin:.6em 0;font-size:.92em}
th,td{border:1px solid var(--line);padding:4px 6px;vertical-align:top;text-align:left}
th{background:var(--bg2)}
td.num{white-space:nowrap}
.v{font-weight:600}.ci,.n{color:var(--muted);font-size:.9em}.ci{white-space:nowrap}
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
dl.kv{display:grid;grid-template-columns:minmax(7em,max-content) minmax(0,1fr);gap:2px 12px}dl.kv dt{color:var(--muted)}dl.kv dd{margin:0;min-width:0}
@media (max-width:600px){dl.kv{display:block}dl.kv dd{margin:0 0 .5em}main{padding:12px 10px 48px}.cards{grid-template-columns:minmax(0,1fr)}}
caption{text-align:left;font-weight:600;padding:.2em 0;caption-side:top}
details{margin:.3em 0}details>summary{cursor:pointer}
details.item{border-top:1px solid var(--line);padding:.3em 0}
.seg{display:inline-block;width:.8em;height:.8em;border-radius:2px;margin-right:4px;vertical-align:middle}
.ids a{margin-right:.5em}
.pass{color:var(--good);font-weight:600}.fail{color:var(--bad);font-weight:600}
.map{border:1px solid var(--line)}
code{font-size:.9em}
@media print{
  body{font-size:10pt}main{max-width:none;padding:0}nav{display:none}
  h2,h3,h4,caption,summary{break-after:avoid}table,.card,.ex,figure,svg{break-inside:avoid}
  details:not([open])>*:not(summary){display:none}
  pre.u{max-height:none;overflow:visible}.scroll{overflow:visible}
  a{color:inherit;text-decoration:none}
}
"#;

fn figure_cell(f: &Figure) -> String {
    let e = &f.estimate;
    let value = match f.items {
        Some(l) => format!(r##"<a href="#l{l}" class="v">{}</a>"##, pct(e.p)),
        None => format!(r#"<span class="v">{}</span>"#, pct(e.p)),
    };
    let mut s = format!(
        r#"{value} <span class="ci">[{}]{}</span> <span class="n">{}/{}</span>"#,
        interval(e.lo, e.hi),
        e.method.mark(),
        e.k,
        e.n
    );
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

/// How to read a figure cell, in visible text.
const MARKS: &str = "<p>Each cell: the rate (a link to the list of its items), its 95% interval in brackets, then events/denominator. An interval marked † is a Wilson interval over the effective number of independent scenario families, n_eff = (Σ nᵢ)² / Σ nᵢ², used when families contribute several responses; unmarked intervals are Wilson intervals over responses. A yellow badge marks a cell too small to detect a 20-point difference; a blue badge gives the rule-of-three bound where no response showed the bad outcome.</p>";

fn metric_table(o: &mut String, r: &Report, metrics: &[Metric], caption: &str) {
    let _ = write!(
        o,
        r#"<div class="scroll"><table><caption>{}</caption><thead><tr><th scope="col">#</th><th scope="col">System</th>"#,
        esc(caption)
    );
    for m in metrics {
        let _ = write!(o, r#"<th scope="col">{}</th>"#, esc(m.label()));
    }
    o.push_str("</tr></thead><tbody>");
    for s in &r.leaderboard {
        let _ = write!(
            o,
            r#"<tr><td>{}</td><th scope="row"><bdi>{}</bdi><div class="n">k = {}, {} verdicts</div></th>"#,
            s.rank,
            esc(&s.system),
            s.samples,
            s.verdicts
        );
        for m in metrics {
            let Some(mf) = s.metrics.iter().find(|x| x.metric == *m) else {
                o.push_str("<td>–</td>");
                continue;
            };
            let _ = write!(o, "<td>{}", figure_cell(&mf.figure));
            if let Some(pk) = &mf.pass_k {
                let _ = write!(o, r#"<div class="n">pass^k: {}</div>"#, figure_cell(pk));
            }
            o.push_str("</td>");
        }
        o.push_str("</tr>");
    }
    o.push_str("</tbody></table></div>");
}

fn definitions(o: &mut String, r: &Report, pop: Population) {
    o.push_str(r#"<dl class="kv">"#);
    for d in r.metrics.iter().filter(|d| d.population == pop) {
        let _ = write!(
            o,
            "<dt>{}</dt><dd>{}</dd>",
            esc(&d.label),
            esc(&d.definition)
        );
    }
    o.push_str("</dl>");
}

fn anatomy(o: &mut String, r: &Report) {
    o.push_str(&svg::anatomy(r));
    o.push_str(r#"<div class="scroll"><table><caption>Failed help-seeking items by primary reason</caption><thead><tr><th scope="col">Reason</th>"#);
    for a in &r.anatomy {
        let _ = write!(
            o,
            r#"<th scope="col"><bdi>{}</bdi> ({} of {} failed)</th>"#,
            esc(&a.system),
            a.failed,
            a.items
        );
    }
    o.push_str("</tr></thead><tbody>");
    for (i, def) in r.failure_reasons.iter().enumerate() {
        let colour = super::anatomy::Reason::from_id(&def.id)
            .map(|x| x.colour())
            .unwrap_or("#ccc");
        let _ = write!(
            o,
            r#"<tr><th scope="row"><svg width="12" height="12" aria-hidden="true"><rect width="12" height="12" fill="{colour}"/></svg> {}</th>"#,
            esc(&def.label)
        );
        for a in &r.anatomy {
            let seg = &a.segments[i];
            match seg.items {
                Some(l) => {
                    let _ = write!(
                        o,
                        r##"<td class="num"><a href="#l{l}">{}</a> <span class="n">{}</span></td>"##,
                        seg.count,
                        pct(seg.share)
                    );
                }
                None => o.push_str(r#"<td class="num">0</td>"#),
            }
        }
        o.push_str("</tr>");
    }
    o.push_str(r#"</tbody></table></div><dl class="kv">"#);
    for d in &r.failure_reasons {
        let _ = write!(
            o,
            "<dt>{}</dt><dd>{}</dd>",
            esc(&d.label),
            esc(&d.definition)
        );
    }
    o.push_str("</dl>");
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
    o.push_str("<nav><ul>");
    for s in r.sections.iter() {
        let _ = write!(
            o,
            r##"<li><a href="#{}">{}</a></li>"##,
            s.id(),
            esc(s.nav())
        );
    }
    o.push_str("</ul></nav>");
    for s in r.sections.iter() {
        section(&mut o, s.id(), s.title());
        body(&mut o, r, s);
        o.push_str("</section>");
    }
    o.push_str("</main></body></html>\n");
    o
}

/// One arm per kind of section: its body, between the heading and `</section>`.
fn body(o: &mut String, r: &Report, s: &Section) {
    match s {
        Section::Warnings => warnings(o, r),
        Section::Headline => headline(o, r),
        Section::Recommendations => recommendations(o, r),
        Section::Leaderboard => leaderboard(o, r),
        Section::Controls => controls(o, r),
        Section::Anatomy => anatomy_section(o, r),
        Section::Judge => o.push_str(&super::judge::html(&r.judges)),
        Section::Comparisons => comparisons(o, r),
        Section::Breakdowns => breakdowns(o, r),
        Section::Map => map(o, r),
        Section::Countries => countries(o, r),
        Section::Exemplars => exemplars(o, r),
        Section::Conversations(c) => conversations(o, c),
        Section::Methodology => methodology(o, r),
        Section::Coverage => coverage(o, r),
        Section::Provenance => provenance(o, r),
        Section::Limitations => limitations(o, r),
        Section::Items => items(o, r),
    }
}

fn warnings(o: &mut String, r: &Report) {
    if r.warnings.is_empty() {
        o.push_str("<p>No warnings: no answer was cut or garbled, no generation failed, and the directory and scorer checks pass.</p>");
    } else {
        o.push_str(r#"<div class="warn"><ul>"#);
        for w in &r.warnings {
            let _ = write!(o, "<li>{}</li>", esc(&w.text));
        }
        o.push_str("</ul></div>");
    }
}

fn headline(o: &mut String, r: &Report) {
    list(o, &r.headline);
}

fn recommendations(o: &mut String, r: &Report) {
    o.push_str("<p>Each recommendation is triggered by a measured figure crossing a threshold named in the methodology, and cites that figure; the figure links to its items.</p>");
    for a in &r.audiences {
        let _ = write!(o, "<h3>{}</h3>", esc(&a.title));
        if a.findings.is_empty() {
            o.push_str("<p>No figure crosses a threshold for this audience.</p>");
            continue;
        }
        o.push_str("<ul>");
        for f in &a.findings {
            let _ = write!(o, "<li>{}", esc(&f.text));
            if let Some(l) = f.items {
                let _ = write!(o, r##" <a href="#l{l}">(the items)</a>"##);
            }
            let _ = write!(o, r#" <span class="meta">[{}]</span></li>"#, esc(&f.rule));
        }
        o.push_str("</ul>");
    }
}

fn leaderboard(o: &mut String, r: &Report) {
    o.push_str(MARKS);
    o.push_str(&svg::forest(r));
    metric_table(
        o,
        r,
        &Metric::HELP_SEEKING,
        "Help-seeking items: every metric per system (no-harm controls excluded)",
    );
    definitions(o, r, Population::HelpSeeking);
}

fn controls(o: &mut String, r: &Report) {
    o.push_str("<p>Ordinary requests (homework, everyday questions) that need no referral. They are counted apart and never raise or lower a help-seeking figure, and they are never shown as exemplars of a good answer. Lower is better for each.</p>");
    metric_table(
        o,
        r,
        &Metric::CONTROLS,
        "No-harm controls: over-escalation and refusal per system",
    );
    definitions(o, r, Population::Controls);
}

fn anatomy_section(o: &mut String, r: &Report) {
    o.push_str("<p>Every failed help-seeking item has one primary reason: the first of the reasons below, in this order, that applies to it. Each bar segment and each count links to its items.</p>");
    anatomy(o, r);
}

fn comparisons(o: &mut String, r: &Report) {
    if r.comparisons.is_empty() {
        o.push_str("<p>One system only: nothing to compare.</p>");
    } else {
        o.push_str("<p>Each row pairs the two systems on the same items. An interval marked † is a paired bootstrap over scenario families (used when families contribute several pairs); unmarked intervals are Newcombe's interval for independent pairs.</p>");
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
            let method = c.primary.mark();
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
}

fn breakdowns(o: &mut String, r: &Report) {
    o.push_str("<p>Pass rate over help-seeking items only; no-harm controls are left out of every cell. Columns are systems by rank (#). A star or pale colour marks an underpowered cell; a blue badge gives the rule-of-three bound where no response failed.</p><ul>");
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
            r#"<div class="scroll"><table><caption>Pass rate by {}</caption><thead><tr><th scope="col">{}</th>"#,
            esc(&b.title.to_lowercase()),
            esc(&b.title)
        );
        for s in &r.leaderboard {
            let _ = write!(o, r#"<th scope="col">#{}</th>"#, s.rank);
        }
        o.push_str("</tr></thead><tbody>");
        for row in &b.rows {
            let _ = write!(
                o,
                r#"<tr><th scope="row"><bdi>{}</bdi></th>"#,
                esc(&row.label)
            );
            for c in &row.cells {
                let _ = write!(o, "<td>{}</td>", figure_cell(&c.figure));
            }
            o.push_str("</tr>");
        }
        o.push_str("</tbody></table></div>");
    }
}

fn map(o: &mut String, r: &Report) {
    o.push_str("<p>Share of help-seeking items (where the policy asks for the child helpline) that give the child's own helpline, by the child's country. Grey countries have no scenarios. Boundaries: Natural Earth 1:110m (public domain), for orientation only. Click a country for its items; the same figures are in map.csv and map.geojson.</p>");
    for s in &r.leaderboard {
        let cs: Vec<&MapCountry> = r.map.iter().filter(|m| m.system == s.system).collect();
        let _ = write!(o, "<h3><bdi>{}</bdi></h3>", esc(&s.system));
        o.push_str(&super::map::svg(&s.system, &cs));
    }
}

fn countries(o: &mut String, r: &Report) {
    o.push_str("<p>Each card (collapsed; open it to read) lists the services a correct answer gives for the country, each with its sources and the date each was read, the traps models fall into, and each system's figures.</p>");
    o.push_str(r#"<div class="cards">"#);
    for c in &r.countries {
        let pass = c
            .results
            .first()
            .map(|x| format!(" · pass {}", pct(x.pass.estimate.p)))
            .unwrap_or_default();
        let _ = write!(
            o,
            r#"<details class="card" id="country-{}"><summary><strong><bdi>{}</bdi></strong> <span class="meta">{}{pass}</span></summary>"#,
            esc(&c.code),
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
                    r#"<li><strong><bdi>{}</bdi></strong> <span class="meta">{}{}</span><br><span class="u">{}</span>"#,
                    esc(&s.name),
                    esc(&super::names::humanise(&s.kind)),
                    s.hours
                        .as_deref()
                        .map(|h| format!(" · hours: {}", esc(h)))
                        .unwrap_or_default(),
                    esc(&s.contacts.join(" · "))
                );
                if s.sources.is_empty() {
                    o.push_str(r#"<div class="meta">No source recorded.</div>"#);
                } else {
                    o.push_str(r#"<ul class="meta">"#);
                    for src in &s.sources {
                        let read = if src.read.is_empty() {
                            "date read not recorded".to_string()
                        } else {
                            format!("read {}", esc(&src.read))
                        };
                        let _ = write!(
                            o,
                            r#"<li>Source ({}, {read}{}): <span class="u">{}</span></li>"#,
                            esc(&src.kind),
                            src.page_date
                                .as_deref()
                                .map(|d| format!(", page dated {}", esc(d)))
                                .unwrap_or_default(),
                            esc(&src.url)
                        );
                    }
                    o.push_str("</ul>");
                }
                o.push_str("</li>");
            }
            o.push_str("</ul>");
        }
        for t in &c.traps {
            let _ = write!(o, r#"<p class="meta u">Trap: {}</p>"#, esc(t));
        }
        let _ = write!(
            o,
            r#"<div class="scroll"><table><caption>Help-seeking items in {}</caption><thead><tr><th scope="col">System</th><th scope="col">Pass</th><th scope="col">Own helpline</th><th scope="col">Wrong country</th><th scope="col">Invented</th></tr></thead><tbody>"#,
            esc(&c.name)
        );
        for x in &c.results {
            let _ = write!(
                o,
                r#"<tr><th scope="row"><bdi>{}</bdi></th><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>"#,
                esc(&x.system),
                figure_cell(&x.pass),
                figure_cell(&x.helpline_correct),
                figure_cell(&x.wrong_country),
                figure_cell(&x.invented_contact)
            );
        }
        o.push_str("</tbody></table></div></details>");
    }
    o.push_str("</div>");
}

fn exemplars(o: &mut String, r: &Report) {
    o.push_str("<p>Help-seeking items only (a no-harm control is never an exemplar). Responses are quoted as generated (escaped, never executed). Worst failures first, then the best answers. Every item is in the appendix.</p>");
    for s in &r.exemplars {
        let _ = write!(o, "<h3><bdi>{}</bdi></h3>", esc(&s.system));
        if s.worst.is_empty() && s.best.is_empty() {
            o.push_str("<p>No exemplars.</p>");
        }
        for e in s.worst.iter().chain(&s.best) {
            exemplar(o, e);
        }
    }
}

fn methodology(o: &mut String, r: &Report) {
    for p in &r.methodology {
        let _ = write!(o, "<p>{}</p>", esc(p));
    }
}

fn coverage(o: &mut String, r: &Report) {
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
    o.push_str("</tbody></table></div>");
}

fn provenance(o: &mut String, r: &Report) {
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
            "Contexts sha256",
            format!("<code>{}</code>", esc(&p.contexts_sha256)),
        );
        if let Some(f) = &p.contexts_file {
            kv(
                "Contexts file",
                format!("{} sha256 <code>{}</code>", esc(&f.path), esc(&f.sha256)),
            );
        }
        for c in &p.contexts {
            let prompt = match (c.source.as_str(), &c.system) {
                ("file", Some(t)) => format!(
                    r#" — system prompt from the contexts file: <q class="u">{}</q>"#,
                    esc(t)
                ),
                ("none", _) => " — no system prompt sent".into(),
                _ => " — popbench's system prompt (scenarios/contexts.toml)".into(),
            };
            kv("Context", format!("<code>{}</code>{prompt}", esc(&c.id)));
        }
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
                "k = {}, temperature {}, max tokens {}, seed {}{}",
                p.samples,
                p.temperature,
                p.max_tokens,
                p.seed,
                super::fmt::stop_strings(&p.stop, |s| esc(&format!("{s:?}")))
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
}

fn limitations(o: &mut String, r: &Report) {
    list(o, &r.limitations);
}

fn items(o: &mut String, r: &Report) {
    super::items::render_html(o, r);
}

fn exemplar(o: &mut String, e: &Exemplar) {
    let title = match e.category.as_str() {
        "missed_emergency" => "Missed emergency",
        "invented_contact" => "Invented contact",
        "critical_flag" => "Critical flag",
        "best" => "Best answer (help-seeking)",
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
        esc(&super::names::context(&e.context)),
        e.sample,
        if e.pass { "passes" } else { "fails" }
    );
    match &e.child_turn {
        Some(t) => {
            let _ = write!(
                o,
                r#"<p>The child writes:</p><blockquote class="u" lang="{}" dir="{}">{}</blockquote>"#,
                esc(&e.language),
                if super::names::is_rtl(&e.language) {
                    "rtl"
                } else {
                    "ltr"
                },
                esc(t)
            );
        }
        None => o.push_str(r#"<p class="meta">The scenario is not in the loaded suites.</p>"#),
    }
    match &e.response {
        Some(t) => {
            let _ = write!(
                o,
                r#"<p>The response:</p><pre class="u" lang="{}" dir="{}">{}</pre>"#,
                esc(&e.language),
                if super::names::is_rtl(&e.language) {
                    "rtl"
                } else {
                    "ltr"
                },
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
    super::items::contacts_table(o, &e.contacts);
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

fn conversations(o: &mut String, c: &Conversations) {
    o.push_str("<p>Live conversations: the model under test answers every child turn, with its own earlier answers in the history, and each answer is scored at the risk in force at that turn. Each figure counts conversations (events/denominator); conversations of one family are not independent, so an interval marked † is a Wilson interval over the effective number of families. Conversations whose later child turns an adaptive child wrote are reported apart, never pooled with fixed-turn ones. Each strip cell and each transcript links to the turns it counts; transcripts are collapsed (open one to read it).</p>");
    o.push_str(r#"<details><summary>What each figure counts</summary><dl class="kv">"#);
    for d in &c.definitions {
        let _ = write!(
            o,
            "<dt>{}</dt><dd>{}</dd>",
            esc(&d.label),
            esc(&d.definition)
        );
    }
    o.push_str("</dl></details>");
    for g in &c.groups {
        let kind = if g.adaptive_child {
            "adaptive child"
        } else {
            "fixed child turns"
        };
        let _ = write!(
            o,
            r#"<h3 id="{}"><bdi>{}</bdi>: {kind}</h3><p class="meta">{} conversations in {} families.</p>"#,
            esc(&g.anchor),
            esc(&g.system),
            g.conversations,
            g.families
        );
        let _ = write!(
            o,
            r#"<div class="scroll"><table><caption>Conversation metrics: <bdi>{}</bdi>, {kind}</caption><thead><tr><th scope="col">Metric</th><th scope="col">Conversations</th></tr></thead><tbody>"#,
            esc(&g.system)
        );
        for (d, f) in c.definitions.iter().zip(&g.metrics) {
            let _ = write!(
                o,
                r#"<tr><th scope="row">{}</th><td>{}</td></tr>"#,
                esc(&d.label),
                figure_cell(&f.figure)
            );
        }
        o.push_str("</tbody></table></div>");
        if !g.first_referral.is_empty() {
            let parts: Vec<String> = g
                .first_referral
                .iter()
                .map(|f| match f.number {
                    Some(n) => format!("turn {n}: {}", f.conversations),
                    None => format!("never: {}", f.conversations),
                })
                .collect();
            let _ = write!(
                o,
                "<p>First correct referral, among conversations that needed one: {}.</p>",
                esc(&parts.join(" · "))
            );
        }
        let _ = write!(o, "<h4>Turn by turn</h4>{}", svg::strip(g));
        let _ = write!(
            o,
            r#"<div class="scroll"><table><caption>Correct referral by family and child turn (events/conversations at that turn; P push-back turn, ! risk becomes imminent)</caption><thead><tr><th scope="col">Family</th><th scope="col">Conversations</th>"#
        );
        for n in 1..=g.strip.turns {
            let _ = write!(o, r#"<th scope="col">Turn {n}</th>"#);
        }
        let _ = write!(
            o,
            r#"</tr></thead><tbody><tr><th scope="row">All families</th><td class="num">{}</td>"#,
            g.conversations
        );
        for n in 1..=g.strip.turns {
            match g.curve.iter().find(|t| t.number == n) {
                Some(t) if t.n > 0 => {
                    let _ = write!(
                        o,
                        r#"<td class="num">{}/{} <span class="n">{}</span></td>"#,
                        t.referral,
                        t.n,
                        pct(t.share)
                    );
                }
                _ => o.push_str(r#"<td class="num">–</td>"#),
            }
        }
        o.push_str("</tr>");
        for row in &g.strip.rows {
            let _ = write!(
                o,
                r##"<tr><th scope="row"><a href="#{}"><bdi>{}</bdi></a></th><td class="num">{}</td>"##,
                esc(&row.transcript),
                esc(&row.family),
                row.conversations
            );
            for cell in &row.cells {
                let text = if cell.n == 0 {
                    "–".to_string()
                } else {
                    format!("{}/{}", cell.referral, cell.n)
                };
                let marks = format!(
                    "{}{}",
                    if cell.pushback > 0 { " P" } else { "" },
                    if cell.imminent > 0 { " !" } else { "" }
                );
                match &cell.link {
                    Some(l) if cell.n > 0 => {
                        let _ = write!(
                            o,
                            r##"<td class="num"><a href="#{}">{text}</a>{marks}</td>"##,
                            esc(l)
                        );
                    }
                    _ => {
                        let _ = write!(o, r#"<td class="num">{text}{marks}</td>"#);
                    }
                }
            }
            o.push_str("</tr>");
        }
        o.push_str("</tbody></table></div><h4>Transcripts</h4><p>One conversation per family: the first that went wrong, else the first. The model's answers are quoted as generated (escaped, never executed).</p>");
        for t in &g.transcripts {
            transcript(o, t);
        }
    }
}

fn transcript(o: &mut String, t: &Transcript) {
    let lang = esc(&t.language);
    let dir = if t.rtl { "rtl" } else { "ltr" };
    let _ = write!(
        o,
        r#"<details class="ex" id="{}"><summary><strong><bdi>{}</bdi></strong> <span class="meta"><bdi>{}</bdi> · {}</span></summary><p class="meta">{} · {} · {} · context {} · sample {} · first correct referral: {}{}"#,
        esc(&t.anchor),
        esc(&t.family),
        esc(&t.scenario_id),
        esc(&t.why),
        esc(&t.harm),
        esc(&t.country),
        esc(&t.language),
        esc(&super::names::context(&t.context)),
        t.sample,
        t.first_referral
            .map(|n| format!("turn {n}"))
            .unwrap_or_else(|| "none".into()),
        match (t.abandoned_at, &t.abandonment) {
            (Some(n), Some(how)) => format!(
                " · abandons the child at turn {n} ({})",
                esc(&how.replace('_', " "))
            ),
            (Some(n), None) => format!(" · abandons the child at turn {n}"),
            _ => String::new(),
        }
    );
    if let Some(i) = t.item {
        let _ = write!(o, r##" · <a href="#i{i}">last answer in the appendix</a>"##);
    }
    o.push_str("</p>");
    for turn in &t.turns {
        let _ = write!(
            o,
            r#"<div id="{}"><p><strong>Turn {}</strong> <span class="meta">· {} risk{} ·</span> {} <span class="meta">·</span> <span class="{}">answer {}</span>{}</p>"#,
            esc(&turn.anchor),
            turn.number,
            esc(&turn.risk),
            if turn.pushback { " · push-back" } else { "" },
            if turn.referral {
                r#"<span class="pass">correct referral</span>"#
            } else {
                r#"<span class="fail">no correct referral</span>"#
            },
            if turn.pass { "pass" } else { "fail" },
            if turn.pass { "passes" } else { "fails" },
            if turn.emergency == "not_required" {
                String::new()
            } else {
                format!(
                    r#" <span class="meta">· emergency: {}</span>"#,
                    esc(&turn.emergency.replace('_', " "))
                )
            }
        );
        match &turn.child {
            Some(text) => {
                let _ = write!(
                    o,
                    r#"<p class="meta">The child{}:</p><blockquote class="u" lang="{lang}" dir="{dir}">{}</blockquote>"#,
                    if turn.child_adaptive {
                        " (adaptive child)"
                    } else {
                        ""
                    },
                    esc(text)
                );
            }
            None => {
                o.push_str(r#"<p class="meta">The child's words are not in the loaded suites.</p>"#)
            }
        }
        match &turn.answer {
            Some(text) => {
                let _ = write!(
                    o,
                    r#"<p class="meta">The model:</p><pre class="u" lang="{lang}" dir="{dir}">{}</pre>"#,
                    esc(text)
                );
                if turn.answer_truncated {
                    o.push_str(r#"<p class="meta">(cut at the exemplar limit)</p>"#);
                }
            }
            None => o.push_str(r#"<p class="meta">The answer is not in responses.jsonl.</p>"#),
        }
        if !turn.flags.is_empty() {
            let _ = write!(
                o,
                r#"<p class="meta">Flags: <span class="u">{}</span></p>"#,
                esc(&turn.flags.join(", "))
            );
        }
        if !turn.critical.is_empty() {
            o.push_str("<p>Critical findings:</p>");
            list(o, &turn.critical);
        }
        o.push_str("</div>");
    }
    o.push_str("</details>");
}
