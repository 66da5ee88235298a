//! The prefix cache of the batched candle model: the KV of earlier sequences (prompt and the
//! reply tokens run), from which a new prompt starts instead of recomputing the positions it
//! shares with one of them.
//!
//! - **a live conversation's next turn**: its prompt is the previous turn's prompt, the
//!   model's answer (re-rendered by the chat template and re-tokenised) and the child's next
//!   message; the entry written after the previous turn holds that prompt and the answer's
//!   tokens, so the next turn computes only what follows the longest common prefix;
//! - **a deployment context's system prompt**, shared by the prompts of that context.
//!
//! Policy: each prompt of a batch copies the longest prefix an entry shares with it, at most
//! all but its last token (that one runs, so the prompt yields logits). When a batch ends,
//! each of its sequences becomes an entry; an older entry whose tokens start a new entry, or
//! that a prompt of the batch took 8 or more positions from (its own entry now holds those
//! positions and more), is dropped. Older entries are bounded by a byte budget, least recently
//! used evicted first; the last batch's entries are kept whole besides them.
//!
//! Reuse does not change what a position holds: its keys and values depend only on the
//! tokens up to it. The copied values were computed in another pass (a decode step rather than
//! a prompt chunk), so they may differ from recomputed ones by float rounding; greedy replies
//! are the same with and without reuse (tests/candle_batch.rs).

use super::super::prefix::common;
use candle_core::Tensor;

/// KV bytes kept for entries older than the last batch on the CPU (for SmolLM2-135M, 45 KiB a
/// position: about 1,450 positions).
pub(super) const BUDGET_BYTES_CPU: usize = 64 << 20;
/// The same on other devices (GPU memory is meant for this).
pub(super) const BUDGET_BYTES_GPU: usize = 1 << 30;

/// Positions a prompt must take from an entry, short of the entry's whole length, before the
/// entry is dropped for the prompt's own.
const MIN_SHARED: usize = 8;

/// Prompt positions computed and reused since the counters were last reset.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReuseStats {
    /// Prompts run.
    pub prompts: u64,
    /// Prompt positions computed by a forward pass.
    pub computed: u64,
    /// Prompt positions copied from the cache instead.
    pub reused: u64,
}

/// One earlier sequence: the KV of `tokens`, `[1, kv head, tokens.len(), head dim]` per layer.
pub(super) struct Entry {
    pub(super) tokens: Vec<u32>,
    pub(super) k: Vec<Tensor>,
    pub(super) v: Vec<Tensor>,
    used: u64,
    /// Written by the last batch.
    fresh: bool,
}

impl Entry {
    fn bytes(&self) -> usize {
        self.k
            .iter()
            .chain(&self.v)
            .map(|t| t.elem_count() * t.dtype().size_in_bytes())
            .sum()
    }
}

/// The cache (see the module documentation).
pub struct PrefixCache {
    entries: Vec<Entry>,
    clock: u64,
    budget: usize,
    enabled: bool,
    stats: ReuseStats,
    /// Entries the current batch took positions from, and how many.
    taken: Vec<(usize, usize)>,
}

impl std::fmt::Debug for PrefixCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PrefixCache")
            .field("entries", &self.entries.len())
            .field("bytes", &self.bytes())
            .field("enabled", &self.enabled)
            .field("stats", &self.stats)
            .finish()
    }
}

impl PrefixCache {
    pub(super) fn new(budget: usize) -> PrefixCache {
        PrefixCache {
            entries: Vec::new(),
            clock: 0,
            budget,
            enabled: true,
            stats: ReuseStats::default(),
            taken: Vec::new(),
        }
    }

    /// Turns reuse on or off (off: every prompt is computed whole and nothing is kept; for
    /// comparisons and benchmarks). Turning it off empties the cache.
    pub fn set_enabled(&mut self, on: bool) {
        self.enabled = on;
        if !on {
            self.entries.clear();
        }
    }

    /// Whether reuse is on.
    pub fn enabled(&self) -> bool {
        self.enabled
    }

