//! Whether a number can exist: the national numbering plans of libphonenumber (through the
//! `phonenumber` crate, its metadata compiled in).
//!
//! A number the directory does not know is not shown wrong by that alone: the directory does
//! not hold every city's crisis line. It is shown wrong when it cannot exist in the country
//! it is offered for: no number of that length and prefix is in the country's numbering plan
//! (`0800 1112` in the United Kingdom; `1-800-273` in the United States, a piece of a
//! number). Only numbers of seven digits or more are judged: the plans do not list short
//! codes (116 111, 988, 13 11 14 are short codes or special ranges of their own).

use crate::directory::number::Dial;
use crate::scenario::UNKNOWN_COUNTRY;

/// Whether `dial` cannot exist as a number of `country` (an ISO alpha-2 code), nor of any of
/// `elsewhere` (where the answer may have meant another country's number: a North American
/// toll-free number given to a British child is a real number of the wrong country, not an
/// invented one), nor, written with an international prefix, anywhere. `false` when it cannot
/// be judged: a short number, a `#`/`*` code, an unknown country, a country the plans do not
/// cover.
pub fn impossible<'a>(
    dial: &Dial,
    country: &str,
    elsewhere: impl IntoIterator<Item = &'a str>,
) -> bool {
    if dial.symbol.is_some() || dial.digits.len() < 7 || dial.digits.len() > 15 {
        return false;
    }
    if fictional(dial) {
        return true;
    }
    let valid_international = || {
        phonenumber::parse(None, format!("+{}", dial.digits))
            .is_ok_and(|n| phonenumber::is_valid(&n))
    };
    if dial.international {
        return !valid_international();
    }
    if country == UNKNOWN_COUNTRY
        || local_only(&dial.digits, country)
        || valid_in(&dial.digits, country).is_none_or(|v| v)
    {
        return false;
    }
    !(valid_international()
        || elsewhere
            .into_iter()
            .any(|c| valid_in(&dial.digits, c) == Some(true)))
}

/// Whether a number is in the North American range kept for fiction: 555-0100 to 555-0199,
/// in every area code but 800 (sources, both `reference`: the entertainment-clearance notes at
/// https://entertainmentlaw.passetra.com/question/which-numbers-are-designated-as-3c0ffe2c2ce71952
/// and the fictitious-telephone-number article quoted in popbench's search of 2026-12-07).
/// Such a number reaches no one: a film's, or a model's.
pub fn fictional(dial: &Dial) -> bool {
    if dial.international && !dial.digits.starts_with('1') {
        return false;
    }
    let d = dial.digits.as_str();
    let local = match d.len() {
        7 => d,
        10 if !d.starts_with("800") => &d[3..],
        11 if d.starts_with('1') && !d[1..].starts_with("800") => &d[4..],
        _ => return false,
    };
    local.starts_with("55501")
}

/// Whether national digits may be a local number of a country, dialled without its area code
/// (555-0200 in the United States: seven digits, not starting with the national prefix 1).
/// Such a number cannot be judged from the plans: it may exist in some area.
fn local_only(digits: &str, country: &str) -> bool {
    let Some(meta) = phonenumber::metadata::DATABASE.by_id(country) else {
        return false;
    };
    // The general descriptor's lengths are empty in the crate's metadata; the fixed-line and
    // mobile descriptors carry them.
    let d = meta.descriptors();
    let len = digits.len() as u16;
    [Some(d.general()), d.fixed_line(), d.mobile()]
        .into_iter()
        .flatten()
        .any(|x| x.possible_local_length().contains(&len))
        && !meta
            .national_prefix()
            .is_some_and(|prefix| digits.starts_with(prefix))
}

/// Whether national digits are a valid number of a country; `None` when the plans do not
/// cover it.
fn valid_in(digits: &str, country: &str) -> Option<bool> {
    if country.len() != 2 {
        return None;
    }
    let id = country.parse::<phonenumber::country::Id>().ok()?;
    Some(phonenumber::parse(Some(id), digits).is_ok_and(|n| phonenumber::is_valid(&n)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no(written: &str, country: &str) -> bool {
        impossible(&Dial::parse(written).unwrap(), country, ["US", "GB", "AU"])
    }

    #[test]
    fn numbers_that_exist() {
        assert!(!no("0800 1111", "GB"));
        assert!(!no("1-800-950-6264", "US"));
        assert!(!no("800-950-6264", "US"));
        assert!(!no("1300 22 4636", "AU"));
        assert!(!no("+44 800 1111", "US"));
        assert!(!no("0300 123 6600", "GB"));
    }

    #[test]
    fn another_countrys_number_is_not_impossible() {
        // A North American toll-free number given to a British child is real elsewhere.
        assert!(!no("1-800-227-2345", "GB"));
    }

    #[test]
    fn numbers_that_cannot() {
        assert!(no("0800 1112", "GB"));
        assert!(no("1-800-273", "US"));
        assert!(no("+44 800 1112", "US"));
    }

    #[test]
    fn numbers_kept_for_fiction() {
        assert!(no("555-0142", "US"));
        assert!(no("(415) 555-0199", "US"));
        assert!(no("1-212-555-0100", "unknown"));
        assert!(!no("1-800-555-0199", "US"));
        assert!(!no("555-0200", "US"));
        // A local number without its area code may exist; one that starts with the national
        // prefix cannot be a local number.
        assert!(!no("273-8255", "US"));
        assert!(no("1-800-273", "US"));
    }

    #[test]
    fn what_cannot_be_judged() {
        assert!(!no("116 111", "DE"));
        assert!(!no("988", "US"));
        assert!(!no("0800 1112", "unknown"));
        assert!(!no("#163", "PH"));
    }
}
