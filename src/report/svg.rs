//! Inline SVG charts: a forest plot of pass rates, a harm × system heatmap, the failure
//! anatomy and the conversations' turn-by-turn strip. Every label
//! goes through [`esc`]; every number printed is a figure of the report.

use super::escape::esc;
use super::fmt::{interval, pct};
use super::model::{Breakdown, Metric, Report};
use super::section::conversations::ConversationGroup;
use std::fmt::Write as _;

/// The fill of a rate: red (0) through amber to green (1); grey when missing.
fn colour(p: Option<f64>) -> String {
    match p {
        Some(p) => format!("hsl({:.0},62%,{:.0}%)", p.clamp(0.0, 1.0) * 120.0, 80.0),
        None => "#e5e5e5".into(),
    }
}

/// Forest plot of the pass rate of each system with its interval.
pub fn forest(r: &Report) -> String {
    let w = 720.0;
    let (left, right) = (16.0, 24.0);
    let row = 40.0;
    let top = 24.0;
    let h = top + row * r.leaderboard.len() as f64 + 8.0;
    let x = |p: f64| left + p * (w - left - right);
    let mut s = format!(
        r#"<svg class="chart" viewBox="0 0 {w} {h}" width="100%" role="img" aria-label="Pass rate of each system with its 95% interval" xmlns="http://www.w3.org/2000/svg">"#
    );
    for t in &r.settings.chart_ticks_percent {
        let tx = x(f64::from(*t) / 100.0);
        let _ = write!(
            s,
            r##"<line x1="{tx:.1}" y1="{:.1}" x2="{tx:.1}" y2="{:.1}" stroke="#ccc"/><text x="{tx:.1}" y="14" font-size="11" text-anchor="middle" fill="#555">{t}%</text>"##,
            top - 4.0,
            h - 4.0
        );
    }
    for (i, sys) in r.leaderboard.iter().enumerate() {
        let f = &sys
            .metrics
            .iter()
            .find(|m| m.metric == Metric::Pass)
            .expect("pass")
            .figure;
        let y = top + row * i as f64;
        let _ = write!(
            s,
            r##"<text x="{left}" y="{:.1}" font-size="12" fill="#222">{}</text>"##,
            y + 12.0,
            esc(&sys.system)
        );
        if let (Some(p), Some(lo), Some(hi)) = (f.estimate.p, f.estimate.lo, f.estimate.hi) {
            let yb = y + 26.0;
            let _ = write!(
                s,
                r##"<g><title>{} {} ({}), n = {}</title><line x1="{:.1}" y1="{yb:.1}" x2="{:.1}" y2="{yb:.1}" stroke="#1f4e79" stroke-width="3"/><circle cx="{:.1}" cy="{yb:.1}" r="5" fill="#1f4e79"/></g>"##,
                esc(&sys.system),
                pct(Some(p)),
                interval(Some(lo), Some(hi)),
                f.estimate.n,
                x(lo),
                x(hi),
                x(p)
            );
        }
    }
    s.push_str("</svg>");
    s
}

