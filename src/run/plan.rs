//! The plan of a run: which items, in which order, with which seeds, in which shard.
//!
//! Items are ordered by scenario id (the suite's order), then context (the scenario's own,
//! or the `--context` list in the order given), then sample. This order is the canonical order
//! of `responses.jsonl`: a resumed run and a merged set of shards write the same order as an
//! uninterrupted run.

use super::select::Selection;
use crate::dataset::Dataset;
use crate::scenario::Suite;
use crate::types::ItemKey;
use crate::{Error, Result};
use sha2::{Digest, Sha256};

/// How per-item seeds are derived (recorded in the manifest).
pub const SEED_DERIVATION: &str =
    "item_seed = u64 little-endian of the first 8 bytes of sha256(\"{run_seed}\\0{scenario_id}\\0{context}\\0{sample}\")";

/// The seed of one item.
pub fn item_seed(run_seed: u64, key: &ItemKey) -> u64 {
    let mut h = Sha256::new();
    h.update(
        format!(
            "{run_seed}\0{}\0{}\0{}",
            key.scenario_id, key.context, key.sample
        )
        .as_bytes(),
    );
    let d = h.finalize();
    let mut b = [0u8; 8];
    b.copy_from_slice(&d[..8]);
    u64::from_le_bytes(b)
}

/// A shard `I/N`: item number `i` of the plan belongs to shard `i mod N`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    /// This shard, from 0.
    pub index: u32,
    /// Number of shards.
    pub count: u32,
}

impl Shard {
    /// Parses `I/N` (0 ≤ I < N).
    pub fn parse(s: &str) -> Result<Shard, String> {
        let (i, n) = s
            .split_once('/')
            .ok_or_else(|| format!("`{s}`: expected I/N, e.g. 0/4"))?;
        let index: u32 = i
            .trim()
            .parse()
            .map_err(|_| format!("`{s}`: I is not a number"))?;
        let count: u32 = n
            .trim()
            .parse()
            .map_err(|_| format!("`{s}`: N is not a number"))?;
        if count == 0 || index >= count {
            return Err(format!("`{s}`: need 0 <= I < N"));
        }
        Ok(Shard { index, count })
    }

    /// Whether plan position `i` is in this shard.
    pub fn contains(&self, i: usize) -> bool {
        i % self.count as usize == self.index as usize
    }
}

/// Every item of a suite: each scenario in its own context, or crossed with `contexts`.
pub fn plan(suite: &Suite, contexts: &[String], samples: u32) -> Vec<ItemKey> {
    let mut out =
        Vec::with_capacity(suite.scenarios.len() * contexts.len().max(1) * samples as usize);
    for s in &suite.scenarios {
        let ctxs: Vec<&str> = if contexts.is_empty() {
            vec![s.context.as_str()]
        } else {
            contexts.iter().map(String::as_str).collect()
        };
        for c in ctxs {
            for k in 0..samples {
                out.push(ItemKey {
                    scenario_id: s.id.clone(),
                    context: c.to_string(),
                    sample: k,
                });
            }
        }
    }
    out
}

/// The items a run covers, before sharding.
#[derive(Debug, Clone)]
pub struct Planned {
    /// The items, in plan order.
    pub items: Vec<ItemKey>,
    /// Items dropped because a crossed context states a country the scenario does not have.
    pub dropped_unknown_country: usize,
    /// Items of the suite's plan left out by the selection.
    pub deselected: usize,
}

/// The plan of a run: the suite crossed with the contexts and samples, less the items whose
/// context states a country the scenario does not have, then the selection (`--only`,
/// `--only replayed` through `covers`, `--limit`). The runner and merge both plan with it.
pub fn select_plan(
    suite: &Suite,
    data: &Dataset,
    contexts: &[String],
    samples: u32,
    selection: &Selection,
    covers: Option<&dyn Fn(&ItemKey) -> bool>,
) -> Result<Planned> {
    for c in contexts {
        if data.contexts.get(c).is_none() {
            return Err(Error::Input(format!(
                "unknown context `{c}` (known: {})",
                data.contexts.ids()
            )));
        }
    }
    let filters = selection
        .filters(suite, &data.contexts)
        .map_err(Error::Input)?;
    let all = plan(suite, contexts, samples);
    let before = all.len();
    let kept: Vec<ItemKey> = all
        .into_iter()
        .filter(|k| {
            let sc = suite.get(&k.scenario_id);
            let ctx = data.contexts.get(&k.context);
            match (sc, ctx) {
                (Some(s), Some(c)) => !c.states_country || s.country_known(),
                _ => false,
            }
        })
        .collect();
    let dropped_unknown_country = before - kept.len();
    let possible = kept.len();
    let kept: Vec<ItemKey> =
        match (selection.replayed, covers) {
            (true, Some(covers)) => kept.into_iter().filter(|k| covers(k)).collect(),
            (true, None) => return Err(Error::Input(
                "--only replayed needs a replay:PATH model (it keeps the items the file answers)"
                    .into(),
            )),
            (false, _) => kept,
        };
    let items = selection.apply(&filters, suite, kept);
    Ok(Planned {
        deselected: possible - items.len(),
        items,
        dropped_unknown_country,
    })
}

/// The items of one shard, in plan order.
pub fn shard_items(all: &[ItemKey], shard: Option<Shard>) -> Vec<ItemKey> {
    match shard {
        None => all.to_vec(),
        Some(s) => all
            .iter()
            .enumerate()
            .filter(|(i, _)| s.contains(*i))
            .map(|(_, k)| k.clone())
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_partition_the_plan() {
        let all: Vec<ItemKey> = (0..10)
            .map(|i| ItemKey {
                scenario_id: format!("s{i}"),
                context: "c".into(),
                sample: 0,
            })
            .collect();
        let mut seen = Vec::new();
        for i in 0..3 {
            seen.extend(shard_items(&all, Some(Shard { index: i, count: 3 })));
        }
        seen.sort();
        let mut want = all.clone();
        want.sort();
        assert_eq!(seen, want);
        assert!(Shard::parse("3/3").is_err());
        assert!(Shard::parse("1/0").is_err());
        assert_eq!(Shard::parse("1/4").unwrap(), Shard { index: 1, count: 4 });
    }

    #[test]
    fn seeds_depend_on_every_part_of_the_key() {
        let k = ItemKey {
            scenario_id: "a".into(),
            context: "c".into(),
            sample: 0,
        };
        let s0 = item_seed(1, &k);
        assert_eq!(s0, item_seed(1, &k));
        assert_ne!(s0, item_seed(2, &k));
        assert_ne!(
            s0,
            item_seed(
                1,
                &ItemKey {
                    sample: 1,
                    ..k.clone()
                }
            )
        );
        assert_ne!(
            s0,
            item_seed(
                1,
                &ItemKey {
                    context: "d".into(),
                    ..k
                }
            )
        );
    }
}
