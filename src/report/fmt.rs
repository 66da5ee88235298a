//! Number formatting shared by the renderers and the headline sentences, so that a figure
//! reads the same everywhere and can be traced back to `results.json`.

/// A rate as a percentage with one decimal (`41.2%`); `–` when missing.
pub fn pct(p: Option<f64>) -> String {
    match p {
        Some(p) => format!("{:.1}%", p * 100.0),
        None => "–".into(),
    }
}

/// An interval in percent (`30.1–52.3%`).
pub fn interval(lo: Option<f64>, hi: Option<f64>) -> String {
    match (lo, hi) {
        (Some(l), Some(h)) => format!("{:.1}–{:.1}%", l * 100.0, h * 100.0),
        _ => "–".into(),
    }
}

/// A difference in percentage points with its sign (`+5.3 pp`, `−2.0 pp`).
pub fn pp(d: Option<f64>) -> String {
    match d {
        Some(d) if d < 0.0 => format!("−{:.1} pp", -d * 100.0),
        Some(d) => format!("+{:.1} pp", d * 100.0),
        None => "–".into(),
    }
}

/// An interval of a difference in percentage points (`−1.2 to +8.0 pp`).
pub fn pp_interval(lo: Option<f64>, hi: Option<f64>) -> String {
    fn s(x: f64) -> String {
        if x < 0.0 {
            format!("−{:.1}", -x * 100.0)
        } else {
            format!("+{:.1}", x * 100.0)
        }
    }
    match (lo, hi) {
        (Some(l), Some(h)) => format!("{} to {} pp", s(l), s(h)),
        _ => "–".into(),
    }
}

/// A p-value with four decimals, or `< floor`.
pub fn p_value(p: f64, floor: f64) -> String {
    if p < floor {
        format!("< {floor}")
    } else {
        format!("{p:.4}")
    }
}

/// `, stop strings "a", "b"` (each written by `quote`), or nothing when the run had none.
pub fn stop_strings(stop: &[String], quote: impl Fn(&str) -> String) -> String {
    if stop.is_empty() {
        return String::new();
    }
    let list: Vec<String> = stop.iter().map(|s| quote(s)).collect();
    format!(", stop strings {}", list.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        assert_eq!(pct(Some(0.41234)), "41.2%");
        assert_eq!(pct(None), "–");
        assert_eq!(interval(Some(0.3), Some(0.5)), "30.0–50.0%");
        assert_eq!(pp(Some(-0.02)), "−2.0 pp");
        assert_eq!(pp_interval(Some(-0.012), Some(0.08)), "−1.2 to +8.0 pp");
        assert_eq!(p_value(0.00001, 0.0001), "< 0.0001");
        assert_eq!(p_value(0.05251, 0.0001), "0.0525");
    }

    #[test]
    fn stop_strings_are_listed_quoted_and_escaped() {
        let esc = |s: &str| crate::report::escape::esc(&format!("{s:?}"));
        assert_eq!(stop_strings(&[], esc), "");
        let stop = ["<b>".to_string(), "\n".to_string()];
        assert_eq!(
            stop_strings(&stop, esc),
            ", stop strings &quot;&lt;b&gt;&quot;, &quot;\\n&quot;"
        );
    }
}
