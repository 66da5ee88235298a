//! The world map: correct-referral rate by country as an inline SVG choropleth, drawn from
//! vendored Natural Earth 1:110m boundaries (public domain; see `src/report/map/README.md`),
//! and the same figures as CSV and GeoJSON with ISO codes.

use super::escape::esc;
use super::fmt::{interval, pct};
use super::model::MapCountry;
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

/// The fill of a rate (red through amber to green), grey hatch when there are no scenarios.
fn fill(p: Option<f64>) -> String {
    match p {
        Some(p) => format!("hsl({:.0},62%,{:.0}%)", p.clamp(0.0, 1.0) * 120.0, 55.0),
        None => "#e3e3e3".into(),
    }
}

/// The map of one system: countries with scenarios filled by their correct-helpline rate and
/// linked to their items; others grey ("no scenarios").
pub fn svg(system: &str, countries: &[&MapCountry]) -> String {
    let mut s = format!(
        r##"<svg class="chart map" viewBox="0 0 1000 500" width="100%" role="img" aria-label="Correct child helpline by country, {}" xmlns="http://www.w3.org/2000/svg"><rect width="1000" height="500" fill="#f4f8fb"/>"##,
        esc(system)
    );
    for sh in shapes() {
        let c = countries
            .iter()
            .find(|c| c.code == sh.code && sh.code != "-");
        match c {
            Some(c) => {
                let e = &c.helpline_correct.estimate;
                let title = format!(
                    "{}: {} correct child helpline ({}/{}; 95% CI {})",
                    c.name,
                    pct(e.p),
                    e.k,
                    e.n,
                    interval(e.lo, e.hi)
                );
                let shape = format!(
                    r##"<path d="{}" fill="{}" stroke="#fff" stroke-width="0.5"><title>{}</title></path>"##,
                    sh.path,
                    fill(e.p),
                    esc(&title)
                );
                match c.helpline_correct.items {
                    Some(l) => {
                        let _ = write!(s, r##"<a href="#l{l}">{shape}</a>"##);
                    }
                    None => s.push_str(&shape),
                }
            }
            None => {
                let _ = write!(
                    s,
                    r##"<path d="{}" fill="#e3e3e3" stroke="#fff" stroke-width="0.5"><title>{}: no scenarios</title></path>"##,
                    sh.path,
                    esc(sh.name)
                );
            }
        }
    }
    // Legend.
    for (i, p) in [0.0, 0.25, 0.5, 0.75, 1.0].iter().enumerate() {
        let x = 20.0 + i as f64 * 46.0;
        let _ = write!(
            s,
            r##"<rect x="{x}" y="440" width="44" height="14" fill="{}"/><text x="{}" y="470" font-size="12" text-anchor="middle" fill="#333">{:.0}%</text>"##,
            fill(Some(*p)),
            x + 22.0,
            p * 100.0
        );
    }
    s.push_str(r##"<rect x="262" y="440" width="44" height="14" fill="#e3e3e3"/><text x="312" y="452" font-size="12" fill="#333">no scenarios</text></svg>"##);
    s
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
        let gb = all.iter().find(|s| s.code == "GB").unwrap();
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
