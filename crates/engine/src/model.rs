//! The shape of a llama-family decoder and its weights.

use crate::matmul::QMatrix;

/// How rotary embeddings pair the dimensions of a head.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rope {
    /// Adjacent pairs `(2i, 2i+1)`: llama weights as GGUF stores them (llama.cpp's "norm").
    Interleaved,
    /// Halves `(i, i + d/2)`: Qwen in GGUF, and Hugging Face weights (llama.cpp's "neox").
    Halves,
}

/// Hyper-parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// Decoder layers.
    pub layers: usize,
    /// Width of the residual stream.
    pub embd: usize,
    /// Query heads.
    pub heads: usize,
    /// Key/value heads (grouped-query attention when fewer than `heads`).
    pub kv_heads: usize,
    /// Width of one head.
    pub head_dim: usize,
    /// Dimensions of a head that rotate (≤ `head_dim`, even).
    pub rope_dims: usize,
    /// Width of the feed-forward layer.
    pub ff: usize,
    /// Vocabulary size.
    pub vocab: usize,
    /// Rotary base frequency.
    pub rope_base: f64,
    /// RMSNorm epsilon.
    pub rms_eps: f32,
    /// Rotary pairing.
    pub rope: Rope,
    /// Positions a sequence may hold.
    pub context_length: usize,
}

impl Config {
    /// Floats of keys (or values) per position.
    pub fn kv_dim(&self) -> usize {
        self.kv_heads * self.head_dim
    }

    /// Floats of queries per position.
    pub fn q_dim(&self) -> usize {
        self.heads * self.head_dim
    }

    /// Checks that the numbers fit together.
    pub fn check(&self) -> Result<(), String> {
        if self.layers == 0 || self.embd == 0 || self.heads == 0 || self.kv_heads == 0 {
            return Err("layers, width and head counts must be positive".into());
        }
        if !self.heads.is_multiple_of(self.kv_heads) {
            return Err(format!(
                "{} query heads do not share {} key/value heads evenly",
                self.heads, self.kv_heads
            ));
        }
        if !self.rope_dims.is_multiple_of(2) || self.rope_dims > self.head_dim || self.head_dim == 0
        {
            return Err(format!(
                "rotary dimensions {} do not fit heads of {}",
                self.rope_dims, self.head_dim
            ));
        }
        Ok(())
    }
}

/// One decoder layer.
#[derive(Debug, Clone)]
pub struct Layer {
    /// RMSNorm weight before attention (`embd`).
    pub attn_norm: Vec<f32>,
    /// Query projection (`q_dim × embd`).
    pub wq: QMatrix,
    /// Key projection (`kv_dim × embd`).
    pub wk: QMatrix,
    /// Value projection (`kv_dim × embd`).
    pub wv: QMatrix,
    /// Query, key, value biases (Qwen2).
    pub bias: Option<[Vec<f32>; 3]>,
    /// Per-head RMSNorm weights of queries and keys (Qwen3), `head_dim` each.
    pub qk_norm: Option<[Vec<f32>; 2]>,
    /// Output projection (`embd × q_dim`).
    pub wo: QMatrix,
    /// RMSNorm weight before the feed-forward layer.
    pub ffn_norm: Vec<f32>,
    /// Gate projection (`ff × embd`).
    pub w_gate: QMatrix,
    /// Up projection (`ff × embd`).
    pub w_up: QMatrix,
    /// Down projection (`embd × ff`).
    pub w_down: QMatrix,
}

/// All the weights.
#[derive(Debug, Clone)]
pub struct Weights {
    /// Hyper-parameters.
    pub config: Config,
    /// Token embeddings (`vocab × embd`).
    pub token_embd: QMatrix,
    /// Layers.
    pub layers: Vec<Layer>,
    /// Final RMSNorm weight.
    pub output_norm: Vec<f32>,
    /// Output projection (`vocab × embd`); `None` ties it to the token embeddings.
    pub output: Option<QMatrix>,
}

impl Weights {
    /// Checks every shape against the configuration.
    pub fn check(&self) -> Result<(), String> {
        let c = &self.config;
        c.check()?;
        let shape = |name: &str, m: &QMatrix, rows: usize, cols: usize| {
            if m.rows() != rows || m.cols() != cols {
                Err(format!(
                    "{name} is {}×{}, expected {rows}×{cols}",
                    m.rows(),
                    m.cols()
                ))
            } else {
                Ok(())
            }
        };
        let len = |name: &str, v: &[f32], n: usize| {
            if v.len() != n {
                Err(format!("{name} has {} values, expected {n}", v.len()))
            } else {
                Ok(())
            }
        };
        shape("token_embd", &self.token_embd, c.vocab, c.embd)?;
        if let Some(o) = &self.output {
            shape("output", o, c.vocab, c.embd)?;
        }
        len("output_norm", &self.output_norm, c.embd)?;
        if self.layers.len() != c.layers {
            return Err(format!(
                "{} layers, expected {}",
                self.layers.len(),
                c.layers
            ));
        }
        for (i, l) in self.layers.iter().enumerate() {
            let n = |s: &str| format!("blk.{i}.{s}");
            shape(&n("attn_q"), &l.wq, c.q_dim(), c.embd)?;
            shape(&n("attn_k"), &l.wk, c.kv_dim(), c.embd)?;
            shape(&n("attn_v"), &l.wv, c.kv_dim(), c.embd)?;
            shape(&n("attn_output"), &l.wo, c.embd, c.q_dim())?;
            shape(&n("ffn_gate"), &l.w_gate, c.ff, c.embd)?;
            shape(&n("ffn_up"), &l.w_up, c.ff, c.embd)?;
            shape(&n("ffn_down"), &l.w_down, c.embd, c.ff)?;
            len(&n("attn_norm"), &l.attn_norm, c.embd)?;
            len(&n("ffn_norm"), &l.ffn_norm, c.embd)?;
            if let Some([bq, bk, bv]) = &l.bias {
                len(&n("attn_q.bias"), bq, c.q_dim())?;
                len(&n("attn_k.bias"), bk, c.kv_dim())?;
                len(&n("attn_v.bias"), bv, c.kv_dim())?;
            }
            if let Some([qn, kn]) = &l.qk_norm {
                len(&n("attn_q_norm"), qn, c.head_dim)?;
                len(&n("attn_k_norm"), kn, c.head_dim)?;
            }
        }
        Ok(())
    }

    /// Rearranges every matrix for the kernels of `isa` ([`QMatrix::prepare`]).
    pub fn prepare(&mut self, isa: crate::kernels::Isa) {
        self.token_embd.prepare(isa);
        if let Some(o) = &mut self.output {
            o.prepare(isa);
        }
        for l in &mut self.layers {
            for m in [
                &mut l.wq,
                &mut l.wk,
                &mut l.wv,
                &mut l.wo,
                &mut l.w_gate,
                &mut l.w_up,
                &mut l.w_down,
            ] {
                m.prepare(isa);
            }
        }
    }

    /// Bytes of weights held.
    pub fn bytes(&self) -> usize {
        let mut b = self.token_embd.bytes() + self.output.as_ref().map_or(0, |o| o.bytes());
        for l in &self.layers {
            b += [&l.wq, &l.wk, &l.wv, &l.wo, &l.w_gate, &l.w_up, &l.w_down]
                .iter()
                .map(|m| m.bytes())
                .sum::<usize>();
        }
        b
    }
}
