//! The HTML writer's charts ([`super::doc::Chart`]): words in HTML, shapes in SVG. An SVG
//! here holds no text, so it can stretch to any width and no word shrinks below the page's
//! own size (at least 11 CSS px at 360 px); every label goes through [`esc`], every number
//! printed is a figure of the report, and each chart sits beside a table with its figures.

use super::doc::{IntervalRow, StackedBar};
use super::escape::esc;
use super::fmt::{interval, pct};
use std::fmt::Write as _;

/// The axis ticks of a rate chart, in percent.
pub const TICKS: [u32; 5] = [0, 25, 50, 75, 100];

/// Rates with their intervals: per row, the label and the figure in words, then a track
/// from 0 to 100% with the interval as a bar and the rate as a mark (linked to its items).
pub fn intervals(o: &mut String, rows: &[IntervalRow]) {
    o.push_str(r#"<div class="iv">"#);
    for r in rows {
        let e = &r.figure.estimate;
        let words = format!(
            "{} {} (95% interval {}), {}/{}",
            r.label,
            pct(e.p),
            interval(e.lo, e.hi),
            e.k,
            e.n
        );
        let _ = write!(
            o,
            r#"<div class="row"><div><bdi>{}</bdi> <span class="n">{} [{}] {}/{}</span></div><svg viewBox="0 0 100 10" preserveAspectRatio="none" role="img" aria-label="{}">"#,
            esc(&r.label),
            pct(e.p),
            interval(e.lo, e.hi),
            e.k,
            e.n,
            esc(&words)
        );
        for t in TICKS {
            let _ = write!(
                o,
                r##"<line x1="{t}" y1="0" x2="{t}" y2="10" stroke="#ccc" vector-effect="non-scaling-stroke"/>"##
            );
        }
        if let (Some(p), Some(lo), Some(hi)) = (e.p, e.lo, e.hi) {
            let mark = format!(
                r##"<rect x="{:.2}" y="4" width="{:.2}" height="2" fill="#1f4e79"/><rect x="{:.2}" y="1" width="1.2" height="8" fill="#1f4e79"><title>{}</title></rect>"##,
                lo * 100.0,
                ((hi - lo) * 100.0).max(0.3),
                (p * 100.0 - 0.6).clamp(0.0, 98.8),
                esc(&words)
            );
            match r.figure.items {
                Some(l) => {
                    let _ = write!(o, r##"<a href="#l{l}">{mark}</a>"##);
                }
                None => o.push_str(&mark),
            }
        }
        o.push_str("</svg></div>");
    }
    o.push_str(r#"<div class="axis" aria-hidden="true">"#);
    for t in TICKS {
        let _ = write!(o, "<span>{t}%</span>");
    }
    o.push_str("</div></div>");
}

/// Stacked bars: per bar, its caption in words, then one segment per part (width = its
/// share), each linked to its items. The table beside it names the parts, with their
/// colours.
pub fn stacked(o: &mut String, bars: &[StackedBar]) {
    o.push_str(r#"<div class="bars">"#);
    for b in bars {
        let words: Vec<String> = b
            .segments
            .iter()
            .filter(|s| s.count > 0)
            .map(|s| format!("{} {}", s.label, s.count))
            .collect();
        let _ = write!(
            o,
            r#"<div class="row"><div><bdi>{}</bdi></div><svg viewBox="0 0 100 10" preserveAspectRatio="none" role="img" aria-label="{}">"#,
            esc(&b.label),
            esc(&words.join(", "))
        );
        let mut x = 0.0;
        for s in b.segments.iter().filter(|s| s.share > 0.0) {
            let w = s.share * 100.0;
            let rect = format!(
                r##"<rect x="{x:.2}" y="0" width="{w:.2}" height="10" fill="{}" stroke="#fff" vector-effect="non-scaling-stroke"><title>{}: {} ({})</title></rect>"##,
                esc(&s.colour),
                esc(&s.label),
                s.count,
                pct(Some(s.share))
            );
            match s.items {
                Some(l) => {
                    let _ = write!(o, r##"<a href="#l{l}">{rect}</a>"##);
                }
                None => o.push_str(&rect),
            }
            x += w;
        }
        o.push_str("</svg></div>");
    }
    o.push_str("</div>");
}

#[cfg(test)]
mod tests {
    use super::super::doc::Segment;
    use super::*;

    #[test]
    fn charts_hold_no_svg_text_and_escape_labels() {
        let mut o = String::new();
        stacked(
            &mut o,
            &[StackedBar {
                label: "<m>".into(),
                segments: vec![Segment {
                    label: "No referral".into(),
                    count: 3,
                    share: 1.0,
                    colour: "#90a4ae".into(),
                    items: Some(4),
                }],
            }],
        );
        assert!(!o.contains("<text"));
        assert!(o.contains("&lt;m&gt;") && o.contains(r##"<a href="#l4">"##));
    }
}