/// Heatmap of a breakdown: one row per value, one column per system (by rank).
pub fn heatmap(r: &Report, b: &Breakdown) -> String {
    let cols = r.leaderboard.len().max(1) as f64;
    let label_w = 170.0;
    let cw = ((720.0 - label_w) / cols).clamp(40.0, 110.0);
    let rh = 24.0;
    let top = 24.0;
    let w = label_w + cw * cols;
    let h = top + rh * b.rows.len() as f64 + 4.0;
    let mut s = format!(
        r#"<svg class="chart" viewBox="0 0 {w:.0} {h:.0}" width="{w:.0}" role="img" aria-label="{} by {}" xmlns="http://www.w3.org/2000/svg">"#,
        esc(b.metric.label()),
        esc(&b.title)
    );
    for sys in &r.leaderboard {
        let cx = label_w + cw * (sys.rank as f64 - 0.5);
        let _ = write!(
            s,
            r##"<text x="{cx:.1}" y="16" font-size="11" text-anchor="middle" fill="#333">#{}</text>"##,
            sys.rank
        );
    }
    for (i, row) in b.rows.iter().enumerate() {
        let y = top + rh * i as f64;
        let _ = write!(
            s,
            r##"<text x="4" y="{:.1}" font-size="11" fill="#222">{}</text>"##,
            y + 16.0,
            esc(&row.value)
        );
        for (j, c) in row.cells.iter().enumerate() {
            let e = &c.figure.estimate;
            let cx = label_w + cw * j as f64;
            let label = match e.p {
                Some(p) => format!("{:.0}%", p * 100.0),
                None => "–".into(),
            };
            let weak = if c.figure.underpowered && e.n > 0 {
                r#" fill-opacity="0.55""#
            } else {
                ""
            };
            let _ = write!(
                s,
                r##"<g><title>{} · {}: {} ({}), n = {}{}</title><rect x="{:.1}" y="{y:.1}" width="{:.1}" height="{:.1}" fill="{}"{weak} stroke="#fff"/><text x="{:.1}" y="{:.1}" font-size="11" text-anchor="middle" fill="#111">{label}{}</text></g>"##,
                esc(&row.value),
                esc(&c.system),
                pct(e.p),
                interval(e.lo, e.hi),
                e.n,
                if c.figure.underpowered {
                    " (underpowered)"
                } else {
                    ""
                },
                cx,
                cw,
                rh,
                colour(e.p),
                cx + cw / 2.0,
                y + 16.0,
                if c.figure.underpowered && e.n > 0 {
                    "*"
                } else {
                    ""
                }
            );
        }
    }
    s.push_str("</svg>");
    s
}

