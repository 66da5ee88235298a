//! popbench's own candle forward pass for the llama family (llama, mistral, Qwen2, Qwen3), from
//! GGUF (weights as stored) or safetensors (f32, f16 or bf16), with batched generation on any
//! candle device (CPU, CUDA, Metal): candle tensor ops throughout, except the products of GGUF
//! matrices on the CPU device, which run on popbench's engine kernels by default (below).
//!
//! A batch is a [`State`]: one KV cache per sequence, held as the rows of one tensor per layer
//! (`[sequence, kv head, column, head dim]`, preallocated for the prompt and the longest reply
//! and written in place). Prompts of different lengths are *left*-padded to a common length, so
//! every sequence's next token lands in the same column; each row carries its own rotary
//! positions (pad columns do not count) and an attention mask that hides its pad columns (no
//! mask at all for a decode step without pads). Prompts are prefilled together in chunks;
//! decoding then runs one column per step for every live sequence in one forward pass, and the
//! rows of finished sequences are dropped from the caches. Attention reads the caches in place
//! (strided batched matmuls, no copy per step).
//!
//! Fewer, larger products: the q/k/v projections of a layer are one matrix (or one dispatch),
//! and so are its gate and up projections (fused at load when the parts share a format;
//! otherwise they stay apart).
//!
//! Which kernels run the matrices:
//! - **The CPU device, GGUF (the default):** popbench's engine kernels (`batched/host.rs`,
//!   [`Kernels`]): each weight block unpacked once for up to 8 rows of the batch, Q4_0 / Q4_1
//!   / Q8_0 as stored, the activations quantized as the engine quantizes them, so the products
//!   are the engine's bit for bit; attention too (tests/candle_batch.rs: logits within 1e-4 of
//!   the engine in every format).
//! - **CUDA and Metal, and the CPU with [`super::Runner::BatchedCandleKernels`]:** candle's
//!   `QMatMul`, the matrices as stored (on CUDA: its MMVQ kernel up to 8 rows, MMQ beyond). On
//!   the CPU, Q4_1 / Q5_0 / Q5_1 then run as Q8_0, and on a CPU with AVX-512 VNNI or AVX-VNNI a
//!   Q8_0 matrix whose input width is not a multiple of 256 gets zero input columns up to the
//!   next multiple (its inputs get zeros to match): candle 0.11 then runs it through its tiled
//!   kernel, which applies each weight tile to up to 4 rows of the batch at once, instead of
//!   one vec-dot per row and output column — on SmolLM2 (576 → 768; one thread) 4.5–7.6× less
//!   time per product at batch 8 and 1.3–4.2× at batch 1. Zero blocks add nothing to a dot
//!   product; the activations are then quantized in blocks of 256 (candle's `Q8K`) rather
//!   than 32, which moves the logits a little more (0.15 against 0.1 of the largest logit on
//!   random tiny weights). This keeps the code GPUs run tested on the CPU device.
//! - **Safetensors:** dense matrices in the model's dtype, candle's matmul on every device; on
//!   the CPU device attention runs on the engine's kernels (as for GGUF), unless
//!   [`super::Runner::BatchedCandleKernels`] asks for candle's.
//!
//! Memory, on top of the weights as stored: the token embeddings dequantized to f32 (vocab ×
//! width × 4 bytes, 113 MB for SmolLM2-135M); with candle's CPU kernels, widened Q8_0 matrices
//! hold 256/k more columns rounded up (SmolLM2: ×4/3 for the matrices whose input width is
//! 576, +34 MB in all); the
//! KV caches are f32, layers × kv width × 2 × 4 bytes a position and row (45 KiB for
//! SmolLM2-135M), preallocated for prompt + longest reply; the prefix cache ([`PrefixCache`])
//! keeps up to 64 MiB (CPU) or 1 GiB (other devices) of earlier sequences besides the last
//! batch's.
//!
//! A prompt that shares a prefix with a sequence run before (a live conversation's next turn
//! extends the previous turn's prompt and answer; a deployment context's system prompt) starts
//! from a copy of that prefix's KV instead of recomputing it ([`PrefixCache`]).
//!
//! candle-transformers' models take one sequence (no masks, no per-row positions), hence this
//! module. Weights are read with the same interpretation of the files as popbench's CPU engine
//! ([`super::native::gguf_config`], [`super::native::safetensors_config`]).

