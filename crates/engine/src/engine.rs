//! The forward pass: a batch of steps, each some new tokens of one sequence, through the
//! decoder at once. Every row is computed on its own (norms, products, attention against its own
//! sequence), so a row's numbers do not depend on what else is in the batch.

use crate::attention::{attend, Heads, RowAt};
use crate::kernels::Isa;
use crate::kv::Sequence;
use crate::matmul::{matmul, Act, Product};
use crate::model::{Config, Rope, Weights};
use crate::pool::{share, Pool, SharedMut};
use std::sync::Mutex;

/// How a forward pass of several sequences shares the pool's threads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Split {
    /// Every product's weight rows are split between the threads (one dispatch per product).
    Rows,
    /// The sequences are split between the threads, each running its share through the whole
    /// model alone (one dispatch per pass); passes of one sequence, or with one step too long
    /// to balance, split rows.
    Sequences,
}

impl Split {
    /// `POPBENCH_SPLIT=rows|sequences` when set, else the default ([`Split::DEFAULT`]).
    pub fn detect() -> Split {
        match std::env::var("POPBENCH_SPLIT").as_deref() {
            Ok("rows") => Split::Rows,
            Ok("sequences") => Split::Sequences,
            _ => Split::DEFAULT,
        }
    }

    /// The split a new engine uses.
    pub const DEFAULT: Split = Split::Rows;

    /// A short name for logs.
    pub fn name(self) -> &'static str {
        match self {
            Split::Rows => "rows",
            Split::Sequences => "sequences",
        }
    }
}

/// New tokens for one sequence.
pub struct Step<'a> {
    /// The sequence they extend.
    pub seq: &'a mut Sequence,
    /// The tokens, at positions `seq.len()..`.
    pub tokens: &'a [u32],
    /// Whether to return the next-token logits after the last of them.
    pub logits: bool,
}

/// What a forward pass refuses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EngineError {
    /// A token id outside the vocabulary.
    Token {
        /// The id.
        id: u32,
        /// The vocabulary size.
        vocab: usize,
    },
    /// A sequence would outgrow the context.
    Context {
        /// Positions it would need.
        needed: usize,
        /// Positions the model holds.
        limit: usize,
    },
}

impl std::fmt::Display for EngineError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            EngineError::Token { id, vocab } => {
                write!(f, "token id {id} is outside the vocabulary of {vocab}")
            }
            EngineError::Context { needed, limit } => write!(
                f,
                "the sequence needs {needed} positions but the model holds {limit}"
            ),
        }
    }
}

impl std::error::Error for EngineError {}

#[derive(Default)]
struct Scratch {
    x: Vec<f32>,
    act: Act,
    q: Vec<f32>,
    k: Vec<f32>,
    v: Vec<f32>,
    proj: Vec<f32>,
    gate: Vec<f32>,
    up: Vec<f32>,
    cos: Vec<f32>,
    sin: Vec<f32>,
}

/// A model ready to run: weights, a thread pool, and scratch space.
pub struct Engine {
    w: Weights,
    pool: Pool,
    /// A pool of one, for threads running sequences side by side.
    solo: Pool,
    isa: Isa,
    split: Split,
    inv_freq: Vec<f64>,
    s: Scratch,
    side: Vec<Mutex<Scratch>>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("config", &self.w.config)
            .field("threads", &self.pool.threads())
            .field("isa", &self.isa)
            .field("split", &self.split)
            .finish_non_exhaustive()
    }
}

impl Engine {
    /// An engine running `weights` on `threads` threads (the caller's included), with the
    /// kernels of [`Isa::detect`]; the weights are repacked for them here.
    pub fn new(weights: Weights, threads: usize) -> Result<Engine, String> {
        Engine::with_isa(weights, threads, Isa::detect())
    }

    /// As [`Engine::new`] with the kernels of `isa` (capped at what the CPU runs).
    pub fn with_isa(mut weights: Weights, threads: usize, isa: Isa) -> Result<Engine, String> {
        weights.check()?;
        let isa = isa.min(Isa::best());
        weights.prepare(isa);
        let c = &weights.config;
        let inv_freq = (0..c.rope_dims / 2)
            .map(|i| c.rope_base.powf(-2.0 * i as f64 / c.rope_dims as f64))
            .collect();
        Ok(Engine {
            pool: Pool::new(threads),
            solo: Pool::new(1),
            isa,
            split: Split::detect(),
            inv_freq,
            w: weights,
            s: Scratch::default(),
            side: Vec::new(),
        })
    }