    /// Sets the KV bytes kept for entries older than the last batch.
    pub fn set_budget(&mut self, bytes: usize) {
        self.budget = bytes;
    }

    /// The counters.
    pub fn stats(&self) -> ReuseStats {
        self.stats
    }

    /// Zeroes the counters.
    pub fn reset_stats(&mut self) {
        self.stats = ReuseStats::default();
    }

    /// Entries held.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// No entry held.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// KV bytes held.
    pub fn bytes(&self) -> usize {
        self.entries.iter().map(Entry::bytes).sum()
    }

    /// For each prompt of a batch, the entry to start from and the positions it shares with
    /// the prompt, at most all but the prompt's last (None: compute it whole).
    pub(super) fn start(&mut self, prompts: &[&[u32]]) -> Vec<Option<(usize, usize)>> {
        self.taken.clear();
        self.clock += 1;
        let mut out = Vec::with_capacity(prompts.len());
        for p in prompts {
            let mut best: Option<(usize, usize)> = None;
            if self.enabled {
                for (i, e) in self.entries.iter().enumerate() {
                    let n = common(&e.tokens, p).min(p.len().saturating_sub(1));
                    if n > 0 && best.is_none_or(|(_, m)| n > m) {
                        best = Some((i, n));
                    }
                }
            }
            if let Some((i, n)) = best {
                self.entries[i].used = self.clock;
                self.taken.push((i, n));
            }
            out.push(best);
        }
        out
    }

    /// Counts a prompt: positions computed and copied.
    pub(super) fn count(&mut self, computed: usize, reused: usize) {
        self.stats.prompts += 1;
        self.stats.computed += computed as u64;
        self.stats.reused += reused as u64;
    }

    /// The entry `i`'s caches.
    pub(super) fn entry(&self, i: usize) -> &Entry {
        &self.entries[i]
    }

    /// Hands a finished batch's sequences (tokens run, and their KV) to the cache.
    pub(super) fn finish(&mut self, new: Vec<(Vec<u32>, Vec<Tensor>, Vec<Tensor>)>) {
        if !self.enabled {
            return;
        }
        let taken = std::mem::take(&mut self.taken);
        let mut keep: Vec<bool> = self
            .entries
            .iter()
            .enumerate()
            .map(|(i, e)| {
                let superseded = taken
                    .iter()
                    .any(|&(j, n)| j == i && (n >= MIN_SHARED || n == e.tokens.len()));
                let prefix_of_new = new
                    .iter()
                    .any(|(t, _, _)| t.len() >= e.tokens.len() && t.starts_with(&e.tokens));
                !superseded && !prefix_of_new
            })
            .collect();
        let mut i = 0;
        self.entries.retain(|_| {
            i += 1;
            keep[i - 1]
        });
        for e in &mut self.entries {
            e.fresh = false;
        }
        // Older entries within the budget, least recently used evicted first.
        let mut order: Vec<usize> = (0..self.entries.len()).collect();
        order.sort_by_key(|&i| std::cmp::Reverse(self.entries[i].used));
        keep = vec![false; self.entries.len()];
        let mut bytes = 0;
        for i in order {
            bytes += self.entries[i].bytes();
            keep[i] = bytes <= self.budget;
        }
        let mut i = 0;
        self.entries.retain(|_| {
            i += 1;
            keep[i - 1]
        });
        let clock = self.clock;
        for (tokens, k, v) in new {
            if tokens.is_empty() {
                continue;
            }
            // Two sequences of the batch with the same tokens: one entry.
            if let Some(e) = self
                .entries
                .iter_mut()
                .find(|e| e.fresh && e.tokens.starts_with(&tokens))
            {
                e.used = clock;
                continue;
            }
            self.entries
                .retain(|e| !(e.fresh && tokens.starts_with(&e.tokens)));
            self.entries.push(Entry {
                tokens,
                k,
                v,
                used: clock,
                fresh: true,
            });
        }
    }
}