mod cache;
mod generate;
mod host;
mod load;

pub use cache::{PrefixCache, ReuseStats};
pub(super) use generate::run;
pub use generate::{model_of, teacher_force};
pub use host::Kernels;
pub use load::{unsupported_config, unsupported_gguf};

use super::CausalLm;
use candle_core::quantized::QMatMul;
use candle_core::{DType, Device, Module, Tensor};
use load::err;
use popbench_engine::{Config, Rope};

/// A weight matrix: a GGUF tensor as stored (quantized or dequantized by candle), or a dense
/// safetensors matrix in the model's dtype.
enum Weight {
    Quant(QMatMul),
    Dense(Tensor),
}

/// A weight matrix and the zero columns its inputs get (see the module documentation).
struct Linear {
    w: Weight,
    pad: usize,
}

impl Linear {
    /// `x` (`[rows, in]`, f32) times the transposed weight: `[rows, out]`, f32.
    fn forward(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        let padded;
        let x = if self.pad > 0 {
            padded = x.pad_with_zeros(1, 0, self.pad)?;
            &padded
        } else {
            x
        };
        match &self.w {
            Weight::Quant(q) => q.forward(x)?.to_dtype(DType::F32),
            Weight::Dense(w) => x.to_dtype(w.dtype())?.matmul(&w.t()?)?.to_dtype(DType::F32),
        }
    }
}

/// Matrices that read the same input: one fused matrix (and the widths of its parts) when
/// their formats allow, else one each; on the CPU device, GGUF matrices through popbench's
/// engine kernels ([`Kernels`]).
enum Proj {
    Fused(Linear, Vec<usize>),
    Apart(Vec<Linear>),
    Host(host::HostProj),
}

impl Proj {
    /// Each part's product with `x` (`[rows, in]`): `[rows, width]` each.
    fn forward(&self, x: &Tensor) -> candle_core::Result<Vec<Tensor>> {
        match self {
            Proj::Fused(l, widths) => {
                let y = l.forward(x)?;
                if widths.len() == 1 {
                    return Ok(vec![y]);
                }
                let mut at = 0;
                let mut out = Vec::with_capacity(widths.len());
                for &w in widths {
                    out.push(y.narrow(1, at, w)?);
                    at += w;
                }
                Ok(out)
            }
            Proj::Apart(ls) => ls.iter().map(|l| l.forward(x)).collect(),
            Proj::Host(h) => h.forward(x),
        }
    }

    /// The product of a single matrix.
    fn one(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        self.forward(x)?
            .pop()
            .ok_or_else(|| candle_core::Error::Msg("no matrix".into()))
    }
}

struct Layer {
    attn_norm: Tensor,
    /// q, k, v.
    qkv: Proj,
    /// q, k, v biases (Qwen2).
    bias: Option<[Tensor; 3]>,
    /// Per-head q and k norms (Qwen3).
    qk_norm: Option<[Tensor; 2]>,
    wo: Proj,
    ffn_norm: Tensor,
    /// gate, up.
    gate_up: Proj,
    w_down: Proj,
}

/// A model ready to decode batches on a candle device.
pub struct Batched {
    cfg: Config,
    device: Device,
    device_name: String,
    dtype: String,
    /// `[vocab, embd]`, in the weights' dtype (f32 for GGUF).
    embed: Tensor,
    layers: Vec<Layer>,
    output_norm: Tensor,
    output: Proj,
    /// Rotary tables, `[context, head_dim / 2]`, f32.
    cos: Tensor,
    sin: Tensor,
    /// The sequence that [`CausalLm::forward`] extends.
    single: Option<State>,
    /// Earlier sequences that batches start from.
    cache: PrefixCache,
    /// On the CPU device with popbench's engine kernels: attention computed by them too
    /// ([`Kernels::attend`]).
    host: Option<std::sync::Arc<Kernels>>,
}

impl std::fmt::Debug for Batched {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Batched")
            .field("config", &self.cfg)
            .field("device", &self.device_name)
            .finish_non_exhaustive()
    }
}

