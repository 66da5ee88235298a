//! The prefix cache of popbench's engine: the KV caches of earlier prompts *and their replies*,
//! from which a new prompt starts instead of recomputing the positions it shares with them.
//!
//! Two kinds of sharing pay off:
//! - **a conversation's history**: turn t+1's prompt is turn t's prompt, the model's answer
//!   (re-rendered by the chat template and re-tokenised) and the child's next message. The
//!   entry written after turn t holds turn t's prompt plus the tokens the model generated, so
//!   turn t+1 computes only the part after the longest common prefix (the answer's
//!   re-tokenisation tail, the end-of-turn markup, the new message);
//! - **a deployment context's system prompt**, shared by every prompt of that context.
//!
//! Policy (one batch at a time, see [`PrefixCache::start`] and [`PrefixCache::finish`]):
//! - each prompt of a batch copies the longest prefix any entry shares with it (ties: the
//!   shortest entry), at most all but its last token (that one is run so the prompt yields
//!   logits). Every prompt of the batch reuses its own best entry; several may copy from one;
//! - when a batch ends, each of its sequences becomes an entry holding the prompt and the reply
//!   tokens that were run through the model;
//! - when the next batch starts, an entry a prompt *continued* (shared its whole prompt) is
//!   dropped once copied: that prompt's own entry will hold the same positions and more. Any
//!   other entry keeps only its prompt (its reply's positions are freed: a conversation that
//!   skips a batch recomputes its last answer); an entry a prompt shares [`MIN_SHARED`] tokens
//!   or more of shrinks to the shared part, and two entries sharing that much become one
//!   holding the shared part (prompts of one deployment context converge on its system
//!   prompt, as conversations that skipped a batch do: they then recompute their history);
//! - those older entries are bounded by the KV of [`BUDGET_POSITIONS`] positions, least
//!   recently used evicted first; the entries the last batch wrote are kept whole besides them.
//!   At rest the cache therefore holds at most that budget plus the KV the last batch itself used (one entry
//!   per request of that batch, so a batch of conversations always finds its histories).
//!
//! Reuse never changes a result: a position's keys and values depend only on the tokens up to
//! it, and the engine computes them bit for bit the same in a prompt pass or a decode step.

use popbench_engine::kv::VALUE_BYTES;
use popbench_engine::{Engine, Sequence};

/// Positions of KV the cache keeps for entries older than the last batch: about eight prompts
/// of the core suite (45 MiB for SmolLM2-135M, 45 KiB a position; 256 MiB for a 7B model with
/// 8 key/value heads of 128).
pub const BUDGET_POSITIONS: usize = 1024;

/// Tokens a prompt must share with an entry, short of its whole prompt, before the entry
/// shrinks to the shared part.
pub const MIN_SHARED: usize = 8;

/// Prompt positions computed and reused since the counters were last reset.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PrefixStats {
    /// Prompts run.
    pub prompts: u64,
    /// Prompt positions computed by a forward pass.
    pub computed: u64,
    /// Prompt positions copied from the cache instead.
    pub reused: u64,
}

/// One cached sequence: `tokens` are the positions `seq` holds (`tokens.len() == seq.len()`),
/// the first `prompt` of them a prompt and the rest the reply generated after it.
struct Entry {
    tokens: Vec<u32>,
    prompt: usize,
    seq: Sequence,
    used: u64,
}

/// The cache (see the module documentation).
pub struct PrefixCache {
    entries: Vec<Entry>,
    clock: u64,
    /// KV bytes for older entries; None: [`BUDGET_POSITIONS`] of the engine's model.
    budget: Option<usize>,
    enabled: bool,
    stats: PrefixStats,
}

