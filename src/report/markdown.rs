//! `report.md`: the document model ([`super::doc`]) as Markdown, for reading in a repository
//! or pasting into a document. It says what the HTML says, in the same words, without the
//! charts (their figures are in the tables beside them), the map and the item appendix
//! (results.csv and map.csv hold them). Untrusted text goes into fenced code blocks (a fence
//! longer than any run of backticks in it) or through [`md`], which turns markup characters
//! into entities.

use super::doc::{Block, Document, Fold, Inline, Table};
use super::escape::neutralise;
use super::fmt::{interval, pct, pp};
use super::model::{Figure, Report};
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

/// A figure as text: `41.2% [30.1–52.3%]† 35/85 ⚠ MDE 30.4 pp`.
fn figure(o: &mut String, f: &Figure) {
    let e = &f.estimate;
    if e.n == 0 {
        o.push_str("no items");
        return;
    }
    let _ = write!(
        o,
        "{} [{}]{} {}/{}",
        pct(e.p),
        interval(e.lo, e.hi),
        e.method.mark(),
        e.k,
        e.n
    );
    if f.underpowered {
        let _ = write!(o, " ⚠ MDE {}", pp(f.mde).trim_start_matches('+'));
    }
}

fn inlines(o: &mut String, xs: &[Inline]) {
    for x in xs {
        inline(o, x);
    }
}

fn inline(o: &mut String, x: &Inline) {
    match x {
        Inline::Text(s) | Inline::Name(s) => o.push_str(&md(s)),
        Inline::Strong(xs) => {
            let mut inner = String::new();
            inlines(&mut inner, xs);
            if inner.trim().is_empty() {
                o.push_str(&inner);
            } else {
                let _ = write!(o, "**{}**", inner.trim());
            }
        }
        Inline::Meta(xs) | Inline::Tone(_, xs) | Inline::Link { text: xs, .. } => inlines(o, xs),
        // A code span only for plain identifiers, hashes and links: anything else (a
        // contact as a model wrote it) is escaped text.
        Inline::Code(s)
            if !s.is_empty()
                && s.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"._:/-?=%#~+,".contains(&b)) =>
        {
            let _ = write!(o, "`{s}`");
        }
        Inline::Code(s) => o.push_str(&md(s)),
        Inline::Figure(f) => figure(o, f),
        Inline::Swatch(_) | Inline::Jump { .. } => {}
        Inline::Quoted(s) => {
            let _ = write!(o, "“{}”", md(s));
        }
        Inline::Break => o.push_str(" · "),
    }
}

fn line(xs: &[Inline]) -> String {
    let mut s = String::new();
    inlines(&mut s, xs);
    s.trim().to_string()
}

fn table(o: &mut String, t: &Table) {
    if let Some(c) = &t.caption {
        let _ = writeln!(o, "*{}*\n", line(c));
    }
    let cols = t
        .head
        .len()
        .max(t.rows.iter().map(Vec::len).max().unwrap_or(0));
    if cols == 0 {
        return;
    }
    o.push('|');
    for i in 0..cols {
        let h = t.head.get(i).map(|h| line(h)).unwrap_or_default();
        let _ = write!(o, " {h} |");
    }
    o.push_str("\n|");
    o.push_str(&"---|".repeat(cols));
    o.push('\n');
    for row in &t.rows {
        o.push('|');
        for i in 0..cols {
            let c = row.get(i).map(|c| line(&c.content)).unwrap_or_default();
            let _ = write!(o, " {c} |");
        }
        o.push('\n');
    }
    o.push('\n');
}

fn fold(o: &mut String, f: &Fold) {
    let s = line(&f.summary);
    if !s.is_empty() {
        let _ = writeln!(o, "{s}\n");
    }
    blocks(o, &f.body);
}

/// Writes blocks.
pub fn blocks(o: &mut String, bs: &[Block]) {
    for b in bs {
        block(o, b);
    }
}

fn block(o: &mut String, b: &Block) {
    match b {
        Block::Heading { level, text, .. } => {
            let _ = writeln!(o, "{} {}\n", "#".repeat(*level as usize), line(text));
        }
        Block::Para(xs) | Block::Meta(xs) => {
            let l = line(xs);
            if !l.is_empty() {
                let _ = writeln!(o, "{l}\n");
            }
        }
        Block::Caveat(bs) => {
            let mut inner = String::new();
            blocks(&mut inner, bs);
            for l in inner.trim_end().lines() {
                if l.is_empty() {
                    o.push_str(">\n");
                } else {
                    let _ = writeln!(o, "> {l}");
                }
            }
            o.push('\n');
        }
        Block::List(items) => {
            for i in items {
                let _ = writeln!(o, "- {}", line(i));
            }
            o.push('\n');
        }
        Block::Defs(items) => {
            for (k, v) in items {
                let _ = writeln!(o, "- {}: {}", line(k), line(v));
            }
            o.push('\n');
        }
        Block::Table(t) => table(o, t),
        Block::Chart(_) | Block::HeatLegend | Block::HtmlOnly(_) => {}
        Block::Quote(u) | Block::Output(u) => fenced(o, &u.text),
        Block::Fold(f) => fold(o, f),
        Block::Frame(bs) | Block::Cards(bs) | Block::MarkdownOnly(bs) => blocks(o, bs),
        Block::ItemLinks { lead, ids, labels } => {
            let names: Vec<String> = ids
                .iter()
                .map(|&i| md(labels.get(i as usize).map_or("", String::as_str)))
                .collect();
            let _ = writeln!(o, "{} {}\n", md(lead), names.join(" "));
        }
        Block::Lazy(l) => {
            for i in 0..l.count {
                block(o, &(l.make)(i));
            }
        }
    }
}

/// Renders the report.
pub fn render(r: &Report) -> String {
    render_document(&super::section::document(r))
}

/// Renders the report's document.
pub fn render_document(d: &Document<'_>) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "# {}\n", md(&d.heading));
    blocks(&mut o, &d.intro);
    for s in d.sections.iter().filter(|s| s.markdown) {
        let _ = writeln!(o, "## {}\n", md(&s.title));
        blocks(&mut o, &s.blocks);
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caveats_are_quoted_and_tables_escape_their_cells() {
        let mut o = String::new();
        blocks(
            &mut o,
            &[
                Block::Caveat(vec![Block::Para(vec![Inline::Text("a floor".into())])]),
                Block::Table(Table {
                    caption: None,
                    head: vec![vec![Inline::Text("A".into())]],
                    rows: vec![vec![super::super::doc::Cell::new(vec![Inline::Name(
                        "x|<y>".into(),
                    )])]],
                }),
            ],
        );
        assert_eq!(o, "> a floor\n\n| A |\n|---|\n| x&#124;&lt;y&gt; |\n\n");
    }
}
