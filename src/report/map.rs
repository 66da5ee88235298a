//! The world map: correct-referral rate by country as an inline SVG choropleth, drawn from
//! vendored Natural Earth 1:110m boundaries, with small countries (and those the 1:110m
//! boundaries leave out) also drawn as points from Natural Earth 1:10m (public domain; see
//! `src/report/map/README.md`); and the same figures as CSV and GeoJSON with ISO codes.

use super::escape::esc;
use super::fmt::{interval, pct};
use super::model::MapCountry;
pub use super::section::map::MapChart;
use std::fmt::Write as _;

/// The vendored boundaries: `alpha-2 \t name \t SVG path` per line.
const BOUNDARIES: &str = include_str!("map/countries-110m.tsv");

/// One country of the vendored map.
#[derive(Debug, Clone, Copy)]
pub struct Shape {
    /// ISO 3166-1 alpha-2 (`-` when it has none).
    pub code: &'static str,
    /// Name.
    pub name: &'static str,
    /// SVG path in the 1000 × 500 view box.
    pub path: &'static str,
}

/// Every country of the vendored map.
pub fn shapes() -> impl Iterator<Item = Shape> {
    BOUNDARIES.lines().filter_map(|l| {
        let mut f = l.splitn(3, '\t');
        Some(Shape {
            code: f.next()?,
            name: f.next()?,
            path: f.next()?,
        })
    })
}

/// Countries with fewer items than this are hatched: their rate rests on too little.
pub const FEW_ITEMS: u64 = 10;

/// A country whose shape spans less than this (view-box units, either way) is also drawn
/// as a point, so that it can be seen.
const SMALL_SHAPE: f64 = 8.0;

/// The vendored points: `alpha-2 \t name \t x,y` per line.
const POINTS: &str = include_str!("map/points-10m.tsv");

/// A representative point of a country (the centroid of its largest polygon at 1:10m), in
/// the map's view box; every country of the directory has one.
pub fn point(code: &str) -> Option<(f64, f64)> {
    POINTS.lines().find_map(|l| {
        let mut f = l.splitn(3, '\t');
        if f.next()? != code {
            return None;
        }
        let (x, y) = f.nth(1)?.split_once(',')?;
        Some((x.parse().ok()?, y.parse().ok()?))
    })
}

/// The extent of a path (width, height) in view-box units.
fn extent(path: &str) -> (f64, f64) {
    let (mut x0, mut y0, mut x1, mut y1) = (f64::MAX, f64::MAX, f64::MIN, f64::MIN);
    for p in path.split(['M', 'L', 'Z']).filter(|p| !p.is_empty()) {
        if let Some((x, y)) = p.split_once(',') {
            if let (Ok(x), Ok(y)) = (x.parse::<f64>(), y.parse::<f64>()) {
                x0 = x0.min(x);
                x1 = x1.max(x);
                y0 = y0.min(y);
                y1 = y1.max(y);
            }
        }
    }
    (x1 - x0, y1 - y0)
}

/// The words of a country's figure (its tooltip and its name for screen readers).
fn words(c: &MapCountry) -> String {
    let e = &c.helpline_correct.estimate;
    format!(
        "{}: correct child helpline in {} of {} items ({}; 95% interval {}){}",
        c.name,
        e.k,
        e.n,
        pct(e.p),
        interval(e.lo, e.hi),
        if e.n < FEW_ITEMS {
            ", fewer than 10 items"
        } else {
            ""
        }
    )
}