impl Default for PrefixCache {
    fn default() -> Self {
        PrefixCache {
            entries: Vec::new(),
            clock: 0,
            budget: None,
            enabled: true,
            stats: PrefixStats::default(),
        }
    }
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

/// The length of the longest common prefix of two token sequences (shared with the batched
/// model's prefix cache).
pub(super) fn common(a: &[u32], b: &[u32]) -> usize {
    a.iter().zip(b).take_while(|(x, y)| x == y).count()
}

/// The first `n` positions of `seq` in a sequence of exactly that size.
fn tight(engine: &Engine, seq: &Sequence, n: usize) -> Sequence {
    let mut out = engine.sequence(n);
    out.copy_prefix_from(seq, n);
    out
}

/// How a prompt of a batch uses the cache.
#[derive(Clone, Copy)]
struct Use {
    entry: usize,
    /// Positions copied.
    reuse: usize,
    /// Tokens the prompt shares with the entry (may exceed `reuse`).
    shared: usize,
}

impl PrefixCache {
    /// Turns reuse on or off (off: every prompt is computed whole and nothing is kept; for
    /// comparisons). Turning it off empties the cache.
    pub fn set_enabled(&mut self, on: bool) {
        self.enabled = on;
        if !on {
            self.entries.clear();
        }
    }

    /// Sets the KV bytes kept for entries older than the last batch (default: the KV of
    /// [`BUDGET_POSITIONS`] positions).
    pub fn set_budget(&mut self, bytes: usize) {
        self.budget = Some(bytes);
    }

    /// The counters.
    pub fn stats(&self) -> PrefixStats {
        self.stats
    }

    /// Zeroes the counters.
    pub fn reset_stats(&mut self) {
        self.stats = PrefixStats::default();
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
        self.entries.iter().map(|e| e.seq.bytes()).sum()
    }

    /// One sequence per prompt, with room for `capacities[i]` positions and holding the
    /// positions of `prompts[i]` found in the cache; returns them and how many each holds.
    /// Then tidies the cache (module documentation).
    pub fn start(
        &mut self,
        engine: &Engine,
        prompts: &[&[u32]],
        capacities: &[usize],
    ) -> (Vec<Sequence>, Vec<usize>) {
        self.clock += 1;
        let uses: Vec<Option<Use>> = prompts
            .iter()
            .map(|p| if self.enabled { self.best(p) } else { None })
            .collect();
        // An entry a prompt continued goes: that prompt's own entry will hold the same
        // positions and more. The others keep their prompt only.
        let keep: Vec<bool> = (0..self.entries.len())
            .map(|e| {
                let prompt = self.entries[e].prompt;
                !uses
                    .iter()
                    .flatten()
                    .any(|u| u.entry == e && u.shared >= prompt)
            })
            .collect();
        // Entries kept lose their reply first, so that their memory is free before the batch's
        // sequences are allocated (copies read only the prompt part of a kept entry: a longer
        // reuse would have continued it).
        for (entry, _) in self.entries.iter_mut().zip(&keep).filter(|(_, k)| **k) {
            if entry.tokens.len() > entry.prompt {
                entry.seq = tight(engine, &entry.seq, entry.prompt);
                entry.tokens.truncate(entry.prompt);
            }
        }
        // Users left per entry: an entry that goes is freed once its last user has copied it.
        let mut left = vec![0usize; self.entries.len()];
        for u in uses.iter().flatten() {
            left[u.entry] += 1;
        }
        let mut seqs = Vec::with_capacity(prompts.len());
        let mut reused = Vec::with_capacity(prompts.len());
        for ((p, &cap), u) in prompts.iter().zip(capacities).zip(&uses) {
            let mut seq = engine.sequence(cap.max(p.len()));
            let n = match u {
                Some(u) => {
                    let entry = &mut self.entries[u.entry];
                    seq.copy_prefix_from(&entry.seq, u.reuse);
                    entry.used = self.clock;
                    left[u.entry] -= 1;
                    if left[u.entry] == 0 && !keep[u.entry] {
                        entry.seq = engine.sequence(0);
                    }
                    u.reuse
                }
                None => 0,
            };
            self.stats.prompts += 1;
            self.stats.reused += n as u64;
            self.stats.computed += (p.len() - n) as u64;
            seqs.push(seq);
            reused.push(n);
        }
        // An entry a prompt shares MIN_SHARED tokens or more with, short of its whole prompt,
        // shrinks to the shared part (the system prompt of their deployment context).
        for (e, entry) in self.entries.iter_mut().enumerate() {
            let shared = uses
                .iter()
                .flatten()
                .filter(|u| u.entry == e && u.reuse >= MIN_SHARED)
                .map(|u| u.reuse)
                .max()
                .unwrap_or(0);
            if keep[e] && shared > 0 && shared < entry.tokens.len() {
                entry.seq = tight(engine, &entry.seq, shared);
                entry.tokens.truncate(shared);
                entry.prompt = shared;
            }
        }
        let mut k = keep.into_iter();
        self.entries.retain(|_| k.next().unwrap_or(true));
        self.merge(engine);
        let c = engine.config();
        let budget = self
            .budget
            .unwrap_or(BUDGET_POSITIONS * c.layers * c.kv_dim() * 2 * VALUE_BYTES);
        self.evict(budget);
        (seqs, reused)
    }