/// The KV caches of a batch of sequences (rows), filled up to the same column.
pub struct State {
    k: Vec<Tensor>,
    v: Vec<Tensor>,
    /// Columns filled.
    len: usize,
    /// Columns allocated.
    cap: usize,
    /// Leading pad columns of each row.
    pads: Vec<usize>,
}

/// Where a row of a batch starts: the keys and values of an earlier sequence (`[1, kv head,
/// ≥ n, head dim]` per layer) and the `n` positions to copy.
type Reuse<'a> = Option<(&'a [Tensor], &'a [Tensor], usize)>;

/// Rows (sequence × column) per prefill pass on the CPU; GPUs take more.
const PREFILL_ROWS_CPU: usize = 512;
const PREFILL_ROWS_GPU: usize = 4096;
/// Rows per pass of the output matrix when logits are wanted at many columns.
const LOGIT_ROWS: usize = 64;

fn rope_tables(cfg: &Config, device: &Device) -> candle_core::Result<(Tensor, Tensor)> {
    let half = cfg.head_dim / 2;
    let n = cfg.context_length.max(1);
    let mut cos = Vec::with_capacity(n * half);
    let mut sin = Vec::with_capacity(n * half);
    for p in 0..n {
        for i in 0..half {
            let freq = cfg.rope_base.powf(-2.0 * i as f64 / cfg.head_dim as f64);
            let a = p as f64 * freq;
            cos.push(a.cos() as f32);
            sin.push(a.sin() as f32);
        }
    }
    Ok((
        Tensor::from_vec(cos, (n, half), device)?,
        Tensor::from_vec(sin, (n, half), device)?,
    ))
}

impl Batched {
    #[allow(clippy::too_many_arguments)]
    fn assemble(
        mut cfg: Config,
        device: &Device,
        device_name: String,
        dtype: String,
        embed: Tensor,
        layers: Vec<Layer>,
        output_norm: Tensor,
        output: Proj,
        host: Option<std::sync::Arc<Kernels>>,
    ) -> Result<Batched, String> {
        if host.is_some() && !device.is_cpu() {
            return Err("popbench's engine kernels run on the CPU device only".into());
        }
        cfg.vocab = embed.dims2().map_err(err)?.0;
        cfg.check()?;
        if !cfg.head_dim.is_multiple_of(2) || !cfg.heads.is_multiple_of(cfg.kv_heads) {
            return Err(format!(
                "unsupported attention shape: {} heads of {} over {} key/value heads",
                cfg.heads, cfg.head_dim, cfg.kv_heads
            ));
        }
        let (cos, sin) = rope_tables(&cfg, device).map_err(err)?;
        let budget = if device.is_cpu() {
            cache::BUDGET_BYTES_CPU
        } else {
            cache::BUDGET_BYTES_GPU
        };
        Ok(Batched {
            cfg,
            device: device.clone(),
            device_name,
            dtype,
            embed,
            layers,
            output_norm,
            output,
            cos,
            sin,
            single: None,
            cache: PrefixCache::new(budget),
            host,
        })
    }

    /// Positions a sequence may hold.
    pub fn context_length(&self) -> usize {
        self.cfg.context_length
    }

    /// `popbench-candle (batched, cuda:0, bf16)`, for provenance.
    pub fn describe(&self) -> String {
        format!(
            "popbench-candle (batched, {}, {})",
            self.device_name, self.dtype
        )
    }

    /// The prefix cache that batches start from.
    pub fn prefix_cache(&mut self) -> &mut PrefixCache {
        &mut self.cache
    }

    /// KV bytes a position takes in one row.
    fn position_bytes(&self) -> usize {
        self.cfg.layers * self.cfg.kv_dim() * 2 * 4
    }

    /// Sequences to decode together. On the CPU 8, fewer when 8 caches of 1,024 positions
    /// would pass 2 GiB; on GPUs 32, fewer when 32 caches of 2,048 positions would pass 16 GiB
    /// (the caches are f32).
    pub fn preferred_batch(&self) -> usize {
        let per_position = self.position_bytes();
        let (budget, positions, most) = if self.device.is_cpu() {
            (2usize << 30, 1024, 8)
        } else {
            (16usize << 30, 2048, 32)
        };
        (budget / (per_position * positions).max(1)).clamp(1, most)
    }