/// The map of one system: the countries with scenarios filled by their correct-helpline
/// rate on the heat scale (hatched when they have fewer than [`FEW_ITEMS`] items), small
/// countries and those the 1:110m boundaries leave out also drawn as points; each linked to
/// its items. Others are grey. The SVG holds no text: its legend is the page's.
pub fn svg(o: &mut String, m: &MapChart) {
    let hatch = format!("hatch-{}", esc(&m.anchor));
    let _ = write!(
        o,
        r##"<div class="map"><svg viewBox="0 0 1000 500" role="img" aria-label="{}" xmlns="http://www.w3.org/2000/svg"><defs><pattern id="{hatch}" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><rect width="6" height="6" fill="#fff" fill-opacity="0.25"/><line x1="0" y1="0" x2="0" y2="6" stroke="#222" stroke-width="2.2"/></pattern></defs><rect width="1000" height="500" fill="#f4f8fb"/>"##,
        esc(&format!(
            "Correct child helpline by country, {}: countries coloured by rate",
            m.system
        ))
    );
    let mut drawn = std::collections::BTreeSet::new();
    let link = |o: &mut String, c: &MapCountry, shape: &str| match c.helpline_correct.items {
        Some(l) => {
            let _ = write!(o, r##"<a href="#l{l}">{shape}</a>"##);
        }
        None => o.push_str(shape),
    };
    let mut points = Vec::new();
    for sh in shapes() {
        match m
            .countries
            .iter()
            .find(|c| c.code == sh.code && sh.code != "-")
        {
            Some(c) => {
                let e = &c.helpline_correct.estimate;
                let few = e.n < FEW_ITEMS;
                let mut shape = format!(
                    r##"<g><title>{}</title><path d="{}" fill="{}" stroke="#777" stroke-width="0.4"/>"##,
                    esc(&words(c)),
                    sh.path,
                    crate::report::html::heat_fill(e.p),
                );
                if few {
                    let _ = write!(shape, r##"<path d="{}" fill="url(#{hatch})"/>"##, sh.path);
                }
                shape.push_str("</g>");
                link(o, c, &shape);
                drawn.insert(c.code.as_str());
                let (w, h) = extent(sh.path);
                if w.max(h) < SMALL_SHAPE {
                    points.push(c);
                }
            }
            None => {
                let _ = write!(
                    o,
                    r##"<path d="{}" fill="#e3e3e3" stroke="#fff" stroke-width="0.5"><title>{}: no scenarios</title></path>"##,
                    sh.path,
                    esc(sh.name)
                );
            }
        }
    }
    points.extend(
        m.countries
            .iter()
            .filter(|c| !drawn.contains(c.code.as_str())),
    );
    for c in points {
        let Some((x, y)) = point(&c.code) else {
            continue;
        };
        let e = &c.helpline_correct.estimate;
        let mut dot = format!(
            r##"<g><title>{}</title><circle cx="{x}" cy="{y}" r="6" fill="{}" stroke="#222" stroke-width="1.2"/>"##,
            esc(&words(c)),
            crate::report::html::heat_fill(e.p)
        );
        if e.n < FEW_ITEMS {
            let _ = write!(
                dot,
                r##"<circle cx="{x}" cy="{y}" r="6" fill="url(#{hatch})"/>"##
            );
        }
        dot.push_str("</g>");
        link(o, c, &dot);
    }
    o.push_str("</svg></div>");
}

/// `map.csv`: one row per system and country.
pub fn csv(countries: &[MapCountry]) -> String {
    let mut o = String::from("system,iso_alpha2,country,helpline_correct_k,n,rate,ci_lo,ci_hi\n");
    let q = |s: &str| format!("\"{}\"", super::escape::neutralise(s).replace('"', "\"\""));
    let num = |x: Option<f64>| x.map(|v| format!("{v:.6}")).unwrap_or_default();
    for c in countries {
        let e = &c.helpline_correct.estimate;
        let _ = writeln!(
            o,
            "{},{},{},{},{},{},{},{}",
            q(&c.system),
            q(&c.code),
            q(&c.name),
            e.k,
            e.n,
            num(e.p),
            num(e.lo),
            num(e.hi)
        );
    }
    o
}

/// Parses an SVG path of the vendored map back into rings of (lon, lat).
fn rings(path: &str) -> Vec<Vec<[f64; 2]>> {
    path.split('M')
        .filter(|r| !r.is_empty())
        .map(|r| {
            r.trim_end_matches('Z')
                .split('L')
                .filter_map(|p| {
                    let (x, y) = p.split_once(',')?;
                    let (x, y): (f64, f64) = (x.parse().ok()?, y.parse().ok()?);
                    // Rings drawn twice across the antimeridian are clamped to ±180°.
                    let lon = (x / 1000.0 * 360.0 - 180.0).clamp(-180.0, 180.0);
                    let lat = 90.0 - y / 500.0 * 180.0;
                    Some([(lon * 100.0).round() / 100.0, (lat * 100.0).round() / 100.0])
                })
                .chain(std::iter::once([f64::NAN; 2]))
                .collect::<Vec<_>>()
        })
        .map(|mut r: Vec<[f64; 2]>| {
            r.pop();
            if let Some(first) = r.first().copied() {
                r.push(first);
            }
            r
        })
        .collect()
}

/// `map.geojson`: a FeatureCollection with one feature per country with figures (its
/// simplified boundary, ISO code, and each system's figure).
pub fn geojson(countries: &[MapCountry]) -> serde_json::Value {
    let features: Vec<serde_json::Value> = shapes()
        .filter(|sh| sh.code != "-")
        .filter_map(|sh| {
            let figs: Vec<&MapCountry> = countries.iter().filter(|c| c.code == sh.code).collect();
            if figs.is_empty() {
                return None;
            }
            let systems: Vec<serde_json::Value> = figs
                .iter()
                .map(|c| {
                    let e = &c.helpline_correct.estimate;
                    serde_json::json!({"system": c.system, "helpline_correct_k": e.k, "n": e.n,
                        "rate": e.p, "ci_lo": e.lo, "ci_hi": e.hi})
                })
                .collect();
            let polys: Vec<serde_json::Value> = rings(sh.path)
                .into_iter()
                .map(|r| serde_json::json!([r]))
                .collect();
            Some(serde_json::json!({
                "type": "Feature",
                "properties": {"iso_alpha2": sh.code, "name": figs[0].name, "figures": systems},
                "geometry": {"type": "MultiPolygon", "coordinates": polys}
            }))
        })
        .collect();
    serde_json::json!({"type": "FeatureCollection", "features": features})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vendored_map_has_countries_with_iso_codes() {
        let all: Vec<Shape> = shapes().collect();
        assert!(all.len() > 150, "{}", all.len());
        for code in ["GB", "BR", "IN", "JP", "KE", "US", "FR"] {
            assert!(all.iter().any(|s| s.code == code), "{code}");
        }
        assert!(all
            .iter()
            .all(|s| s.path.starts_with('M') && s.path.ends_with('Z')));
        assert!(BOUNDARIES.len() < 300_000);
        // Countries the 1:110m boundaries leave out have points.
        for code in ["BH", "GI", "LI"] {
            assert!(all.iter().all(|s| s.code != code), "{code}");
            let (x, y) = point(code).unwrap();
            assert!(
                (400.0..700.0).contains(&x) && (100.0..200.0).contains(&y),
                "{code}"
            );
        }

        let gb = all.iter().find(|s| s.code == "GB").unwrap();
        assert!(extent(gb.path).0 > SMALL_SHAPE);
        let r = rings(gb.path);
        assert!(!r.is_empty());
        // Great Britain lies between 11°W and 2°E, 49°N and 61°N.
        for p in r.iter().flatten() {
            assert!(
                (-11.0..=2.5).contains(&p[0]) && (49.0..=61.0).contains(&p[1]),
                "{p:?}"
            );
        }
    }
}
