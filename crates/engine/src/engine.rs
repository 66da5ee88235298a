//! The forward pass: a batch of steps, each some new tokens of one sequence, through the
//! decoder at once. Every row is computed on its own (norms, products, attention against its own
//! sequence), so a row's numbers do not depend on what else is in the batch.

use crate::attention::{attend, Heads, RowAt};
use crate::kernels::Isa;
use crate::kv::Sequence;
use crate::matmul::{matmul, Act, Product};
use crate::model::{Config, Rope, Weights};
use crate::pool::Pool;

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
    isa: Isa,
    inv_freq: Vec<f64>,
    s: Scratch,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("config", &self.w.config)
            .field("threads", &self.pool.threads())
            .field("isa", &self.isa)
            .finish_non_exhaustive()
    }
}

impl Engine {
    /// An engine running `weights` on `threads` threads (the caller's included).
    pub fn new(weights: Weights, threads: usize) -> Result<Engine, String> {
        weights.check()?;
        let c = &weights.config;
        let inv_freq = (0..c.rope_dims / 2)
            .map(|i| c.rope_base.powf(-2.0 * i as f64 / c.rope_dims as f64))
            .collect();
        Ok(Engine {
            pool: Pool::new(threads),
            isa: Isa::detect(),
            inv_freq,
            w: weights,
            s: Scratch::default(),
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

    /// An empty sequence with its cache allocated for `capacity` positions.
    pub fn sequence(&self, capacity: usize) -> Sequence {
        let c = &self.w.config;
        Sequence::new(c.layers, c.kv_dim(), capacity.min(c.context_length))
    }

    /// Runs the steps' tokens and appends them to their sequences; returns the next-token
    /// logits (`vocab` floats) of each step that asked, in step order. On an error nothing has
    /// changed.
    pub fn forward(&mut self, steps: &mut [Step<'_>]) -> Result<Vec<Vec<f32>>, EngineError> {
        let c = self.w.config.clone();
        let mut rows: Vec<RowAt> = Vec::new();
        let mut tokens: Vec<u32> = Vec::new();
        for (si, st) in steps.iter().enumerate() {
            let needed = st.seq.len() + st.tokens.len();
            if needed > c.context_length {
                return Err(EngineError::Context {
                    needed,
                    limit: c.context_length,
                });
            }
            for (j, &tok) in st.tokens.iter().enumerate() {
                if tok as usize >= c.vocab {
                    return Err(EngineError::Token {
                        id: tok,
                        vocab: c.vocab,
                    });
                }
                rows.push(RowAt {
                    seq: si,
                    pos: st.seq.len() + j,
                });
                tokens.push(tok);
            }
        }
        let t_rows = rows.len();
        if t_rows == 0 {
            return Ok(steps
                .iter()
                .filter(|s| s.logits)
                .map(|_| Vec::new())
                .collect());
        }
        for st in steps.iter_mut() {
            let total = st.seq.len() + st.tokens.len();
            st.seq.grow_to(total);
        }
        let (e, qd, kvd, hd) = (c.embd, c.q_dim(), c.kv_dim(), c.head_dim);
        let s = &mut self.s;
        s.x.resize(t_rows * e, 0.0);
        for (t, &tok) in tokens.iter().enumerate() {
            self.w
                .token_embd
                .dequantize_row(tok as usize, &mut s.x[t * e..(t + 1) * e]);
        }
        // Rotary angles, once per row for every layer and head.
        let half = c.rope_dims / 2;
        s.cos.resize(t_rows * half, 0.0);
        s.sin.resize(t_rows * half, 0.0);
        for (t, r) in rows.iter().enumerate() {
            for (i, f) in self.inv_freq.iter().enumerate() {
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
        for (l, layer) in self.w.layers.iter().enumerate() {
            // Attention.
            s.act.reset(t_rows, e);
            rms_norm_rows(&s.x, &layer.attn_norm, c.rms_eps, &mut s.act.x);
            s.act.quantize(self.isa);
            matmul(
                &self.pool,
                self.isa,
                &s.act,
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
                attend(
                    &self.pool,
                    self.isa,
                    l,
                    heads,
                    &rows,
                    &seqs,
                    &s.q,
                    &mut s.act.x,
                );
            }
            s.act.quantize(self.isa);
            matmul(
                &self.pool,
                self.isa,
                &s.act,
                &mut [Product {
                    w: &layer.wo,
                    out: &mut s.proj,
                }],
            );
            add_into(&mut s.x, &s.proj[..t_rows * e]);
            // Feed-forward.
            s.act.reset(t_rows, e);
            rms_norm_rows(&s.x, &layer.ffn_norm, c.rms_eps, &mut s.act.x);
            s.act.quantize(self.isa);
            matmul(
                &self.pool,
                self.isa,
                &s.act,
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
            for ((a, &g), &u) in s.act.x.iter_mut().zip(&s.gate).zip(&s.up) {
                *a = g / (1.0 + (-g).exp()) * u;
            }
            s.act.quantize(self.isa);
            matmul(
                &self.pool,
                self.isa,
                &s.act,
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
                    &self.w.output_norm,
                    c.rms_eps,
                    out_row,
                );
            }
            s.act.quantize(self.isa);
            let w_out = self.w.output.as_ref().unwrap_or(&self.w.token_embd);
            let mut logits = vec![0f32; picked.len() * c.vocab];
            matmul(
                &self.pool,
                self.isa,
                &s.act,
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
        Ok(out)
    }
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