    fn prefill_rows(&self) -> usize {
        if self.device.is_cpu() {
            PREFILL_ROWS_CPU
        } else {
            PREFILL_ROWS_GPU
        }
    }

    /// Empty caches for `rows` sequences with room for `cap` columns.
    pub fn state(&self, rows: usize, cap: usize) -> candle_core::Result<State> {
        let cap = cap.max(1);
        let shape = (rows, self.cfg.kv_heads, cap, self.cfg.head_dim);
        let mut k = Vec::with_capacity(self.cfg.layers);
        let mut v = Vec::with_capacity(self.cfg.layers);
        for _ in 0..self.cfg.layers {
            k.push(Tensor::zeros(shape, DType::F32, &self.device)?);
            v.push(Tensor::zeros(shape, DType::F32, &self.device)?);
        }
        Ok(State {
            k,
            v,
            len: 0,
            cap,
            pads: vec![0; rows],
        })
    }

    /// Makes room for `need` columns (doubling).
    fn grow(&self, st: &mut State, need: usize) -> candle_core::Result<()> {
        if need <= st.cap {
            return Ok(());
        }
        let cap = need.max(st.cap * 2);
        let extra = (
            st.pads.len(),
            self.cfg.kv_heads,
            cap - st.cap,
            self.cfg.head_dim,
        );
        for t in st.k.iter_mut().chain(st.v.iter_mut()) {
            let zeros = Tensor::zeros(extra, DType::F32, &self.device)?;
            *t = Tensor::cat(&[&*t, &zeros], 2)?;
        }
        st.cap = cap;
        Ok(())
    }