    /// Keeps what a batch computed: `seqs[i]` holds `prompts[i]` followed by the first tokens
    /// of `replies[i]` (those that were run through the model).
    pub fn finish(&mut self, prompts: &[&[u32]], replies: &[&[u32]], seqs: Vec<Sequence>) {
        if !self.enabled {
            return;
        }
        for ((p, r), seq) in prompts.iter().zip(replies).zip(seqs) {
            let n = seq.len();
            if n < p.len() || n > p.len() + r.len() {
                continue;
            }
            let mut tokens = Vec::with_capacity(n);
            tokens.extend_from_slice(p);
            tokens.extend_from_slice(&r[..n - p.len()]);
            self.entries.push(Entry {
                tokens,
                prompt: p.len(),
                seq,
                used: self.clock,
            });
        }
    }

    /// The entry sharing the longest prefix with `prompt` (ties: the shortest entry).
    fn best(&self, prompt: &[u32]) -> Option<Use> {
        let limit = prompt.len().saturating_sub(1);
        self.entries
            .iter()
            .enumerate()
            .map(|(entry, e)| {
                let shared = common(&e.tokens, prompt);
                Use {
                    entry,
                    reuse: shared.min(limit),
                    shared,
                }
            })
            .filter(|u| u.reuse > 0)
            .max_by_key(|u| {
                (
                    u.reuse,
                    std::cmp::Reverse(self.entries[u.entry].tokens.len()),
                )
            })
    }

    /// Two entries that share [`MIN_SHARED`] tokens or more become one holding the shared part
    /// (two prompts of one deployment context converge on its system prompt; an entry that
    /// starts another is kept and the other dropped).
    fn merge(&mut self, engine: &Engine) {
        loop {
            let n = self.entries.len();
            let pair = (0..n)
                .flat_map(|i| (i + 1..n).map(move |j| (i, j)))
                .map(|(i, j)| {
                    (
                        i,
                        j,
                        common(&self.entries[i].tokens, &self.entries[j].tokens),
                    )
                })
                .find(|&(_, _, c)| c >= MIN_SHARED);
            let Some((i, j, c)) = pair else { break };
            let gone = self.entries.remove(j);
            let keep = &mut self.entries[i];
            keep.used = keep.used.max(gone.used);
            if keep.tokens.len() > c {
                keep.seq = tight(engine, &keep.seq, c);
                keep.tokens.truncate(c);
            }
            keep.prompt = keep.prompt.min(c);
        }
    }