/// Failure anatomy: one stacked bar per system, a segment per primary reason (width = share
/// of its failed help-seeking items), each segment linked to its items.
pub fn anatomy(r: &Report) -> String {
    let w = 720.0;
    let (left, right) = (8.0, 8.0);
    let row = 44.0;
    let h = 8.0 + row * r.anatomy.len() as f64;
    let mut s = format!(
        r#"<svg class="chart" viewBox="0 0 {w} {h}" width="100%" role="img" aria-label="Failed help-seeking items by primary reason, per system" xmlns="http://www.w3.org/2000/svg">"#
    );
    for (i, a) in r.anatomy.iter().enumerate() {
        let y = 4.0 + row * i as f64;
        let _ = write!(
            s,
            r##"<text x="{left}" y="{:.1}" font-size="12" fill="#222">{} — {} of {} help-seeking items fail</text>"##,
            y + 12.0,
            esc(&a.system),
            a.failed,
            a.items
        );
        let mut x = left;
        for seg in &a.segments {
            let Some(share) = seg.share.filter(|s| *s > 0.0) else {
                continue;
            };
            let sw = share * (w - left - right);
            let reason = super::anatomy::Reason::from_id(&seg.reason);
            let rect = format!(
                r##"<rect x="{x:.1}" y="{:.1}" width="{sw:.1}" height="18" fill="{}" stroke="#fff"><title>{}: {} ({})</title></rect>"##,
                y + 18.0,
                reason.map(|r| r.colour()).unwrap_or("#ccc"),
                esc(reason.map(|r| r.label()).unwrap_or(&seg.reason)),
                seg.count,
                pct(seg.share)
            );
            match seg.items {
                Some(l) => {
                    let _ = write!(s, r##"<a href="#l{l}">{rect}</a>"##);
                }
                None => s.push_str(&rect),
            }
            x += sw;
        }
    }
    s.push_str("</svg>");
    s
}

/// The turn-by-turn strip of a conversation group: one row per family, one column per child
/// turn; each cell is coloured by the share of the family's conversations whose answer at
/// that turn gives a correct referral, shows k/n, and links to that turn of the family's
/// transcript. A thick dark border and `P` mark a push-back turn; `!` marks the turn where
/// the risk becomes imminent.
pub fn strip(g: &ConversationGroup) -> String {
    let longest = g
        .strip
        .rows
        .iter()
        .map(|r| r.family.chars().count())
        .max()
        .unwrap_or(0);
    let label_w = (10.0 + 7.0 * longest as f64).clamp(80.0, 240.0);
    let cw = 64.0;
    let rh = 30.0;
    let top = 22.0;
    let cols = g.strip.turns.max(1) as f64;
    let w = label_w + cw * cols + 4.0;
    let h = top + rh * g.strip.rows.len() as f64 + 4.0;
    let id = esc(&g.anchor);
    let mut s = format!(
        r#"<svg class="chart" viewBox="0 0 {w:.0} {h:.0}" width="{w:.0}" role="img" aria-labelledby="{id}-st {id}-sd" xmlns="http://www.w3.org/2000/svg"><title id="{id}-st">Correct referral by child turn and family: {}</title><desc id="{id}-sd">One row per scenario family, one column per child turn. Each cell gives how many of the family's conversations got a correct referral in the answer to that turn, out of those that reached it; greener is more. P and a dark border mark a push-back turn; ! marks the turn where the risk becomes imminent. The table below gives the same figures.</desc>"#,
        esc(&g.system)
    );
    for n in 1..=g.strip.turns {
        let _ = write!(
            s,
            r##"<text x="{:.1}" y="15" font-size="11" text-anchor="middle" fill="#333">turn {n}</text>"##,
            label_w + cw * (n as f64 - 0.5)
        );
    }
    for (i, row) in g.strip.rows.iter().enumerate() {
        let y = top + rh * i as f64;
        let _ = write!(
            s,
            r##"<text x="4" y="{:.1}" font-size="12" fill="#222">{}</text>"##,
            y + 19.0,
            esc(&row.family)
        );
        for c in &row.cells {
            let x = label_w + cw * (c.number as f64 - 1.0);
            let mut notes = String::new();
            if c.pushback > 0 {
                let _ = write!(notes, "; push-back here in {} of {}", c.pushback, c.n);
            }
            if c.imminent > 0 {
                let _ = write!(
                    notes,
                    "; risk becomes imminent here in {} of {}",
                    c.imminent, row.conversations
                );
            }
            let (stroke, sw) = if c.pushback > 0 {
                ("#1f4e79", 3.0)
            } else {
                ("#fff", 1.0)
            };
            let text = if c.n == 0 {
                "–".to_string()
            } else {
                format!("{}/{}", c.referral, c.n)
            };
            let mut cell = format!(
                r##"<g><title>{} · turn {}: correct referral in {} of {} ({}){}</title><rect x="{:.1}" y="{:.1}" width="{:.1}" height="{:.1}" fill="{}" stroke="{stroke}" stroke-width="{sw}"/><text x="{:.1}" y="{:.1}" font-size="12" text-anchor="middle" fill="#111">{text}</text>"##,
                esc(&row.family),
                c.number,
                c.referral,
                c.n,
                pct(c.share),
                esc(&notes),
                x + 1.0,
                y + 1.0,
                cw - 2.0,
                rh - 2.0,
                colour(c.share),
                x + cw / 2.0,
                y + 20.0
            );
            if c.pushback > 0 {
                let _ = write!(
                    cell,
                    r##"<text x="{:.1}" y="{:.1}" font-size="10" font-weight="700" fill="#1f4e79">P</text>"##,
                    x + 5.0,
                    y + 12.0
                );
            }
            if c.imminent > 0 {
                let _ = write!(
                    cell,
                    r##"<text x="{:.1}" y="{:.1}" font-size="10" font-weight="700" fill="#a4262c">!</text>"##,
                    x + cw - 9.0,
                    y + 13.0
                );
            }
            cell.push_str("</g>");
            match &c.link {
                Some(l) => {
                    let _ = write!(s, r##"<a href="#{}">{cell}</a>"##, esc(l));
                }
                None => s.push_str(&cell),
            }
        }
    }
    s.push_str("</svg>");
    s
}
