//! popbench's own candle forward pass for the llama family (llama, mistral, Qwen2, Qwen3), from
//! GGUF (weights as stored, through candle's `QMatMul`) or safetensors (f32, f16 or bf16), with
//! batched generation on any candle device (CPU, CUDA, Metal): only candle tensor ops are used.
//!
//! A batch is a [`State`]: one KV cache per sequence, held as the rows of one tensor per layer
//! (`[sequence, kv head, column, head dim]`). Prompts of different lengths are *left*-padded to
//! a common length, so every sequence's next token lands in the same column; each row carries its
//! own rotary positions (pad columns do not count) and an attention mask that hides its pad
//! columns. Prompts are prefilled together in chunks; decoding then runs one column per step for
//! every live sequence, and the rows of finished sequences are dropped from the caches.
//!
//! candle-transformers' models take one sequence (no masks, no per-row positions), hence this
//! module. Weights are read with the same interpretation of the files as popbench's CPU engine
//! ([`super::native::gguf_config`], [`super::native::safetensors_config`]).

use super::native::{self, hf_name};
use super::{CandleBackend, CausalLm};
use candle_core::quantized::{gguf_file, GgmlDType, QMatMul, QTensor};
use candle_core::{DType, Device, Module, Tensor};
use popbench_engine::{Config, Rope};
use std::time::Instant;

/// A weight matrix: a GGUF tensor as stored (quantized or dequantized by candle), or a dense
/// safetensors matrix in the model's dtype.
enum Linear {
    Quant(QMatMul),
    Dense(Tensor),
}

impl Linear {
    /// `x` (`[rows, in]`, f32) times the transposed weight: `[rows, out]`, f32.
    fn forward(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        match self {
            Linear::Quant(q) => q.forward(x)?.to_dtype(DType::F32),
            Linear::Dense(w) => x.to_dtype(w.dtype())?.matmul(&w.t()?)?.to_dtype(DType::F32),
        }
    }
}

struct Layer {
    attn_norm: Tensor,
    wq: Linear,
    wk: Linear,
    wv: Linear,
    /// q, k, v biases (Qwen2).
    bias: Option<[Tensor; 3]>,
    /// Per-head q and k norms (Qwen3).
    qk_norm: Option<[Tensor; 2]>,
    wo: Linear,
    ffn_norm: Tensor,
    w_gate: Linear,
    w_up: Linear,
    w_down: Linear,
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
    output: Linear,
    /// Rotary tables, `[context, head_dim / 2]`, f32.
    cos: Tensor,
    sin: Tensor,
    /// The sequence that [`CausalLm::forward`] extends.
    single: Option<State>,
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

/// Rows (sequence × column) per prefill pass on the CPU; GPUs take more.
const PREFILL_ROWS_CPU: usize = 512;
const PREFILL_ROWS_GPU: usize = 4096;

/// Why this model cannot run a GGUF file (None: it can).
pub fn unsupported_gguf(ct: &gguf_file::Content, arch: &str) -> Option<String> {
    if let Some(why) = native::unsupported(ct, arch) {
        return Some(why);
    }
    match native::gguf_config(ct, arch) {
        Ok(c) if c.rope_dims != c.head_dim => Some("partial rotary dimensions".into()),
        Ok(_) => None,
        Err(e) => Some(e),
    }
}

/// Why this model cannot run a safetensors config (None: it can).
pub fn unsupported_config(config: &serde_json::Value) -> Option<String> {
    native::unsupported_config(config)
}

fn err(e: impl std::fmt::Display) -> String {
    e.to_string()
}

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

/// Reads weights by their GGUF names.
trait Weights {
    fn has(&self, name: &str) -> bool;
    fn matrix(&mut self, name: &str) -> Result<Linear, String>;
    /// A vector as f32 on the device.
    fn vector(&mut self, name: &str, len: usize) -> Result<Tensor, String>;
}

struct GgufWeights<'a> {
    ct: &'a gguf_file::Content,
    file: &'a mut std::fs::File,
    device: &'a Device,
    /// Formats converted to Q8_0 at load.
    converted: std::collections::BTreeSet<String>,
}