    /// Evicts the least recently used entries until the cache fits its budget.
    fn evict(&mut self, budget: usize) {
        while self.bytes() > budget {
            let Some((i, _)) = self.entries.iter().enumerate().min_by_key(|(_, e)| e.used) else {
                break;
            };
            self.entries.remove(i);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use popbench_engine::{Config, Layer, QMatrix, Rope, Step, Weights};

    fn engine() -> Engine {
        let mut s = 7u64;
        let mut r = move |n: usize| -> Vec<f32> {
            (0..n)
                .map(|_| {
                    s ^= s << 13;
                    s ^= s >> 7;
                    s ^= s << 17;
                    ((s >> 40) as f32 / (1u64 << 24) as f32 - 0.5) * 0.4
                })
                .collect()
        };
        let (e, hd, ff, vocab) = (32, 16, 48, 50);
        let m = |rows: usize, cols: usize, r: &mut dyn FnMut(usize) -> Vec<f32>| {
            QMatrix::from_f32(rows, cols, r(rows * cols))
        };
        let layers = (0..2)
            .map(|_| Layer {
                attn_norm: vec![1.0; e],
                wq: m(2 * hd, e, &mut r),
                wk: m(hd, e, &mut r),
                wv: m(hd, e, &mut r),
                bias: None,
                qk_norm: None,
                wo: m(e, 2 * hd, &mut r),
                ffn_norm: vec![1.0; e],
                w_gate: m(ff, e, &mut r),
                w_up: m(ff, e, &mut r),
                w_down: m(e, ff, &mut r),
            })
            .collect();
        let weights = Weights {
            config: Config {
                layers: 2,
                embd: e,
                heads: 2,
                kv_heads: 1,
                head_dim: hd,
                rope_dims: hd,
                ff,
                vocab,
                rope_base: 10_000.0,
                rms_eps: 1e-5,
                rope: Rope::Halves,
                context_length: 256,
            },
            token_embd: m(vocab, e, &mut r),
            layers,
            output_norm: vec![1.0; e],
            output: None,
        };
        Engine::new(weights, 1).unwrap()
    }

    /// Runs a batch through the cache: each prompt's rest, then `reply` tokens decoded one at
    /// a time (all of them run, as after a reply that stopped). Returns the reused counts and
    /// the last logits of each sequence.
    fn batch(
        engine: &mut Engine,
        cache: &mut PrefixCache,
        prompts: &[Vec<u32>],
        replies: &[Vec<u32>],
    ) -> (Vec<usize>, Vec<Vec<f32>>) {
        let refs: Vec<&[u32]> = prompts.iter().map(Vec::as_slice).collect();
        let caps: Vec<usize> = prompts
            .iter()
            .zip(replies)
            .map(|(p, r)| p.len() + r.len())
            .collect();
        let (mut seqs, reused) = cache.start(engine, &refs, &caps);
        let mut last = Vec::new();
        for ((seq, p), (r, &n)) in seqs.iter_mut().zip(&refs).zip(replies.iter().zip(&reused)) {
            let mut steps = [Step {
                seq,
                tokens: &p[n..],
                logits: true,
            }];
            let mut l = engine.forward(&mut steps).unwrap().remove(0);
            for t in r {
                let mut steps = [Step {
                    seq,
                    tokens: std::slice::from_ref(t),
                    logits: true,
                }];
                l = engine.forward(&mut steps).unwrap().remove(0);
            }
            last.push(l);
        }
        let reps: Vec<&[u32]> = replies.iter().map(Vec::as_slice).collect();
        cache.finish(&refs, &reps, seqs);
        (reused, last)
    }

    fn ids(seed: u32, n: usize) -> Vec<u32> {
        (0..n as u32)
            .map(|i| (seed * 31 + i * 17) % 47 + 3)
            .collect()
    }

    #[test]
    fn every_conversation_of_a_batch_reuses_its_own_history() {
        let mut engine = engine();
        let mut cache = PrefixCache::default();
        let mut off = PrefixCache::default();
        off.set_enabled(false);
        let system = ids(1, 12);
        // Four conversations, three turns, one batch per turn.
        let mut prompts: Vec<Vec<u32>> = (0..4)
            .map(|c| [system.clone(), ids(10 + c, 5)].concat())
            .collect();
        for turn in 0..3u32 {
            let replies: Vec<Vec<u32>> = (0..4).map(|c| ids(100 + 7 * turn + c, 6)).collect();
            let (reused, with) = batch(&mut engine, &mut cache, &prompts, &replies);
            let (none, without) = batch(&mut engine, &mut off, &prompts, &replies);
            assert!(none.iter().all(|&n| n == 0));
            for (a, b) in with.iter().zip(&without) {
                assert_eq!(
                    a.iter().map(|x| x.to_bits()).collect::<Vec<_>>(),
                    b.iter().map(|x| x.to_bits()).collect::<Vec<_>>()
                );
            }
            if turn > 0 {
                // Each reuses its last prompt and its reply but the last two tokens (which
                // this prompt re-tokenises differently), not only the first conversation.
                for (c, &n) in reused.iter().enumerate() {
                    assert_eq!(n, prompts[c].len() - 8, "conversation {c}");
                }
            }
            assert_eq!(cache.len(), 4);
            // Next turn: the history with the reply's last two tokens re-tokenised, an
            // end-of-turn marker and the next message.
            for (p, r) in prompts.iter_mut().zip(&replies) {
                p.extend_from_slice(&r[..r.len() - 2]);
                p.extend_from_slice(&[1, 2]);
                p.push(0);
                p.extend(ids(200 + turn, 5));
            }
        }
        let s = cache.stats();
        assert_eq!(s.prompts, 12);
        assert_eq!(
            s.computed + s.reused,
            off.stats().computed,
            "the same prompts"
        );
        assert!(s.reused > s.computed);
    }

    #[test]
    fn prompts_of_one_context_converge_on_its_system_prompt() {
        let mut engine = engine();
        let mut cache = PrefixCache::default();
        let system = ids(1, 12);
        let p = |k: u32| [system.clone(), ids(20 + k, 4 + k as usize)].concat();
        let r = |k: u32| ids(40 + k, 3);
        batch(&mut engine, &mut cache, &[p(0)], &[r(0)]);
        // A second prompt of the context reuses the system prompt; the entry it came from
        // shrinks to it.
        let (n, _) = batch(&mut engine, &mut cache, &[p(1)], &[r(1)]);
        assert_eq!(n, vec![12]);
        assert_eq!(cache.len(), 2);
        assert!(cache.entries.iter().any(|e| e.tokens == system));
        // A third reuses the compact entry (the shortest of equal matches), which its own
        // entry continues; the second prompt's entry keeps its prompt.
        let (n, _) = batch(&mut engine, &mut cache, &[p(2)], &[r(2)]);
        assert_eq!(n, vec![12]);
        assert_eq!(cache.len(), 2);
        assert!(cache.entries.iter().any(|e| e.tokens == p(1)));
        // The same prompt again, next batch: all of it but its last token.
        let (n, _) = batch(&mut engine, &mut cache, &[p(2)], &[r(2)]);
        assert_eq!(n, vec![p(2).len() - 1]);
        // Something unrelated: the two prompts of the context merge into its system prompt.
        let (n, _) = batch(&mut engine, &mut cache, &[ids(999, 6)], &[ids(998, 2)]);
        assert_eq!(n, vec![0]);
        assert_eq!(cache.len(), 2);
        assert!(cache.entries.iter().any(|e| e.tokens == system));
        // Reuse off: nothing copied, nothing kept.
        cache.set_enabled(false);
        let (n, _) = batch(&mut engine, &mut cache, &[p(2)], &[r(2)]);
        assert_eq!((n, cache.len()), (vec![0], 0));
    }

    #[test]
    fn older_entries_fit_the_budget_and_the_last_batch_is_kept() {
        let mut engine = engine();
        let mut cache = PrefixCache::default();
        // Keys and values, 2 layers, 16 values a position.
        let per_position = 2 * 2 * 16 * VALUE_BYTES;
        cache.set_budget(30 * per_position);
        // Eight unrelated prompts of 10 tokens and replies of 5, in one batch: all kept whole,
        // whatever the budget.
        let prompts: Vec<Vec<u32>> = (0..8).map(|k| ids(300 + 13 * k, 10)).collect();
        let replies: Vec<Vec<u32>> = (0..8).map(|k| ids(400 + k, 5)).collect();
        batch(&mut engine, &mut cache, &prompts, &replies);
        assert_eq!(cache.len(), 8);
        // The next batch runs something else: they keep their prompts, and the least recently
        // used go until 30 positions are left (three prompts).
        batch(&mut engine, &mut cache, &[ids(999, 6)], &[ids(998, 2)]);
        assert!(cache.bytes() <= 30 * per_position + 8 * per_position);
        assert_eq!(cache.len(), 3 + 1);
    }
}