    /// Hyper-parameters.
    pub fn config(&self) -> &Config {
        &self.w.config
    }

    /// The weights.
    pub fn weights(&self) -> &Weights {
        &self.w
    }

    /// Threads in the pool.
    pub fn threads(&self) -> usize {
        self.pool.threads()
    }

    /// The kernels' instruction set.
    pub fn isa(&self) -> Isa {
        self.isa
    }

    /// How passes of several sequences share the threads.
    pub fn split(&self) -> Split {
        self.split
    }

    /// Sets how passes of several sequences share the threads (the logits do not change).
    pub fn set_split(&mut self, split: Split) {
        self.split = split;
    }

    /// An empty sequence with its cache allocated for `capacity` positions.
    pub fn sequence(&self, capacity: usize) -> Sequence {
        let c = &self.w.config;
        Sequence::new(
            c.layers,
            c.kv_heads,
            c.head_dim,
            capacity.min(c.context_length),
        )
    }

    /// Runs the steps' tokens and appends them to their sequences; returns the next-token
    /// logits (`vocab` floats) of each step that asked, in step order. On an error nothing has
    /// changed.
    pub fn forward(&mut self, steps: &mut [Step<'_>]) -> Result<Vec<Vec<f32>>, EngineError> {
        check(&self.w.config, steps)?;
        let n = self.pool.threads();
        let side = match self.split {
            Split::Rows => None,
            Split::Sequences => side_by_side(steps, n),
        };
        let Some(cuts) = side else {
            let cx = Ctx {
                w: &self.w,
                pool: &self.pool,
                isa: self.isa,
                inv_freq: &self.inv_freq,
            };
            return Ok(run(&cx, &mut self.s, steps));
        };
        // Sequences side by side: thread i runs the steps of group i through the whole model
        // alone (a pool of one), with its own scratch.
        while self.side.len() < cuts.len() {
            self.side.push(Mutex::new(Scratch::default()));
        }
        let mut groups: Vec<Mutex<Group<'_, '_>>> = Vec::new();
        let mut rest = steps;
        let mut at = 0;
        for &end in &cuts {
            let (g, r) = rest.split_at_mut(end - at);
            groups.push(Mutex::new((g, Vec::new())));
            rest = r;
            at = end;
        }
        let cx = Ctx {
            w: &self.w,
            pool: &self.solo,
            isa: self.isa,
            inv_freq: &self.inv_freq,
        };
        let side = &self.side;
        self.pool.run(&|i, _| {
            if let (Some(g), Some(s)) = (groups.get(i), side.get(i)) {
                let mut g = g.lock().unwrap_or_else(|e| e.into_inner());
                let mut s = s.lock().unwrap_or_else(|e| e.into_inner());
                let (steps, out) = &mut *g;
                *out = run(&cx, &mut s, steps);
            }
        });
        Ok(groups
            .into_iter()
            .flat_map(|g| g.into_inner().unwrap_or_else(|e| e.into_inner()).1)
            .collect())
    }
}

/// The steps one thread runs side by side with the others, and their logits.
type Group<'s, 'a> = (&'s mut [Step<'a>], Vec<Vec<f32>>);

/// What a forward pass reads, shared by the threads that run it.
struct Ctx<'a> {
    w: &'a Weights,
    pool: &'a Pool,
    isa: Isa,
    inv_freq: &'a [f64],
}