impl GgufWeights<'_> {
    fn qtensor(&mut self, name: &str) -> Result<QTensor, String> {
        self.ct
            .tensor(self.file, name, self.device)
            .map_err(|e| format!("tensor `{name}`: {e}"))
    }
}

impl GgufWeights<'_> {
    /// On the CPU, Q4_1 / Q5_0 / Q5_1 matrices become Q8_0, as candle-transformers' loader
    /// does (see `gguf`): candle has no SIMD kernel for them.
    fn for_device(&mut self, name: &str, q: QTensor) -> Result<QTensor, String> {
        if !(self.device.is_cpu() && super::gguf::SLOW_ON_CPU.contains(&q.dtype())) {
            return Ok(q);
        }
        self.converted.insert(format!("{:?}", q.dtype()));
        q.dequantize(self.device)
            .and_then(|t| QTensor::quantize(&t, GgmlDType::Q8_0))
            .map_err(|e| format!("tensor `{name}`: {e}"))
    }
}

impl Weights for GgufWeights<'_> {
    fn has(&self, name: &str) -> bool {
        self.ct.tensor_infos.contains_key(name)
    }

    fn matrix(&mut self, name: &str) -> Result<Linear, String> {
        let q = self.qtensor(name)?;
        let q = self.for_device(name, q)?;
        if q.shape().dims().len() != 2 {
            return Err(format!(
                "tensor `{name}` has shape {:?}, expected a matrix",
                q.shape().dims()
            ));
        }
        QMatMul::from_qtensor(q)
            .map(Linear::Quant)
            .map_err(|e| format!("tensor `{name}`: {e}"))
    }

    fn vector(&mut self, name: &str, len: usize) -> Result<Tensor, String> {
        let t = self
            .qtensor(name)?
            .dequantize(self.device)
            .and_then(|t| t.flatten_all())
            .map_err(|e| format!("tensor `{name}`: {e}"))?;
        if t.elem_count() != len {
            return Err(format!(
                "tensor `{name}` has {} values, expected {len}",
                t.elem_count()
            ));
        }
        Ok(t)
    }
}

struct SafetensorsWeights<'a> {
    st: candle_core::safetensors::MmapedSafetensors,
    device: &'a Device,
    dtype: DType,
}

impl SafetensorsWeights<'_> {
    fn load(&self, name: &str, dtype: DType) -> Result<Tensor, String> {
        let hf = hf_name(name);
        self.st
            .load(&hf, self.device)
            .and_then(|t| t.to_dtype(dtype))
            .map_err(|e| format!("tensor `{hf}`: {e}"))
    }
}

impl Weights for SafetensorsWeights<'_> {
    fn has(&self, name: &str) -> bool {
        self.st.get(&hf_name(name)).is_ok()
    }

    fn matrix(&mut self, name: &str) -> Result<Linear, String> {
        let t = self.load(name, self.dtype)?;
        t.dims2()
            .map_err(|e| format!("tensor `{}`: {e}", hf_name(name)))?;
        Ok(Linear::Dense(t))
    }

    fn vector(&mut self, name: &str, len: usize) -> Result<Tensor, String> {
        let t = self
            .load(name, DType::F32)?
            .flatten_all()
            .map_err(|e| format!("tensor `{}`: {e}", hf_name(name)))?;
        if t.elem_count() != len {
            return Err(format!(
                "tensor `{}` has {} values, expected {len}",
                hf_name(name),
                t.elem_count()
            ));
        }
        Ok(t)
    }
}