    /// Runs `s` new columns of tokens (`tokens[row * s + j]`) through every row of `st`;
    /// returns the last layer's output, `[rows, s, embd]` (before the output norm).
    fn hidden(&self, st: &mut State, tokens: &[u32], s: usize) -> candle_core::Result<Tensor> {
        let b = st.pads.len();
        if b == 0 || s == 0 || tokens.len() != b * s {
            candle_core::bail!("{} tokens for {b} rows of {s} columns", tokens.len());
        }
        if let Some(&t) = tokens.iter().find(|&&t| t as usize >= self.cfg.vocab) {
            candle_core::bail!(
                "token {t} is outside the vocabulary ({} tokens)",
                self.cfg.vocab
            );
        }
        self.grow(st, st.len + s)?;
        let c = &self.cfg;
        let total = st.len + s;
        let half = c.head_dim / 2;
        let mut positions = Vec::with_capacity(b * s);
        for &pad in &st.pads {
            for j in 0..s {
                positions.push((st.len + j).saturating_sub(pad) as u32);
            }
        }
        if let Some(&p) = positions.iter().max() {
            if p as usize >= self.cos.dims2()?.0 {
                candle_core::bail!(
                    "position {p} is past the model's context ({})",
                    c.context_length
                );
            }
        }
        let dev = &self.device;
        // A decode step without pad columns attends to every column: no mask; the engine's
        // attention leaves pad columns out instead.
        let mask = if self.host.is_none() && (s > 1 || st.pads.iter().any(|&p| p > 0)) {
            let mut mask = vec![0f32; b * s * total];
            for (r, &pad) in st.pads.iter().enumerate() {
                for j in 0..s {
                    let col = st.len + j;
                    let row = &mut mask[(r * s + j) * total..(r * s + j + 1) * total];
                    for (k, m) in row.iter_mut().enumerate() {
                        // A pad column attends to itself only, so it stays finite.
                        if k != col && (k < pad || k > col) {
                            *m = f32::NEG_INFINITY;
                        }
                    }
                }
            }
            Some(Tensor::from_vec(mask, (b, 1, 1, s, total), dev)?)
        } else {
            None
        };
        let pos = Tensor::from_vec(positions, b * s, dev)?;
        let cos = self.cos.index_select(&pos, 0)?.reshape((b, s, half))?;
        let sin = self.sin.index_select(&pos, 0)?.reshape((b, s, half))?;
        let ids = Tensor::from_vec(tokens.to_vec(), b * s, dev)?;
        let mut x = self.embed.index_select(&ids, 0)?.to_dtype(DType::F32)?;
        let (heads, kvh, hd) = (c.heads, c.kv_heads, c.head_dim);
        let rep = heads / kvh;
        let scale = 1.0 / (hd as f64).sqrt();
        let rope = |t: &Tensor| match c.rope {
            Rope::Interleaved => candle_nn::rotary_emb::rope_i(t, &cos, &sin),
            Rope::Halves => candle_nn::rotary_emb::rope(t, &cos, &sin),
        };
        for (l, layer) in self.layers.iter().enumerate() {
            let h = candle_nn::ops::rms_norm(&x, &layer.attn_norm, c.rms_eps)?;
            let mut qkv = layer.qkv.forward(&h)?.into_iter();
            let (Some(mut q), Some(mut k), Some(mut v)) = (qkv.next(), qkv.next(), qkv.next())
            else {
                candle_core::bail!("layer {l}: q, k and v expected");
            };
            if let Some([bq, bk, bv]) = &layer.bias {
                q = q.broadcast_add(bq)?;
                k = k.broadcast_add(bk)?;
                v = v.broadcast_add(bv)?;
            }
            let split =
                |t: Tensor, n: usize| t.reshape((b, s, n, hd))?.transpose(1, 2)?.contiguous();
            let mut q = split(q, heads)?;
            let mut k = split(k, kvh)?;
            let v = split(v, kvh)?;
            if let Some([qn, kn]) = &layer.qk_norm {
                q = candle_nn::ops::rms_norm(&q, qn, c.rms_eps)?;
                k = candle_nn::ops::rms_norm(&k, kn, c.rms_eps)?;
            }
            let q = rope(&q)?;
            let k = rope(&k)?;
            st.k[l].slice_set(&k, 2, st.len)?;
            st.v[l].slice_set(&v, 2, st.len)?;
            let o = match &self.host {
                Some(kernels) => {
                    kernels.attend(&q, &st.k[l], &st.v[l], &st.pads, st.len, scale as f32)?
                }
                None => {
                    // The filled columns, read in place (strided batched matmuls).
                    let keys = st.k[l].narrow(2, 0, total)?;
                    let values = st.v[l].narrow(2, 0, total)?;
                    // Grouped-query attention: the `rep` query heads of a key/value head are
                    // stacked.
                    let q = q.reshape((b, kvh, rep * s, hd))?;
                    let att = q.matmul(&keys.t()?)?.affine(scale, 0.0)?;
                    let att = match &mask {
                        Some(m) => att
                            .reshape((b, kvh, rep, s, total))?
                            .broadcast_add(m)?
                            .reshape((b, kvh, rep * s, total))?,
                        None => att,
                    };
                    let att = candle_nn::ops::softmax_last_dim(&att)?;
                    att.matmul(&values)?
                        .reshape((b, heads, s, hd))?
                        .transpose(1, 2)?
                        .reshape((b * s, heads * hd))?
                }
            };
            x = (x + layer.wo.one(&o)?)?;
            let h = candle_nn::ops::rms_norm(&x, &layer.ffn_norm, c.rms_eps)?;
            let mut gu = layer.gate_up.forward(&h)?.into_iter();
            let (Some(g), Some(u)) = (gu.next(), gu.next()) else {
                candle_core::bail!("layer {l}: gate and up expected");
            };
            x = (x + layer.w_down.one(&(g.silu()? * u)?)?)?;
        }
        st.len = total;
        x.reshape((b, s, c.embd))
    }

    /// Next-token logits for hidden states `[rows, embd]`: `[rows, vocab]`.
    fn logits(&self, h: &Tensor) -> candle_core::Result<Tensor> {
        let h = candle_nn::ops::rms_norm(&h.contiguous()?, &self.output_norm, self.cfg.rms_eps)?;
        self.output.one(&h)
    }

