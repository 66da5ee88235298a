//! `report.html`: the document model ([`super::doc`]) as one self-contained file (inline CSS
//! and SVG, no scripts, no external resources), readable on a 360 px phone, on a wide screen
//! and printed to PDF. Every string goes through [`esc`]; a Content-Security-Policy forbids
//! scripts as a second line of defence.
//!
//! Charts are drawn so that their words stay page text: labels, ticks and legends are HTML
//! (at least 11 CSS px at any width), and the SVG inside them draws shapes only, so scaling
//! it down never shrinks a word. Heat cells are table cells coloured by class on a
//! colour-blind-safe scale. A link to an anchor inside a closed fold opens the fold (the
//! browser reveals the target; `:target` marks it), so a figure's items and an item's
//! response are each one click away, with no script.

use super::doc::{Block, Cell, Chart, Document, Fold, FoldKind, Inline, Table, Tone, Untrusted};
use super::escape::{esc, esc_into};
use super::fmt::{interval, pct, pp};
use super::model::{Figure, Report};
use std::fmt::Write as _;

const CSS: &str = r#"
:root{--fg:#1b1b1b;--muted:#555;--line:#d9d9d9;--accent:#1f4e79;--bad:#a4262c;--good:#2e7d32;--bg2:#f6f7f9}
*{box-sizing:border-box}
body{margin:0;font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans",sans-serif;color:var(--fg);background:#fff;overflow-wrap:break-word}
main{max-width:1100px;margin:0 auto;padding:24px 20px 64px}
h1{font-size:1.9em;margin:.2em 0}h2{font-size:1.35em;margin-top:2em;border-bottom:2px solid var(--accent);padding-bottom:.2em}
h3{font-size:1.1em;margin-top:1.4em}h4{font-size:1em;margin:1em 0 .3em}h5{font-size:1em;margin:.8em 0 .2em}
td,th{word-break:normal;hyphens:manual}
nav ul{columns:3 12em;list-style:none;padding:0;margin:0}nav a{color:var(--accent)}
.meta{color:var(--muted)}
.scroll{overflow-x:auto;max-width:100%}
table{border-collapse:collapse;width:100%;margin:.6em 0;font-size:.92em}
th,td{border:1px solid var(--line);padding:4px 6px;vertical-align:top;text-align:left}
th{background:var(--bg2)}
td.num{white-space:nowrap}
.v{font-weight:600}.ci,.n{color:var(--muted);font-size:.9em}.ci{white-space:nowrap}
.badge{display:inline-block;border-radius:3px;padding:0 4px;font-size:.85em;margin-left:3px}
.low{background:#fff;color:#6b5200;border:1px solid #c9a227}
th .meta{font-weight:400}
.good{color:var(--good);font-weight:600}.bad{color:var(--bad);font-weight:600}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(320px,1fr));gap:14px}
.card,.frame{border:1px solid var(--line);border-radius:6px;padding:10px 14px;background:#fff;min-width:0}
.frame{margin:12px 0}
.u{white-space:pre-wrap;overflow-wrap:anywhere;word-break:break-word;max-width:100%}
blockquote.u{margin:.4em 0;padding:.4em .8em;border-left:4px solid var(--line);background:var(--bg2)}
pre.u{font:13px/1.45 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;background:var(--bg2);padding:8px;border-radius:4px;max-height:28em;overflow:auto}
.caveat{background:#fff3cd;border:1px solid #e0c36a;padding:8px 12px;border-radius:4px;margin:.6em 0}
.caveat>:first-child{margin-top:0}.caveat>:last-child{margin-bottom:0}
dl.kv{display:grid;grid-template-columns:minmax(7em,max-content) minmax(0,1fr);gap:2px 12px}dl.kv dt{color:var(--muted)}dl.kv dd{margin:0;min-width:0}
caption{text-align:left;font-weight:600;padding:.2em 0;caption-side:top}
details{margin:.3em 0}details>summary{cursor:pointer}
details.item{border-top:1px solid var(--line);padding:.3em 0}
.sw{display:inline-block;width:.9em;height:.9em;border-radius:2px;margin-right:4px;vertical-align:-.1em;border:1px solid #0003}
.ids a{margin-right:.5em}
code{font-size:.9em}
:target{scroll-margin-top:3em}
:target:not(section):not(.fold),details:has(>.fold:target){outline:3px solid #f2b705;outline-offset:2px}
details:target::details-content{content-visibility:visible;display:block}
.h0{background:#ffffcc}.h1{background:#c7e9b4}.h2{background:#7fcdbb}.h3{background:#41b6c4}.h4{background:#2c7fb8;color:#fff}.h5{background:#253494;color:#fff}
.h4 a,.h5 a,.h4 .n,.h5 .n{color:#fff}
.hn{background:#eee}
.legend{display:flex;flex-wrap:wrap;gap:4px 14px;margin:.3em 0;font-size:.92em}
.iv{margin:.6em 0 1em}.iv .row{margin:.3em 0}.iv svg,.bars svg{display:block;width:100%;height:18px}
.axis{display:flex;justify-content:space-between;color:var(--muted);font-size:.85em}
.bars .row{margin:.4em 0}
.map svg{display:block;width:100%;height:auto;border:1px solid var(--line)}
@media (max-width:600px){dl.kv{display:block}dl.kv dd{margin:0 0 .5em}main{padding:12px 10px 48px}.cards{grid-template-columns:minmax(0,1fr)}}
@media print{
  body{font-size:10pt}main{max-width:none;padding:0}nav{display:none}
  h2,h3,h4,caption,summary{break-after:avoid}table,.card,.frame,figure,svg{break-inside:avoid}
  details:not([open])>*:not(summary){display:none}
  pre.u{max-height:none;overflow:visible}.scroll{overflow:visible}
  a{color:inherit;text-decoration:none}
}
"#;

/// The heat class of a rate: six steps of ColorBrewer's YlGnBu (colour-blind safe), from
/// pale (0) to dark blue (1); `hn` when there is no rate.
pub fn heat_class(p: Option<f64>) -> &'static str {
    match p {
        None => "hn",
        Some(p) => match (p.clamp(0.0, 1.0) * 5.0).ceil() as u8 {
            0 => "h0",
            1 => "h1",
            2 => "h2",
            3 => "h3",
            4 => "h4",
            _ => "h5",
        },
    }
}

/// The colours of [`heat_class`], for SVG fills (the map), in the same order.
pub const HEAT: [&str; 6] = [
    "#ffffcc", "#c7e9b4", "#7fcdbb", "#41b6c4", "#2c7fb8", "#253494",
];

/// The bounds of each heat step, in words (`0%`, `1–20%`, …).
pub const HEAT_STEPS: [&str; 6] = ["0%", "1–20%", "21–40%", "41–60%", "61–80%", "81–100%"];

/// The fill of a rate on the heat scale.
pub fn heat_fill(p: Option<f64>) -> &'static str {
    match heat_class(p) {
        "h0" => HEAT[0],
        "h1" => HEAT[1],
        "h2" => HEAT[2],
        "h3" => HEAT[3],
        "h4" => HEAT[4],
        "h5" => HEAT[5],
        _ => "#eeeeee",
    }
}

/// A figure cell: the rate (a link to its items), its interval, events/denominator and a
/// badge when it is too small to detect a 20-point difference.
fn figure(o: &mut String, f: &Figure) {
    let e = &f.estimate;
    if e.n == 0 {
        o.push_str(r#"<span class="n">no items</span>"#);
        return;
    }
    match f.items {
        Some(l) => {
            let _ = write!(o, r##"<a href="#l{l}" class="v">{}</a>"##, pct(e.p));
        }
        None => {
            let _ = write!(o, r#"<span class="v">{}</span>"#, pct(e.p));
        }
    }
    let _ = write!(
        o,
        r#" <span class="ci">[{}]{}</span> <span class="n">{}/{}</span>"#,
        interval(e.lo, e.hi),
        e.method.mark(),
        e.k,
        e.n
    );
    if f.underpowered {
        let _ = write!(
            o,
            r#"<span class="badge low">underpowered, MDE {}</span>"#,
            pp(f.mde).trim_start_matches('+')
        );
    }
}

/// Words between an opening and a closing tag.
fn wrapped(o: &mut String, open: &str, xs: &[Inline], close: &str) {
    o.push_str(open);
    inlines(o, xs);
    o.push_str(close);
}

fn inlines(o: &mut String, xs: &[Inline]) {
    for x in xs {
        inline(o, x);
    }
}

fn inline(o: &mut String, x: &Inline) {
    match x {
        Inline::Text(s) => esc_into(o, s),
        Inline::Name(s) => {
            o.push_str("<bdi>");
            esc_into(o, s);
            o.push_str("</bdi>");
        }
        Inline::Strong(xs) => wrapped(o, "<strong>", xs, "</strong>"),
        Inline::Meta(xs) => wrapped(o, r#"<span class="meta">"#, xs, "</span>"),
        Inline::Code(s) => {
            o.push_str(r#"<code class="u">"#);
            esc_into(o, s);
            o.push_str("</code>");
        }
        Inline::Jump { lead, to, text } => {
            let _ = write!(o, r##"{}<a href="#{}">"##, esc(lead), esc(to));
            inlines(o, text);
            o.push_str("</a>");
        }
        Inline::Link { to, text } => {
            let _ = write!(o, r##"<a href="#{}">"##, esc(to));
            inlines(o, text);
            o.push_str("</a>");
        }
        Inline::Figure(f) => figure(o, f),
        Inline::Tone(t, xs) => {
            let _ = write!(o, r#"<span class="{}">"#, tone(*t));
            inlines(o, xs);
            o.push_str("</span>");
        }
        Inline::Swatch(c) => {
            let _ = write!(
                o,
                r#"<svg class="sw" viewBox="0 0 10 10" aria-hidden="true"><rect width="10" height="10" fill="{}"/></svg>"#,
                esc(c)
            );
        }
        Inline::Quoted(s) => {
            let _ = write!(o, r#"<q class="u">{}</q>"#, esc(s));
        }
        Inline::Break => o.push_str("<br>"),
    }
}

fn tone(t: Tone) -> &'static str {
    match t {
        Tone::Good => "good",
        Tone::Bad => "bad",
    }
}

fn untrusted(o: &mut String, tag: &str, u: &Untrusted) {
    let _ = write!(
        o,
        r#"<{tag} class="u" lang="{}" dir="{}">"#,
        esc(&u.lang),
        if u.rtl { "rtl" } else { "ltr" },
    );
    esc_into(o, &u.text);
    let _ = write!(o, "</{tag}>");
}

fn table(o: &mut String, t: &Table) {
    o.push_str(r#"<div class="scroll"><table>"#);
    if let Some(c) = &t.caption {
        o.push_str("<caption>");
        inlines(o, c);
        o.push_str("</caption>");
    }
    if !t.head.is_empty() {
        o.push_str("<thead><tr>");
        for h in &t.head {
            o.push_str(r#"<th scope="col">"#);
            inlines(o, h);
            o.push_str("</th>");
        }
        o.push_str("</tr></thead>");
    }
    o.push_str("<tbody>");
    for row in &t.rows {
        o.push_str("<tr>");
        for c in row {
            cell(o, c);
        }
        o.push_str("</tr>");
    }
    o.push_str("</tbody></table></div>");
}

fn cell(o: &mut String, c: &Cell) {
    let mut class = Vec::new();
    if c.num {
        class.push("num");
    }
    if let Some(h) = c.heat {
        class.push(heat_class(h));
    }
    if let Some(t) = c.tone {
        class.push(tone(t));
    }
    let class = if class.is_empty() {
        String::new()
    } else {
        format!(r#" class="{}""#, esc(&class.join(" ")))
    };
    if c.header {
        let _ = write!(o, r#"<th scope="row"{class}>"#);
        inlines(o, &c.content);
        o.push_str("</th>");
    } else {
        let _ = write!(o, "<td{class}>");
        inlines(o, &c.content);
        o.push_str("</td>");
    }
}

fn fold(o: &mut String, f: &Fold) {
    let class = match f.kind {
        FoldKind::Plain => "",
        FoldKind::Frame => r#" class="frame""#,
        FoldKind::Card => r#" class="card""#,
        FoldKind::Item => r#" class="item""#,
    };
    let _ = write!(o, "<details{class}><summary>");
    inlines(o, &f.summary);
    o.push_str("</summary>");
    // The anchor is inside the fold, so that following a link to it opens the fold.
    match &f.id {
        Some(id) => {
            let _ = write!(o, r#"<div class="fold" id="{}">"#, esc(id));
        }
        None => o.push_str(r#"<div class="fold">"#),
    }
    blocks(o, &f.body);
    o.push_str("</div></details>");
}

/// Writes blocks.
pub fn blocks(o: &mut String, bs: &[Block]) {
    for b in bs {
        block(o, b);
    }
}

fn block(o: &mut String, b: &Block) {
    match b {
        Block::Heading { level, id, text } => {
            let level = (*level).clamp(3, 6);
            match id {
                Some(id) => {
                    let _ = write!(o, r#"<h{level} id="{}">"#, esc(id));
                }
                None => {
                    let _ = write!(o, "<h{level}>");
                }
            }
            inlines(o, text);
            let _ = write!(o, "</h{level}>");
        }
        Block::Para(xs) => wrapped(o, "<p>", xs, "</p>"),
        Block::Meta(xs) => wrapped(o, r#"<p class="meta">"#, xs, "</p>"),
        Block::Caveat(bs) => {
            o.push_str(r#"<div class="caveat">"#);
            blocks(o, bs);
            o.push_str("</div>");
        }
        Block::List(items) => {
            o.push_str("<ul>");
            for i in items {
                wrapped(o, "<li>", i, "</li>");
            }
            o.push_str("</ul>");
        }
        Block::Defs(items) => {
            o.push_str(r#"<dl class="kv">"#);
            for (k, v) in items {
                o.push_str("<dt>");
                inlines(o, k);
                o.push_str("</dt><dd>");
                inlines(o, v);
                o.push_str("</dd>");
            }
            o.push_str("</dl>");
        }
        Block::Table(t) => table(o, t),
        Block::HeatLegend => {
            o.push_str(r#"<div class="legend" role="img" aria-label="Cell colour by rate">"#);
            for (fill, step) in HEAT.iter().zip(HEAT_STEPS) {
                o.push_str("<span>");
                inline(o, &Inline::Swatch((*fill).into()));
                let _ = write!(o, "{step}</span>");
            }
            o.push_str("</div>");
        }
        Block::Chart(c) => chart(o, c),
        Block::Quote(u) => untrusted(o, "blockquote", u),
        Block::Output(u) => untrusted(o, "pre", u),
        Block::Fold(f) => fold(o, f),
        Block::Frame(bs) => {
            o.push_str(r#"<article class="frame">"#);
            blocks(o, bs);
            o.push_str("</article>");
        }
        Block::Cards(bs) => {
            o.push_str(r#"<div class="cards">"#);
            blocks(o, bs);
            o.push_str("</div>");
        }
        Block::ItemLinks { lead, ids, labels } => {
            o.push_str(r#"<p class="ids"><span class="meta">"#);
            esc_into(o, lead);
            o.push_str("</span> ");
            for &id in *ids {
                let _ = write!(o, r##"<a href="#i{id}">"##);
                esc_into(o, labels.get(id as usize).map_or("", String::as_str));
                o.push_str("</a> ");
            }
            o.push_str("</p>");
        }
        Block::Lazy(l) => {
            for i in 0..l.count {
                block(o, &(l.make)(i));
            }
        }
        Block::HtmlOnly(bs) => blocks(o, bs),
        Block::MarkdownOnly(_) => {}
    }
}

fn chart(o: &mut String, c: &Chart) {
    match c {
        Chart::Intervals(rows) => super::svg::intervals(o, rows),
        Chart::Stacked(bars) => super::svg::stacked(o, bars),
        Chart::Map(m) => super::map::svg(o, m),
    }
}

/// Renders the report.
pub fn render(r: &Report) -> String {
    render_document(&super::section::document(r))
}

/// Renders the report's document.
pub fn render_document(d: &Document<'_>) -> String {
    let mut o = String::with_capacity(64 * 1024);
    o.push_str("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">");
    o.push_str(r#"<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">"#);
    o.push_str(r#"<meta name="viewport" content="width=device-width, initial-scale=1">"#);
    let _ = write!(o, "<title>{}</title><style>", esc(&d.title));
    o.push_str(CSS);
    let _ = write!(
        o,
        "</style></head><body><main><header><h1>{}</h1>",
        esc(&d.heading)
    );
    for p in &d.intro {
        block(&mut o, p);
    }
    o.push_str("</header><nav><ul>");
    for s in &d.sections {
        let _ = write!(o, r##"<li><a href="#{}">{}</a></li>"##, s.id, esc(&s.nav));
    }
    o.push_str("</ul></nav>");
    for s in &d.sections {
        let _ = write!(o, r#"<section id="{}"><h2>{}</h2>"#, s.id, esc(&s.title));
        blocks(&mut o, &s.blocks);
        o.push_str("</section>");
    }
    o.push_str("</main></body></html>\n");
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heat_steps_cover_the_scale() {
        assert_eq!(heat_class(None), "hn");
        assert_eq!(heat_class(Some(0.0)), "h0");
        assert_eq!(heat_class(Some(0.01)), "h1");
        assert_eq!(heat_class(Some(0.2)), "h1");
        assert_eq!(heat_class(Some(0.21)), "h2");
        assert_eq!(heat_class(Some(1.0)), "h5");
        assert_eq!(heat_fill(Some(1.0)), HEAT[5]);
        assert_eq!(HEAT.len(), HEAT_STEPS.len());
    }

    #[test]
    fn links_into_folds_put_the_anchor_inside() {
        let mut o = String::new();
        block(
            &mut o,
            &super::super::doc::build::fold(
                Some("i3".into()),
                FoldKind::Item,
                vec![Inline::Text("<s>".into())],
                vec![Block::Output(Untrusted {
                    text: "a</pre>".into(),
                    lang: "en".into(),
                    rtl: false,
                })],
            ),
        );
        assert_eq!(
            o,
            r#"<details class="item"><summary>&lt;s&gt;</summary><div class="fold" id="i3"><pre class="u" lang="en" dir="ltr">a&lt;/pre&gt;</pre></div></details>"#
        );
    }
}
