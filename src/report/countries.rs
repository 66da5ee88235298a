//! Per-country figures beyond the cards: the map's correct-referral rate by country.

use super::model::{CountryCard, MapCountry};

/// The map's figures: each country with scenarios (and a country code), per system.
pub fn map_figures(cards: &[CountryCard]) -> Vec<MapCountry> {
    cards
        .iter()
        .filter(|c| c.code != crate::scenario::UNKNOWN_COUNTRY)
        .flat_map(|c| {
            c.results.iter().map(move |r| MapCountry {
                code: c.code.clone(),
                name: c.name.clone(),
                system: r.system.clone(),
                helpline_correct: r.helpline_correct.clone(),
            })
        })
        .collect()
}