    /// [`Batched::hidden`], then the logits after the last column of each row when `logits`
    /// is set.
    fn forward(
        &self,
        st: &mut State,
        tokens: &[u32],
        s: usize,
        logits: bool,
    ) -> candle_core::Result<Vec<Vec<f32>>> {
        let x = self.hidden(st, tokens, s)?;
        if !logits {
            return Ok(Vec::new());
        }
        let b = st.pads.len();
        let last = x.narrow(1, s - 1, 1)?.reshape((b, self.cfg.embd))?;
        self.logits(&last)?.to_vec2::<f32>()
    }

    /// Reduces the logits after columns `from..` of a pass's hidden states `x` (`[rows, s,
    /// embd]`, the pass started at column `start`) with `f(row, column, logits)`, a few rows of
    /// the output matrix at a time.
    fn each_logits(
        &self,
        x: &Tensor,
        start: usize,
        from: usize,
        f: &mut dyn FnMut(usize, usize, &[f32]),
    ) -> candle_core::Result<()> {
        let (b, s, embd) = x.dims3()?;
        let first = from.max(start);
        if first >= start + s {
            return Ok(());
        }
        let w = start + s - first;
        let h = x.narrow(1, first - start, w)?.reshape((b * w, embd))?;
        let mut at = 0;
        while at < b * w {
            let n = LOGIT_ROWS.min(b * w - at);
            let rows = self.logits(&h.narrow(0, at, n)?)?.to_vec2::<f32>()?;
            for (i, lg) in rows.iter().enumerate() {
                let flat = at + i;
                f(flat / w, first + flat % w, lg);
            }
            at += n;
        }
        Ok(())
    }

    /// Prefills `prompts` (one per row of `st`, which must be empty), left-padded to a common
    /// length, in chunks; returns the logits after each prompt.
    pub fn prefill(
        &self,
        st: &mut State,
        prompts: &[&[u32]],
    ) -> candle_core::Result<Vec<Vec<f32>>> {
        let none = vec![None; prompts.len()];
        self.prefill_from(st, prompts, &none)
    }