/// Refuses steps that name a token outside the vocabulary or outgrow the context.
fn check(c: &Config, steps: &[Step<'_>]) -> Result<(), EngineError> {
    for st in steps {
        let needed = st.seq.len() + st.tokens.len();
        if needed > c.context_length {
            return Err(EngineError::Context {
                needed,
                limit: c.context_length,
            });
        }
        if let Some(&id) = st.tokens.iter().find(|&&t| t as usize >= c.vocab) {
            return Err(EngineError::Token { id, vocab: c.vocab });
        }
    }
    Ok(())
}

/// Where to cut `steps` into at most `threads` contiguous groups of about equal token counts
/// (each cut the end of a group), or `None` when side by side would not pay: one thread, one
/// step, or groups that cannot be balanced to within a quarter of an even share.
fn side_by_side(steps: &[Step<'_>], threads: usize) -> Option<Vec<usize>> {
    let total: usize = steps.iter().map(|s| s.tokens.len()).sum();
    if threads < 2 || steps.len() < 2 || total == 0 {
        return None;
    }
    let groups = threads.min(steps.len());
    let mut cuts = Vec::with_capacity(groups);
    let mut acc = 0;
    for (i, st) in steps.iter().enumerate() {
        acc += st.tokens.len();
        // Close group k once it reaches its share, leaving a step for each group after it.
        let k = cuts.len();
        if k + 1 < groups && acc * groups >= total * (k + 1) && steps.len() - i > groups - k - 1 {
            cuts.push(i + 1);
        }
    }
    cuts.push(steps.len());
    // The slowest group sets the pace: at most a quarter above an even share.
    let mut start = 0;
    let mut largest = 0;
    for &end in &cuts {
        largest = largest.max(steps[start..end].iter().map(|s| s.tokens.len()).sum());
        start = end;
    }
    (4 * largest * cuts.len() <= 5 * total).then_some(cuts)
}

/// The forward pass of checked steps ([`check`]) on `cx`'s threads, with scratch `s`.
fn run(cx: &Ctx<'_>, s: &mut Scratch, steps: &mut [Step<'_>]) -> Vec<Vec<f32>> {
    let c = cx.w.config.clone();
    let mut rows: Vec<RowAt> = Vec::new();
    let mut tokens: Vec<u32> = Vec::new();
    for (si, st) in steps.iter().enumerate() {
        for (j, &tok) in st.tokens.iter().enumerate() {
            rows.push(RowAt {
                seq: si,
                pos: st.seq.len() + j,
            });
            tokens.push(tok);
        }
    }
    let t_rows = rows.len();
    if t_rows == 0 {
        return steps
            .iter()
            .filter(|s| s.logits)
            .map(|_| Vec::new())
            .collect();
    }
    for st in steps.iter_mut() {
        let total = st.seq.len() + st.tokens.len();
        st.seq.grow_to(total);
    }
    let (e, qd, kvd, hd) = (c.embd, c.q_dim(), c.kv_dim(), c.head_dim);
    s.x.resize(t_rows * e, 0.0);
    for (t, &tok) in tokens.iter().enumerate() {
        cx.w.token_embd
            .dequantize_row(tok as usize, &mut s.x[t * e..(t + 1) * e]);
    }
    // Rotary angles, once per row for every layer and head.
    let half = c.rope_dims / 2;
    s.cos.resize(t_rows * half, 0.0);
    s.sin.resize(t_rows * half, 0.0);
    for (t, r) in rows.iter().enumerate() {
        for (i, f) in cx.inv_freq.iter().enumerate() {
            let (sn, cs) = (r.pos as f64 * f).sin_cos();
            s.cos[t * half + i] = cs as f32;
            s.sin[t * half + i] = sn as f32;
        }
    }
    s.q.resize(t_rows * qd, 0.0);
    s.k.resize(t_rows * kvd, 0.0);
    s.v.resize(t_rows * kvd, 0.0);
    s.proj.resize(t_rows * e, 0.0);
    s.gate.resize(t_rows * c.ff, 0.0);
    s.up.resize(t_rows * c.ff, 0.0);
    let heads = Heads {
        heads: c.heads,
        kv_heads: c.kv_heads,
        dim: hd,
    };
    for (l, layer) in cx.w.layers.iter().enumerate() {
        // Attention.
        s.act.reset(t_rows, e);
        rms_norm_rows(&s.x, &layer.attn_norm, c.rms_eps, &mut s.act.x);
        matmul(
            cx.pool,
            cx.isa,
            &mut s.act,
            &mut [
                Product {
                    w: &layer.wq,
                    out: &mut s.q,
                },
                Product {
                    w: &layer.wk,
                    out: &mut s.k,
                },
                Product {
                    w: &layer.wv,
                    out: &mut s.v,
                },
            ],
        );
        if let Some([bq, bk, bv]) = &layer.bias {
            add_rows(&mut s.q, bq);
            add_rows(&mut s.k, bk);
            add_rows(&mut s.v, bv);
        }
        if let Some([qn, kn]) = &layer.qk_norm {
            rms_norm_in_place(&mut s.q, qn, c.rms_eps);
            rms_norm_in_place(&mut s.k, kn, c.rms_eps);
        }
        for (t, r) in rows.iter().enumerate() {
            let (cs, sn) = (&s.cos[t * half..][..half], &s.sin[t * half..][..half]);
            for h in s.q[t * qd..(t + 1) * qd].chunks_exact_mut(hd) {
                rope(c.rope, h, c.rope_dims, cs, sn);
            }
            for h in s.k[t * kvd..(t + 1) * kvd].chunks_exact_mut(hd) {
                rope(c.rope, h, c.rope_dims, cs, sn);
            }
            steps[r.seq].seq.store(
                l,
                r.pos,
                &s.k[t * kvd..(t + 1) * kvd],
                &s.v[t * kvd..(t + 1) * kvd],
            );
        }
        s.act.reset(t_rows, qd);
        {
            let seqs: Vec<&Sequence> = steps.iter().map(|st| &*st.seq).collect();
            attend(cx.pool, cx.isa, l, heads, &rows, &seqs, &s.q, &mut s.act.x);
        }
        matmul(
            cx.pool,
            cx.isa,
            &mut s.act,
            &mut [Product {
                w: &layer.wo,
                out: &mut s.proj,
            }],
        );
        add_into(&mut s.x, &s.proj[..t_rows * e]);
        // Feed-forward.
        s.act.reset(t_rows, e);
        rms_norm_rows(&s.x, &layer.ffn_norm, c.rms_eps, &mut s.act.x);
        matmul(
            cx.pool,
            cx.isa,
            &mut s.act,
            &mut [
                Product {
                    w: &layer.w_gate,
                    out: &mut s.gate,
                },
                Product {
                    w: &layer.w_up,
                    out: &mut s.up,
                },
            ],
        );
        s.act.reset(t_rows, c.ff);
        swiglu(cx.pool, &s.gate, &s.up, &mut s.act.x);
        matmul(
            cx.pool,
            cx.isa,
            &mut s.act,
            &mut [Product {
                w: &layer.w_down,
                out: &mut s.proj,
            }],
        );
        add_into(&mut s.x, &s.proj[..t_rows * e]);
    }
    // The last row of each step that wants logits.
    let mut last_rows = Vec::new();
    let mut t = 0;
    for st in steps.iter_mut() {
        let n = st.tokens.len();
        let total = st.seq.len() + n;
        st.seq.set_len(total);
        if st.logits {
            last_rows.push(if n == 0 { None } else { Some(t + n - 1) });
        }
        t += n;
    }
    let picked: Vec<usize> = last_rows.iter().flatten().copied().collect();
    let mut out: Vec<Vec<f32>> = Vec::with_capacity(last_rows.len());
    if !picked.is_empty() {
        s.act.reset(picked.len(), e);
        for (&t, out_row) in picked.iter().zip(s.act.x.chunks_exact_mut(e)) {
            rms_norm_rows(
                &s.x[t * e..(t + 1) * e],
                &cx.w.output_norm,
                c.rms_eps,
                out_row,
            );
        }
        let w_out = cx.w.output.as_ref().unwrap_or(&cx.w.token_embd);
        let mut logits = vec![0f32; picked.len() * c.vocab];
        matmul(
            cx.pool,
            cx.isa,
            &mut s.act,
            &mut [Product {
                w: w_out,
                out: &mut logits,
            }],
        );
        let mut chunks = logits.chunks_exact(c.vocab);
        for r in &last_rows {
            out.push(match r {
                Some(_) => chunks.next().map(<[f32]>::to_vec).unwrap_or_default(),
                None => Vec::new(),
            });
        }
    } else {
        out.extend(last_rows.iter().map(|_| Vec::new()));
    }
    out
}

/// `1 / √(mean(row²) + eps)`, the sum of squares in f64 as GGML does.
fn rms_scale(row: &[f32], eps: f32) -> f32 {
    let ss: f64 = row.iter().map(|&v| v as f64 * v as f64).sum();
    1.0 / ((ss / row.len() as f64) as f32 + eps).sqrt()
}

/// RMSNorm of each row of `x` (rows as wide as `w`) into `out`.
fn rms_norm_rows(x: &[f32], w: &[f32], eps: f32, out: &mut [f32]) {
    for (xr, or) in x.chunks_exact(w.len()).zip(out.chunks_exact_mut(w.len())) {
        let scale = rms_scale(xr, eps);
        for ((o, &v), &g) in or.iter_mut().zip(xr).zip(w) {
            *o = v * scale * g;
        }
    }
}

/// RMSNorm of each row of `x` in place (Qwen3's per-head query/key norms).
fn rms_norm_in_place(x: &mut [f32], w: &[f32], eps: f32) {
    for row in x.chunks_exact_mut(w.len()) {
        let scale = rms_scale(row, eps);
        for (v, &g) in row.iter_mut().zip(w) {
            *v = *v * scale * g;
        }
    }
}

fn add_rows(x: &mut [f32], b: &[f32]) {
    for row in x.chunks_exact_mut(b.len()) {
        add_into(row, b);
    }
}

/// Values below which [`swiglu`] runs on the calling thread alone (a dispatch to the pool costs
/// about as much as a thousand `expf`s).
const SWIGLU_SHARED_FROM: usize = 2048;

/// `out[i] = silu(gate[i])·up[i]` for every value of `out`, shared out to the pool's threads
/// when there are enough: each value is computed alone, so the split changes no bit.
fn swiglu(pool: &Pool, gate: &[f32], up: &[f32], out: &mut [f32]) {
    let n = out.len();
    let (gate, up) = (&gate[..n], &up[..n]);
    let part = |o: &mut [f32], g: &[f32], u: &[f32]| {
        for ((a, &g), &u) in o.iter_mut().zip(g).zip(u) {
            *a = g / (1.0 + (-g).exp()) * u;
        }
    };
    if n < SWIGLU_SHARED_FROM || pool.threads() == 1 {
        part(out, gate, up);
        return;
    }
    let o = SharedMut(out.as_mut_ptr());
    pool.run(&|i, k| {
        let r = share(n, i, k);
        // SAFETY: the shares are disjoint ranges of `out`, which outlives the job.
        let mine = unsafe { std::slice::from_raw_parts_mut(o.ptr().add(r.start), r.len()) };
        part(mine, &gate[r.clone()], &up[r]);
    });
}

fn add_into(x: &mut [f32], y: &[f32]) {
    for (a, b) in x.iter_mut().zip(y) {
        *a += b;
    }
}

/// Rotates the first `dims` dimensions of one head.
fn rope(style: Rope, h: &mut [f32], dims: usize, cos: &[f32], sin: &[f32]) {
    let half = dims / 2;
    for i in 0..half {
        let (a, b) = match style {
            Rope::Interleaved => (2 * i, 2 * i + 1),
            Rope::Halves => (i, i + half),
        };
        let (x0, x1) = (h[a], h[b]);
        h[a] = x0 * cos[i] - x1 * sin[i];
        h[b] = x0 * sin[i] + x1 * cos[i];
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::matmul::QMatrix;
    use crate::model::Layer;
    use crate::quant::{quantize_q8_0, QType, QK};

    fn rng(seed: u64) -> impl FnMut() -> f32 {
        let mut s = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
        move || {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            ((s >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
        }
    }

    /// A random matrix in `qtype` (nibbles and scales drawn directly for the 4-bit formats, every
    /// byte but the super-block scales for the K-quants).
    fn matrix(qtype: QType, rows: usize, cols: usize, seed: u64) -> QMatrix {
        let mut r = rng(seed);
        let bytes = match qtype {
            QType::Q8_0 => quantize_q8_0(&(0..rows * cols).map(|_| r() * 0.2).collect::<Vec<_>>()),
            QType::Q4_K | QType::Q6_K => {
                crate::quant::random_k_blocks(qtype, rows * cols / qtype.block_len(), 0.002, &mut r)
            }
            _ => {
                let mut out = Vec::new();
                for _ in 0..rows * cols / QK {
                    out.extend_from_slice(&crate::f16::from_f32(r() * 0.02).to_le_bytes());
                    if qtype == QType::Q4_1 {
                        out.extend_from_slice(&crate::f16::from_f32(r() * 0.1).to_le_bytes());
                    }
                    out.extend((0..16).map(|_| ((r() + 1.0) * 127.9) as u8));
                }
                out
            }
        };
        QMatrix::from_blocks(qtype, rows, cols, bytes).unwrap()
    }

    /// Two layers, 3 query heads over 1 key/value head, 40 output rows (two and a half groups
    /// of 16 for the packed kernels); K-quants (256-wide blocks) get 4 heads of 64 and a
    /// feed-forward layer of 512.
    fn weights(qtype: QType) -> Weights {
        let k = qtype.block_len() > QK;
        let (e, heads, hd, ff) = if k {
            (256, 4, 64, 512)
        } else {
            (64, 3, 32, 96)
        };
        let config = Config {
            layers: 2,
            embd: e,
            heads,
            kv_heads: 1,
            head_dim: hd,
            rope_dims: hd,
            ff,
            vocab: 40,
            rope_base: 10000.0,
            rms_eps: 1e-5,
            rope: Rope::Halves,
            context_length: 64,
        };
        let (qd, kvd) = (heads * hd, hd);
        let norm = |n: usize| vec![1.0f32; n];
        let layers = (0..2)
            .map(|l| {
                let s = 100 * (l as u64 + 1);
                Layer {
                    attn_norm: norm(e),
                    wq: matrix(qtype, qd, e, s + 1),
                    wk: matrix(qtype, kvd, e, s + 2),
                    wv: matrix(qtype, kvd, e, s + 3),
                    bias: None,
                    qk_norm: None,
                    wo: matrix(qtype, e, qd, s + 4),
                    ffn_norm: norm(e),
                    w_gate: matrix(qtype, ff, e, s + 5),
                    w_up: matrix(qtype, ff, e, s + 6),
                    w_down: matrix(qtype, e, ff, s + 7),
                }
            })
            .collect();
        Weights {
            config,
            // Q4_K_M files hold the (tied) embeddings as Q6_K.
            token_embd: matrix(if k { QType::Q6_K } else { QType::Q8_0 }, 40, e, 9),
            layers,
            output_norm: norm(e),
            output: None,
        }
    }

    /// Logits after a 5-token prompt run in chunks of `chunk`, then 3 single steps, with a
    /// second sequence in the same batches when `company` is set.
    fn run(engine: &mut Engine, chunk: usize, company: bool) -> Vec<Vec<f32>> {
        let prompt = [1u32, 7, 3, 30, 12, 5, 9, 2];
        let other = [4u32, 4, 8, 21, 39, 6, 0, 11];
        let mut a = engine.sequence(16);
        let mut b = engine.sequence(16);
        let mut out = Vec::new();
        let mut at = 0;
        while at < prompt.len() {
            let end = (at + chunk).min(prompt.len());
            let mut steps = vec![Step {
                seq: &mut a,
                tokens: &prompt[at..end],
                logits: true,
            }];
            if company {
                steps.push(Step {
                    seq: &mut b,
                    tokens: &other[at..end],
                    logits: true,
                });
            }
            out.push(engine.forward(&mut steps).unwrap().swap_remove(0));
            at = end;
        }
        out
    }

    #[test]
    fn groups_side_by_side_are_contiguous_balanced_and_skip_unbalanced_passes() {
        let w = weights(QType::Q8_0);
        let e = Engine::with_isa(w, 1, Isa::Generic).unwrap();
        let mut seqs: Vec<Sequence> = (0..5).map(|_| e.sequence(8)).collect();
        let toks = [[1u32, 2, 3, 4]; 5];
        let steps = |seqs: &mut [Sequence], lens: &[usize]| -> Option<Vec<usize>> {
            let st: Vec<Step> = seqs
                .iter_mut()
                .zip(lens)
                .zip(&toks)
                .map(|((s, &n), t)| Step {
                    seq: s,
                    tokens: &t[..n],
                    logits: false,
                })
                .collect();
            side_by_side(&st, 2)
        };
        assert_eq!(steps(&mut seqs[..4], &[1, 1, 1, 1]), Some(vec![2, 4]));
        assert_eq!(steps(&mut seqs[..5], &[1, 1, 1, 1, 1]), Some(vec![3, 5]));
        assert_eq!(steps(&mut seqs[..2], &[1, 1]), Some(vec![1, 2]));
        assert_eq!(steps(&mut seqs[..1], &[4]), None);
        // One long prompt beside two decode steps cannot be balanced.
        assert_eq!(steps(&mut seqs[..3], &[4, 1, 1]), None);
    }

    #[test]
    fn a_bad_step_in_a_side_by_side_pass_changes_nothing() {
        let mut e = Engine::with_isa(weights(QType::Q4_0), 2, Isa::best()).unwrap();
        e.set_split(Split::Sequences);
        let (mut a, mut b) = (e.sequence(8), e.sequence(8));
        let r = e.forward(&mut [
            Step {
                seq: &mut a,
                tokens: &[1, 2],
                logits: true,
            },
            Step {
                seq: &mut b,
                tokens: &[3, 400],
                logits: true,
            },
        ]);
        assert_eq!(r, Err(EngineError::Token { id: 400, vocab: 40 }));
        assert_eq!((a.len(), b.len()), (0, 0));
    }

    fn k_quant(a: QType, b: QType) -> bool {
        [a, b]
            .iter()
            .any(|q| matches!(q, QType::Q4_K | QType::Q6_K))
    }

    /// Every level the CPU runs: chunking, batching and threads change no bit; the AVX-512
    /// level (weights repacked) gives the portable kernels' bits, and AVX2 stays close.
    #[test]
    fn logits_are_independent_of_batch_chunks_threads_and_match_across_levels() {
        for qtype in crate::quant::BLOCK_FORMATS {
            let mut generic = Engine::with_isa(weights(qtype), 1, Isa::Generic).unwrap();
            let want = run(&mut generic, 8, false);
            for isa in Isa::supported() {
                for (threads, split) in [
                    (1, Split::Rows),
                    (2, Split::Rows),
                    (2, Split::Sequences),
                    (3, Split::Sequences),
                ] {
                    let mut e = Engine::with_isa(weights(qtype), threads, isa).unwrap();
                    e.set_split(split);
                    assert_eq!(e.isa(), isa);
                    let whole = run(&mut e, 8, false);
                    assert_eq!(
                        whole.last(),
                        run(&mut e, 3, true).last(),
                        "{qtype:?} {isa:?}"
                    );
                    assert_eq!(whole.last(), run(&mut e, 1, true).last());
                    let (g, w) = (whole.last().unwrap(), want.last().unwrap());
                    // Bit-identical where every matrix is packed at this level (the
                    // embeddings are Q8_0 or Q6_K; AVX2 multiplies Q6_K on Q8_K activations).
                    let embd = e.weights().token_embd.qtype();
                    if isa == Isa::Generic || (isa.packs(qtype) && isa.packs(embd)) {
                        assert_eq!(g, w, "{qtype:?} {isa:?} differs from the portable kernels");
                    } else {
                        let worst = g.iter().zip(w).fold(0f32, |m, (x, y)| m.max((x - y).abs()));
                        let bound = if isa.q8k() && k_quant(qtype, embd) {
                            // Activations quantized per 256 values instead of 32: on these
                            // random weights the logits move by up to 14 % of the largest
                            // (measured: Q4_K 12.1 of 88.2, Q6_K 3.5 of 72.6).
                            0.2 * w.iter().fold(0f32, |m, v| m.max(v.abs()))
                        } else {
                            1e-3
                        };
                        assert!(worst < bound, "{qtype:?} {isa:?}: {worst} ≥ {bound}");
                    }
                }
            }
        }
    }
}