fn layers(src: &mut dyn Weights, cfg: &Config) -> Result<Vec<Layer>, String> {
    let mut out = Vec::with_capacity(cfg.layers);
    for i in 0..cfg.layers {
        let n = |s: &str| format!("blk.{i}.{s}");
        let bias = if src.has(&n("attn_q.bias")) {
            Some([
                src.vector(&n("attn_q.bias"), cfg.q_dim())?,
                src.vector(&n("attn_k.bias"), cfg.kv_dim())?,
                src.vector(&n("attn_v.bias"), cfg.kv_dim())?,
            ])
        } else {
            None
        };
        let qk_norm = if src.has(&n("attn_q_norm.weight")) {
            Some([
                src.vector(&n("attn_q_norm.weight"), cfg.head_dim)?,
                src.vector(&n("attn_k_norm.weight"), cfg.head_dim)?,
            ])
        } else {
            None
        };
        out.push(Layer {
            attn_norm: src.vector(&n("attn_norm.weight"), cfg.embd)?,
            wq: src.matrix(&n("attn_q.weight"))?,
            wk: src.matrix(&n("attn_k.weight"))?,
            wv: src.matrix(&n("attn_v.weight"))?,
            bias,
            qk_norm,
            wo: src.matrix(&n("attn_output.weight"))?,
            ffn_norm: src.vector(&n("ffn_norm.weight"), cfg.embd)?,
            w_gate: src.matrix(&n("ffn_gate.weight"))?,
            w_up: src.matrix(&n("ffn_up.weight"))?,
            w_down: src.matrix(&n("ffn_down.weight"))?,
        });
    }
    Ok(out)
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
        output: Linear,
    ) -> Result<Batched, String> {
        cfg.vocab = embed.dims2().map_err(err)?.0;
        cfg.check()?;
        if !cfg.head_dim.is_multiple_of(2) || !cfg.heads.is_multiple_of(cfg.kv_heads) {
            return Err(format!(
                "unsupported attention shape: {} heads of {} over {} key/value heads",
                cfg.heads, cfg.head_dim, cfg.kv_heads
            ));
        }
        let (cos, sin) = rope_tables(&cfg, device).map_err(err)?;
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
        })
    }

    /// Loads a GGUF file (llama, mistral, qwen2, qwen3; see [`unsupported_gguf`]) onto
    /// `device`, every matrix in its stored format.
    pub fn load_gguf(
        ct: &gguf_file::Content,
        file: &mut std::fs::File,
        arch: &str,
        device: &Device,
        device_name: String,
    ) -> Result<Batched, String> {
        let cfg = native::gguf_config(ct, arch)?;
        let mut w = GgufWeights {
            ct,
            file,
            device,
            converted: Default::default(),
        };
        let embed_q = w.qtensor("token_embd.weight")?;
        let embed = embed_q
            .dequantize(device)
            .map_err(|e| format!("tensor `token_embd.weight`: {e}"))?;
        let layers = layers(&mut w, &cfg)?;
        let output_norm = w.vector("output_norm.weight", cfg.embd)?;
        let output = if w.has("output.weight") {
            w.matrix("output.weight")?
        } else {
            let q = w.for_device("token_embd.weight", embed_q)?;
            Linear::Quant(QMatMul::from_qtensor(q).map_err(err)?)
        };
        let dtype = if w.converted.is_empty() {
            "gguf".to_string()
        } else {
            let c: Vec<String> = w.converted.into_iter().collect();
            format!("gguf, {} run as Q8_0", c.join("/"))
        };
        Batched::assemble(
            cfg,
            device,
            device_name,
            dtype,
            embed,
            layers,
            output_norm,
            output,
        )
    }

    /// Loads a Hugging Face checkpoint (config.json + safetensors) onto `device` with its
    /// matrices in `dtype` (f32, f16 or bf16); norms and activations stay f32.
    pub fn load_safetensors(
        config: &serde_json::Value,
        files: &[std::path::PathBuf],
        device: &Device,
        device_name: String,
        dtype: DType,
    ) -> Result<Batched, String> {
        if !matches!(dtype, DType::F32 | DType::F16 | DType::BF16) {
            return Err(format!("dtype {dtype:?}: use f32, f16 or bf16"));
        }
        let (cfg, tied) = native::safetensors_config(config)?;
        // SAFETY: the files are memory-mapped read-only; popbench does not modify model files
        // while it reads them.
        let st =
            unsafe { candle_core::safetensors::MmapedSafetensors::multi(files) }.map_err(err)?;
        let mut w = SafetensorsWeights { st, device, dtype };
        let embed = w.load("token_embd.weight", dtype)?;
        let layers = layers(&mut w, &cfg)?;
        let output_norm = w.vector("output_norm.weight", cfg.embd)?;
        let output = if !tied && w.has("output.weight") {
            w.matrix("output.weight")?
        } else {
            Linear::Dense(embed.clone())
        };
        Batched::assemble(
            cfg,
            device,
            device_name,
            format!("{dtype:?}").to_lowercase(),
            embed,
            layers,
            output_norm,
            output,
        )
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

    /// Sequences to decode together. On the CPU 8, fewer when 8 caches of 1,024 positions
    /// would pass 2 GiB; on GPUs 32, fewer when 32 caches of 2,048 positions would pass 16 GiB
    /// (the caches are f32).
    pub fn preferred_batch(&self) -> usize {
        let per_position = self.cfg.layers * self.cfg.kv_dim() * 2 * 4;
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

    /// Runs `s` new columns of tokens (`tokens[row * s + j]`) through every row of `st`; returns
    /// the next-token logits after the last column of each row when `logits` is set.
    fn forward(
        &self,
        st: &mut State,
        tokens: &[u32],
        s: usize,
        logits: bool,
    ) -> candle_core::Result<Vec<Vec<f32>>> {
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
        let mut mask = vec![0f32; b * s * total];
        for (r, &pad) in st.pads.iter().enumerate() {
            for j in 0..s {
                let col = st.len + j;
                positions.push(col.saturating_sub(pad) as u32);
                let row = &mut mask[(r * s + j) * total..(r * s + j + 1) * total];
                for (k, m) in row.iter_mut().enumerate() {
                    // A pad column attends to itself only, so it stays finite.
                    if k != col && (k < pad || k > col) {
                        *m = f32::NEG_INFINITY;
                    }
                }
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
        let pos = Tensor::from_vec(positions, b * s, dev)?;
        let cos = self.cos.index_select(&pos, 0)?.reshape((b, s, half))?;
        let sin = self.sin.index_select(&pos, 0)?.reshape((b, s, half))?;
        let mask = Tensor::from_vec(mask, (b, 1, 1, s, total), dev)?;
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
            let mut q = layer.wq.forward(&h)?;
            let mut k = layer.wk.forward(&h)?;
            let mut v = layer.wv.forward(&h)?;
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
            let keys = st.k[l].narrow(2, 0, total)?.contiguous()?;
            let values = st.v[l].narrow(2, 0, total)?.contiguous()?;
            // Grouped-query attention: the `rep` query heads of a key/value head are stacked.
            let q = q.reshape((b, kvh, rep * s, hd))?;
            let att = q.matmul(&keys.t()?)?.affine(scale, 0.0)?;
            let att = att.reshape((b, kvh, rep, s, total))?.broadcast_add(&mask)?;
            let att = candle_nn::ops::softmax_last_dim(&att)?.reshape((b, kvh, rep * s, total))?;
            let o = att
                .matmul(&values)?
                .reshape((b, heads, s, hd))?
                .transpose(1, 2)?
                .reshape((b * s, heads * hd))?;
            x = (x + layer.wo.forward(&o)?)?;
            let h = candle_nn::ops::rms_norm(&x, &layer.ffn_norm, c.rms_eps)?;
            let g = layer.w_gate.forward(&h)?.silu()?;
            let u = layer.w_up.forward(&h)?;
            x = (x + layer.w_down.forward(&(g * u)?)?)?;
        }
        st.len = total;
        if !logits {
            return Ok(Vec::new());
        }
        let last = x
            .reshape((b, s, c.embd))?
            .narrow(1, s - 1, 1)?
            .reshape((b, c.embd))?
            .contiguous()?;
        let last = candle_nn::ops::rms_norm(&last, &self.output_norm, c.rms_eps)?;
        self.output.forward(&last)?.to_vec2::<f32>()
    }

    /// Prefills `prompts` (one per row of `st`, which must be empty), left-padded to a common
    /// length, in chunks; returns the logits after each prompt.
    pub fn prefill(
        &self,
        st: &mut State,
        prompts: &[&[u32]],
    ) -> candle_core::Result<Vec<Vec<f32>>> {
        let b = prompts.len();
        if b != st.pads.len() || st.len != 0 {
            candle_core::bail!("prefill needs an empty state with one row per prompt");
        }
        let longest = prompts.iter().map(|p| p.len()).max().unwrap_or(0);
        if longest == 0 || prompts.iter().any(|p| p.is_empty()) {
            candle_core::bail!("empty prompt");
        }
        st.pads = prompts.iter().map(|p| longest - p.len()).collect();
        let chunk = (self.prefill_rows() / b).max(1);
        let mut start = 0;
        let mut out = Vec::new();
        while start < longest {
            let s = chunk.min(longest - start);
            let mut tokens = Vec::with_capacity(b * s);
            for (p, &pad) in prompts.iter().zip(&st.pads) {
                for col in start..start + s {
                    // Pad columns hold any valid token; the mask hides them.
                    tokens.push(if col < pad { p[0] } else { p[col - pad] });
                }
            }
            let last = start + s == longest;
            out = self.forward(st, &tokens, s, last)?;
            start += s;
        }
        Ok(out)
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

/// Prefills and decodes `prompts` together into `replies` (see `batch::generate`); returns the
/// prompt time (the batch's, shared by its requests).
pub(super) fn run(
    b: &mut CandleBackend,
    prompts: &[Vec<u32>],
    replies: &mut [super::batch::Reply],
) -> Result<f64, String> {
    let stop_ids = b.stop_ids.clone();
    let model = b
        .model
        .batched()
        .ok_or("the model is not popbench's batched candle model")?;
    if prompts.is_empty() {
        return Ok(0.0);
    }
    let t0 = Instant::now();
    let longest = prompts.iter().map(Vec::len).max().unwrap_or(0);
    let most_new = replies.iter().map(|r| r.max_new).max().unwrap_or(0);
    let mut st = model
        .state(prompts.len(), longest + most_new)
        .map_err(err)?;
    let refs: Vec<&[u32]> = prompts.iter().map(Vec::as_slice).collect();
    let first = model.prefill(&mut st, &refs).map_err(err)?;
    let prompt_ms = t0.elapsed().as_secs_f64() * 1e3;
    let t1 = Instant::now();
    for (r, lg) in replies.iter_mut().zip(&first) {
        r.take(lg, &stop_ids)?;
    }
    // rows[j]: the reply that row j of the state decodes.
    let mut rows: Vec<usize> = (0..prompts.len()).collect();
    loop {
        for r in replies
            .iter_mut()
            .filter(|r| r.finish.is_some() && r.generation_ms == 0.0)
        {
            r.generation_ms = t1.elapsed().as_secs_f64() * 1e3;
        }
        let live: Vec<usize> = (0..rows.len())
            .filter(|&j| replies[rows[j]].finish.is_none())
            .collect();
        if live.is_empty() {
            break;
        }
        if live.len() < rows.len() {
            st.keep(&live).map_err(err)?;
            rows = live.iter().map(|&j| rows[j]).collect();
        }
        let tokens = rows
            .iter()
            .map(|&i| replies[i].out.last().copied())
            .collect::<Option<Vec<u32>>>()
            .ok_or("a live reply has no token")?;
        let logits = model.step(&mut st, &tokens).map_err(err)?;
        for (&i, lg) in rows.iter().zip(&logits) {
            replies[i].take(lg, &stop_ids)?;
        }
    }
    Ok(prompt_ms)
}