    /// [`Batched::prefill`] where `reuse[r]` = `(keys, values, n)`: row `r` starts from the
    /// first `n` positions of those caches (`[1, kv head, ≥ n, head dim]` per layer; `n` less
    /// than its prompt's length) instead of computing them.
    fn prefill_from(
        &self,
        st: &mut State,
        prompts: &[&[u32]],
        reuse: &[Reuse<'_>],
    ) -> candle_core::Result<Vec<Vec<f32>>> {
        let b = prompts.len();
        if b != st.pads.len() || st.len != 0 || reuse.len() != b {
            candle_core::bail!("prefill needs an empty state with one row per prompt");
        }
        let longest = prompts.iter().map(|p| p.len()).max().unwrap_or(0);
        if longest == 0 || prompts.iter().any(|p| p.is_empty()) {
            candle_core::bail!("empty prompt");
        }
        self.grow(st, longest)?;
        st.pads = prompts.iter().map(|p| longest - p.len()).collect();
        let reused: Vec<usize> = reuse
            .iter()
            .zip(prompts)
            .map(|(r, p)| r.as_ref().map_or(0, |r| r.2.min(p.len() - 1)))
            .collect();
        // Columns every row still computes (the longest unreused tail); a row whose own tail
        // is shorter recomputes a few of its reused positions, which gives the same values.
        let tail = prompts
            .iter()
            .zip(&reused)
            .map(|(p, n)| p.len() - n)
            .max()
            .unwrap_or(longest);
        let start = longest - tail;
        if start > 0 {
            self.copy_in(st, reuse, &reused)?;
        }
        st.len = start;
        let chunk = (self.prefill_rows() / b).max(1);
        let mut col = start;
        let mut out = Vec::new();
        while col < longest {
            let s = chunk.min(longest - col);
            let mut tokens = Vec::with_capacity(b * s);
            for (p, &pad) in prompts.iter().zip(&st.pads) {
                for c in col..col + s {
                    // Pad columns hold any valid token; the mask hides them.
                    tokens.push(if c < pad { p[0] } else { p[c - pad] });
                }
            }
            let last = col + s == longest;
            out = self.forward(st, &tokens, s, last)?;
            col += s;
        }
        Ok(out)
    }

    /// Writes the reused positions into the (empty, left-padded) caches of `st`: row `r`'s
    /// first `n[r]` positions at its columns `pads[r]..`.
    fn copy_in(&self, st: &mut State, reuse: &[Reuse<'_>], n: &[usize]) -> candle_core::Result<()> {
        let c = &self.cfg;
        let zeros = |cols: usize| {
            Tensor::zeros((1, c.kv_heads, cols, c.head_dim), DType::F32, &self.device)
        };
        for l in 0..c.layers {
            for (side, cache) in [(0, &mut st.k[l]), (1, &mut st.v[l])] {
                let mut rows = Vec::with_capacity(reuse.len());
                for (r, src) in reuse.iter().enumerate() {
                    let pad = st.pads[r];
                    let mut parts = Vec::with_capacity(3);
                    if pad > 0 {
                        parts.push(zeros(pad)?);
                    }
                    if let (Some((k, v, _)), true) = (src, n[r] > 0) {
                        let t = if side == 0 { &k[l] } else { &v[l] };
                        parts.push(t.narrow(2, 0, n[r])?);
                    }
                    let used = pad + n[r];
                    if used < st.cap {
                        parts.push(zeros(st.cap - used)?);
                    }
                    rows.push(Tensor::cat(&parts, 2)?);
                }
                *cache = Tensor::cat(&rows, 0)?;
            }
        }
        Ok(())
    }

    /// One decode step: `tokens[r]` appended to row `r`; returns each row's logits.
    pub fn step(&self, st: &mut State, tokens: &[u32]) -> candle_core::Result<Vec<Vec<f32>>> {
        self.forward(st, tokens, 1, true)
    }
}

impl State {
    /// Keeps only `rows` (in that order), dropping the others' caches.
    pub fn keep(&mut self, rows: &[usize]) -> candle_core::Result<()> {
        if rows.iter().any(|&r| r >= self.pads.len()) {
            candle_core::bail!("row out of range");
        }
        let Some(first) = self.k.first() else {
            self.pads = rows.iter().map(|&r| self.pads[r]).collect();
            return Ok(());
        };
        let idx = Tensor::from_vec(
            rows.iter().map(|&r| r as u32).collect::<Vec<u32>>(),
            rows.len(),
            first.device(),
        )?;
        for t in self.k.iter_mut().chain(self.v.iter_mut()) {
            *t = t.index_select(&idx, 0)?;
        }
        self.pads = rows.iter().map(|&r| self.pads[r]).collect();
        Ok(())
    }

    /// Sequences (rows) in the batch.
    pub fn rows(&self) -> usize {
        self.pads.len()
    }

    /// Row `r`'s positions (its columns after the pads), copied: `[1, kv head, n, head dim]`
    /// per layer, keys then values.
    fn row(&self, r: usize) -> candle_core::Result<(Vec<Tensor>, Vec<Tensor>)> {
        let pad = self.pads[r];
        let n = self.len.saturating_sub(pad);
        let take = |t: &Tensor| t.narrow(0, r, 1)?.narrow(2, pad, n)?.contiguous();
        Ok((
            self.k
                .iter()
                .map(take)
                .collect::<candle_core::Result<_>>()?,
            self.v
                .iter()
                .map(take)
                .collect::<candle_core::Result<_>>()?,
        ))
    }
}

impl CausalLm for Batched {
    fn forward(&mut self, tokens: &[u32], pos: usize) -> candle_core::Result<Vec<f32>> {
        if tokens.is_empty() {
            candle_core::bail!("no tokens");
        }
        let mut st = match self.single.take() {
            Some(st) if pos > 0 => st,
            _ => self.state(1, tokens.len().max(64))?,
        };
        if pos > st.len {
            candle_core::bail!("position {pos} is past the {} positions run so far", st.len);
        }
        st.len = pos;
        let chunk = self.prefill_rows();
        let mut out = Vec::new();
        for part in tokens.chunks(chunk) {
            out = Batched::forward(self, &mut st, part, part.len(), true)?;
        }
        self.single = Some(st);
        out.pop()
            .ok_or_else(|| candle_core::Error::Msg("no logits".into()))
    }

    fn reset(&mut self) {
        self.single = None;
    }

    fn batched(&mut self) -> Option<&mut Batched> {
        Some(self)
    }
}
