//! GGUF llama-family models (llama, mistral, Qwen2, Qwen3) on popbench's own CPU engine
//! (`crates/engine`): native kernels for Q4_0, Q4_1, Q8_0, Q4_K and Q6_K weights, a preallocated KV
//! cache per sequence, batched decoding, and reuse of cached prefixes (a conversation's history,
//! a deployment context's system prompt: [`prefix`](super::prefix)).
//!
//! Weights in other formats are converted at load: F16/BF16 to f32, other K-quants and Q5 to Q8_0
//! (8-bit, block for block; [`ModelInfo::dtype`](crate::types::ModelInfo) says so). Models
//! this engine does not run (other architectures, rope scaling, GPU devices) load through
//! candle-transformers instead; `POPBENCH_ENGINE=candle` forces that for comparisons.

use super::prefix::PrefixCache;
use super::CausalLm;
use candle_core::quantized::{gguf_file, GgmlDType};
use candle_core::Device;
use popbench_engine::{
    quant, Config, Engine, Layer, QMatrix, QType, Rope, Sequence, Step, Weights,
};
use std::collections::BTreeSet;
use std::io::{Read, Seek, SeekFrom};

/// Architectures the engine runs.
pub const ARCHITECTURES: &[&str] = &["llama", "mistral", "qwen2", "qwen3"];

/// Whether `POPBENCH_ENGINE` asks for candle on the CPU: `candle` (popbench's batched candle
/// model, see `batched`) or `candle-transformers`.
pub fn disabled() -> bool {
    std::env::var("POPBENCH_ENGINE").is_ok_and(|v| v == "candle" || v == "candle-transformers")
}

/// Whether `POPBENCH_ENGINE=candle-transformers` asks for candle-transformers' models on every
/// device (one sequence at a time; for comparisons).
pub fn transformers_forced() -> bool {
    std::env::var("POPBENCH_ENGINE").is_ok_and(|v| v == "candle-transformers")
}

/// Whether `POPBENCH_KQUANTS=q8_0` asks for Q4_K and Q6_K matrices to be converted to Q8_0 at
/// load, as before the engine ran them as stored (for comparisons: `benches/vs-llamacpp`).
pub fn kquants_as_q8_0() -> bool {
    std::env::var("POPBENCH_KQUANTS").is_ok_and(|v| v.eq_ignore_ascii_case("q8_0"))
}

/// Why the engine cannot run this file (None: it can).
pub fn unsupported(ct: &gguf_file::Content, arch: &str) -> Option<String> {
    if !ARCHITECTURES.contains(&arch) {
        return Some(format!("architecture `{arch}`"));
    }
    if ct.tensor_infos.contains_key("rope_freqs.weight") {
        return Some("rotary frequency factors (rope_freqs)".into());
    }
    if let Some(t) = ct
        .metadata
        .get(&format!("{arch}.rope.scaling.type"))
        .and_then(|v| v.to_string().ok())
    {
        if t != "none" {
            return Some(format!("rope scaling `{t}`"));
        }
    }
    if ct.tensor_infos.contains_key("blk.0.attn_qkv.weight") {
        return Some("a fused QKV projection".into());
    }
    None
}

/// A model on the engine, with one sequence for single-sequence use and the prefix cache that
/// batched generation reuses.
pub struct Native {
    engine: Engine,
    seq: Sequence,
    cache: PrefixCache,
}

impl std::fmt::Debug for Native {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Native")
            .field("engine", &self.engine)
            .finish()
    }
}

impl Native {
    /// Positions a sequence may hold (from the model's metadata).
    pub fn context_length(&self) -> usize {
        self.engine.config().context_length
    }

    /// `popbench-engine (avx2, 2 threads)`, for provenance.
    pub fn describe(&self) -> String {
        format!(
            "popbench-engine ({}, {} threads)",
            self.engine.isa().name(),
            self.engine.threads()
        )
    }

    /// Sequences to decode together: 8 (the batch where the CPU products stop gaining), fewer
    /// when 8 caches of 1,024 positions would pass 2 GiB (large models).
    pub fn preferred_batch(&self) -> usize {
        let c = self.engine.config();
        let per_position = c.layers * c.kv_dim() * 2 * popbench_engine::kv::VALUE_BYTES;
        ((2usize << 30) / (per_position * 1024).max(1)).clamp(1, 8)
    }

    /// The engine.
    pub fn engine(&mut self) -> &mut Engine {
        &mut self.engine
    }

    /// One sequence per prompt of a batch, with room for `capacities[i]` positions and
    /// holding what the prefix cache had of `prompts[i]`; returns them and the positions each
    /// holds (see [`PrefixCache::start`]).
    pub fn start_batch(
        &mut self,
        prompts: &[&[u32]],
        capacities: &[usize],
    ) -> (Vec<Sequence>, Vec<usize>) {
        self.cache.start(&self.engine, prompts, capacities)
    }

    /// Hands a batch's sequences (prompt, then the reply tokens run) to the prefix cache.
    pub fn finish_batch(&mut self, prompts: &[&[u32]], replies: &[&[u32]], seqs: Vec<Sequence>) {
        self.cache.finish(prompts, replies, seqs);
    }

    /// The prefix cache.
    pub fn prefix_cache(&mut self) -> &mut PrefixCache {
        &mut self.cache
    }
}

impl CausalLm for Native {
    fn forward(&mut self, tokens: &[u32], pos: usize) -> candle_core::Result<Vec<f32>> {
        if pos > self.seq.len() {
            candle_core::bail!(
                "position {pos} is past the {} positions run so far",
                self.seq.len()
            );
        }
        self.seq.truncate(pos);
        let mut steps = [Step {
            seq: &mut self.seq,
            tokens,
            logits: true,
        }];
        let out = self
            .engine
            .forward(&mut steps)
            .map_err(|e| candle_core::Error::Msg(e.to_string()))?;
        Ok(out.into_iter().next().unwrap_or_default())
    }

    fn reset(&mut self) {
        self.seq.truncate(0);
    }

    fn native(&mut self) -> Option<&mut Native> {
        Some(self)
    }
}

/// Where a loader reads weights from, by their GGUF names.
trait Source {
    fn has(&self, name: &str) -> bool;
    fn matrix(&mut self, name: &str) -> Result<QMatrix, String>;
    fn floats(&mut self, name: &str) -> Result<Vec<f32>, String>;

    fn vector(&mut self, name: &str, len: usize) -> Result<Vec<f32>, String> {
        let v = self.floats(name)?;
        if v.len() != len {
            return Err(format!(
                "tensor `{name}` has {} values, expected {len}",
                v.len()
            ));
        }
        Ok(v)
    }
}

/// A GGUF file: native formats are read as stored, others converted.
struct GgufSource<'a> {
    ct: &'a gguf_file::Content,
    file: &'a mut std::fs::File,
    /// Formats converted at load (`Q6K as Q8_0`…).
    converted: BTreeSet<String>,
}

impl GgufSource<'_> {
    fn info(&self, name: &str) -> Result<&gguf_file::TensorInfo, String> {
        self.ct
            .tensor_infos
            .get(name)
            .ok_or_else(|| format!("tensor `{name}` is missing"))
    }

    fn raw(&mut self, name: &str) -> Result<Vec<u8>, String> {
        let info = self.info(name)?;
        let dt = info.ggml_dtype;
        let elems = info.shape.elem_count();
        if elems % dt.block_size() != 0 {
            return Err(format!(
                "tensor `{name}`: {elems} values do not fill whole blocks"
            ));
        }
        let bytes = elems / dt.block_size() * dt.type_size();
        let at = self.ct.tensor_data_offset.saturating_add(info.offset);
        let mut buf = vec![0u8; bytes];
        self.file
            .seek(SeekFrom::Start(at))
            .and_then(|_| self.file.read_exact(&mut buf))
            .map_err(|e| format!("tensor `{name}`: {e}"))?;
        Ok(buf)
    }
}

impl Source for GgufSource<'_> {
    fn has(&self, name: &str) -> bool {
        self.ct.tensor_infos.contains_key(name)
    }

    /// Any tensor as f32 values, through candle's dequantization.
    fn floats(&mut self, name: &str) -> Result<Vec<f32>, String> {
        self.ct
            .tensor(self.file, name, &Device::Cpu)
            .and_then(|q| q.dequantize(&Device::Cpu))
            .and_then(|t| t.flatten_all())
            .and_then(|t| t.to_vec1::<f32>())
            .map_err(|e| format!("tensor `{name}`: {e}"))
    }

    fn matrix(&mut self, name: &str) -> Result<QMatrix, String> {
        let info = self.info(name)?;
        let dims = info.shape.dims().to_vec();
        let dt = info.ggml_dtype;
        let [rows, cols] = dims[..] else {
            return Err(format!(
                "tensor `{name}` has shape {dims:?}, expected a matrix"
            ));
        };
        let native = match dt {
            GgmlDType::F32 => Some(QType::F32),
            GgmlDType::Q4_0 => Some(QType::Q4_0),
            GgmlDType::Q4_1 => Some(QType::Q4_1),
            GgmlDType::Q8_0 => Some(QType::Q8_0),
            GgmlDType::Q4K | GgmlDType::Q6K if kquants_as_q8_0() => None,
            GgmlDType::Q4K => Some(QType::Q4_K),
            GgmlDType::Q6K => Some(QType::Q6_K),
            _ => None,
        };
        if let Some(q) = native {
            let raw = self.raw(name)?;
            return QMatrix::from_blocks(q, rows, cols, raw).map_err(|e| format!("{name}: {e}"));
        }
        let f = self.floats(name)?;
        if matches!(dt, GgmlDType::F16 | GgmlDType::BF16) || cols % quant::QK != 0 {
            self.converted.insert(format!("{dt:?} as F32"));
            return Ok(QMatrix::from_f32(rows, cols, f));
        }
        self.converted.insert(format!("{dt:?} as Q8_0"));
        QMatrix::from_blocks(QType::Q8_0, rows, cols, quant::quantize_q8_0(&f))
            .map_err(|e| format!("{name}: {e}"))
    }
}

/// Safetensors files (Hugging Face names), every weight as f32.
struct SafetensorsSource {
    st: candle_core::safetensors::MmapedSafetensors,
}

impl SafetensorsSource {
    /// The Hugging Face name of a GGUF tensor name.
    fn hf(name: &str) -> String {
        hf_name(name)
    }
}

/// The Hugging Face (safetensors) name of a GGUF tensor name.
pub fn hf_name(name: &str) -> String {
    if let Some(rest) = name.strip_prefix("blk.") {
        let (layer, role) = rest.split_once('.').unwrap_or((rest, ""));
        let role = match role {
            "attn_norm.weight" => "input_layernorm.weight",
            "ffn_norm.weight" => "post_attention_layernorm.weight",
            "attn_q.weight" => "self_attn.q_proj.weight",
            "attn_k.weight" => "self_attn.k_proj.weight",
            "attn_v.weight" => "self_attn.v_proj.weight",
            "attn_q.bias" => "self_attn.q_proj.bias",
            "attn_k.bias" => "self_attn.k_proj.bias",
            "attn_v.bias" => "self_attn.v_proj.bias",
            "attn_q_norm.weight" => "self_attn.q_norm.weight",
            "attn_k_norm.weight" => "self_attn.k_norm.weight",
            "attn_output.weight" => "self_attn.o_proj.weight",
            "ffn_gate.weight" => "mlp.gate_proj.weight",
            "ffn_up.weight" => "mlp.up_proj.weight",
            "ffn_down.weight" => "mlp.down_proj.weight",
            other => other,
        };
        return format!("model.layers.{layer}.{role}");
    }
    match name {
        "token_embd.weight" => "model.embed_tokens.weight".into(),
        "output_norm.weight" => "model.norm.weight".into(),
        "output.weight" => "lm_head.weight".into(),
        other => other.into(),
    }
}

impl SafetensorsSource {
    fn load(&self, name: &str) -> Result<candle_core::Tensor, String> {
        let hf = Self::hf(name);
        self.st
            .load(&hf, &Device::Cpu)
            .and_then(|t| t.to_dtype(candle_core::DType::F32))
            .map_err(|e| format!("tensor `{hf}`: {e}"))
    }
}

impl Source for SafetensorsSource {
    fn has(&self, name: &str) -> bool {
        self.st.get(&Self::hf(name)).is_ok()
    }

    fn floats(&mut self, name: &str) -> Result<Vec<f32>, String> {
        self.load(name)?
            .flatten_all()
            .and_then(|t| t.to_vec1::<f32>())
            .map_err(|e| format!("tensor `{}`: {e}", Self::hf(name)))
    }

    fn matrix(&mut self, name: &str) -> Result<QMatrix, String> {
        let t = self.load(name)?;
        let (rows, cols) = t
            .dims2()
            .map_err(|e| format!("tensor `{}`: {e}", Self::hf(name)))?;
        let v = t
            .flatten_all()
            .and_then(|t| t.to_vec1::<f32>())
            .map_err(|e| format!("tensor `{}`: {e}", Self::hf(name)))?;
        Ok(QMatrix::from_f32(rows, cols, v))
    }
}

/// Reads every weight of `config`'s shape; `tied` ignores an output matrix (it is the
/// embeddings).
fn build(src: &mut dyn Source, config: Config, tied: bool) -> Result<Weights, String> {
    config.check()?;
    let token_embd = src.matrix("token_embd.weight")?;
    let mut layers = Vec::with_capacity(config.layers);
    for i in 0..config.layers {
        let n = |s: &str| format!("blk.{i}.{s}");
        let bias = if src.has(&n("attn_q.bias")) {
            Some([
                src.vector(&n("attn_q.bias"), config.q_dim())?,
                src.vector(&n("attn_k.bias"), config.kv_dim())?,
                src.vector(&n("attn_v.bias"), config.kv_dim())?,
            ])
        } else {
            None
        };
        let qk_norm = if src.has(&n("attn_q_norm.weight")) {
            Some([
                src.vector(&n("attn_q_norm.weight"), config.head_dim)?,
                src.vector(&n("attn_k_norm.weight"), config.head_dim)?,
            ])
        } else {
            None
        };
        layers.push(Layer {
            attn_norm: src.vector(&n("attn_norm.weight"), config.embd)?,
            wq: src.matrix(&n("attn_q.weight"))?,
            wk: src.matrix(&n("attn_k.weight"))?,
            wv: src.matrix(&n("attn_v.weight"))?,
            bias,
            qk_norm,
            wo: src.matrix(&n("attn_output.weight"))?,
            ffn_norm: src.vector(&n("ffn_norm.weight"), config.embd)?,
            w_gate: src.matrix(&n("ffn_gate.weight"))?,
            w_up: src.matrix(&n("ffn_up.weight"))?,
            w_down: src.matrix(&n("ffn_down.weight"))?,
        });
    }
    let output_norm = src.vector("output_norm.weight", config.embd)?;
    let output = if !tied && src.has("output.weight") {
        Some(src.matrix("output.weight")?)
    } else {
        None
    };
    Ok(Weights {
        config: Config {
            vocab: token_embd.rows(),
            ..config
        },
        token_embd,
        layers,
        output_norm,
        output,
    })
}

fn native(weights: Weights, threads: usize) -> Result<Native, String> {
    let engine = Engine::new(weights, threads)?;
    let seq = engine.sequence(0);
    Ok(Native {
        engine,
        seq,
        cache: PrefixCache::default(),
    })
}

fn md_usize(ct: &gguf_file::Content, key: &str) -> Option<usize> {
    let v = ct.metadata.get(key)?;
    v.to_u64()
        .ok()
        .or_else(|| v.to_u32().ok().map(u64::from))
        .or_else(|| v.to_i32().ok().map(|x| x as u64))
        .map(|x| x as usize)
}

fn md_f64(ct: &gguf_file::Content, key: &str) -> Option<f64> {
    let v = ct.metadata.get(key)?;
    v.to_f32().ok().map(f64::from).or_else(|| v.to_f64().ok())
}

/// The engine's hyper-parameters from a supported GGUF's metadata (`vocab` is filled in when
/// the embeddings are read). Shared with the batched candle model (`batched`).
pub fn gguf_config(ct: &gguf_file::Content, arch: &str) -> Result<Config, String> {
    let key = |k: &str| format!("{arch}.{k}");
    let need =
        |k: &str| md_usize(ct, &key(k)).ok_or_else(|| format!("metadata `{}` is missing", key(k)));
    let embd = need("embedding_length")?;
    let heads = need("attention.head_count")?;
    if heads == 0 {
        return Err("attention.head_count is 0".into());
    }
    let head_dim = md_usize(ct, &key("attention.key_length")).unwrap_or(embd / heads);
    Ok(Config {
        layers: need("block_count")?,
        embd,
        heads,
        kv_heads: md_usize(ct, &key("attention.head_count_kv")).unwrap_or(heads),
        head_dim,
        rope_dims: md_usize(ct, &key("rope.dimension_count")).unwrap_or(head_dim),
        ff: need("feed_forward_length")?,
        vocab: 0,
        rope_base: md_f64(ct, &key("rope.freq_base")).unwrap_or(10_000.0),
        rms_eps: md_f64(ct, &key("attention.layer_norm_rms_epsilon")).unwrap_or(1e-5) as f32,
        // llama weights are stored permuted for adjacent-pair rotation; Qwen's are not.
        rope: if arch.starts_with("qwen") {
            Rope::Halves
        } else {
            Rope::Interleaved
        },
        context_length: md_usize(ct, &key("context_length")).unwrap_or(4096),
    })
}

/// One GGUF matrix as popbench's engine holds it: Q4_0 / Q4_1 / Q8_0 / Q4_K / Q6_K / F32 as stored, other
/// formats converted as [`load`] converts them (the conversions are added to `converted`).
pub(super) fn gguf_matrix(
    ct: &gguf_file::Content,
    file: &mut std::fs::File,
    name: &str,
    converted: &mut BTreeSet<String>,
) -> Result<QMatrix, String> {
    let mut src = GgufSource {
        ct,
        file,
        converted: std::mem::take(converted),
    };
    let m = src.matrix(name);
    *converted = src.converted;
    m
}

/// Loads the weights of a supported GGUF onto the engine with `threads` threads. Returns the
/// model and the formats that were converted at load (empty when all ran natively).
pub fn load(
    ct: &gguf_file::Content,
    file: &mut std::fs::File,
    arch: &str,
    threads: usize,
) -> Result<(Native, Vec<String>), String> {
    let config = gguf_config(ct, arch)?;
    let mut src = GgufSource {
        ct,
        file,
        converted: BTreeSet::new(),
    };
    let weights = build(&mut src, config, false)?;
    let converted = src.converted.into_iter().collect();
    Ok((native(weights, threads)?, converted))
}

/// Why the engine cannot run this safetensors config (None: it can).
pub fn unsupported_config(config: &serde_json::Value) -> Option<String> {
    let model_type = config
        .get("model_type")
        .and_then(|v| v.as_str())
        .unwrap_or("");
    if !ARCHITECTURES.contains(&model_type) {
        return Some(format!("model_type `{model_type}`"));
    }
    match config.get("rope_scaling") {
        None | Some(serde_json::Value::Null) => None,
        Some(_) => Some("rope scaling".into()),
    }
}

/// The engine's hyper-parameters from a Hugging Face config.json, and whether the output
/// matrix is tied to the embeddings. Shared with the batched candle model (`batched`).
pub fn safetensors_config(config: &serde_json::Value) -> Result<(Config, bool), String> {
    let get = |k: &str| config.get(k).and_then(|v| v.as_u64()).map(|v| v as usize);
    let need = |k: &str| get(k).ok_or_else(|| format!("config.json has no `{k}`"));
    let embd = need("hidden_size")?;
    let heads = need("num_attention_heads")?;
    if heads == 0 {
        return Err("num_attention_heads is 0".into());
    }
    let head_dim = get("head_dim").unwrap_or(embd / heads);
    let f = |k: &str, d: f64| config.get(k).and_then(|v| v.as_f64()).unwrap_or(d);
    let cfg = Config {
        layers: need("num_hidden_layers")?,
        embd,
        heads,
        kv_heads: get("num_key_value_heads").unwrap_or(heads),
        head_dim,
        rope_dims: head_dim,
        ff: need("intermediate_size")?,
        vocab: 0,
        rope_base: f("rope_theta", 10_000.0),
        rms_eps: f("rms_norm_eps", 1e-6) as f32,
        rope: Rope::Halves,
        context_length: get("max_position_embeddings").unwrap_or(4096),
    };
    let tied = config
        .get("tie_word_embeddings")
        .and_then(|v| v.as_bool())
        .unwrap_or(false);
    Ok((cfg, tied))
}

/// Loads a Hugging Face llama/mistral/Qwen2/Qwen3 checkpoint (config.json + safetensors) onto
/// the engine, every weight as f32.
pub fn load_safetensors(
    config: &serde_json::Value,
    files: &[std::path::PathBuf],
    threads: usize,
) -> Result<Native, String> {
    let (cfg, tied) = safetensors_config(config)?;
    // SAFETY: the files are memory-mapped read-only and copied out at load; popbench does not
    // modify model files while it reads them.
    let st = unsafe { candle_core::safetensors::MmapedSafetensors::multi(files) }
        .map_err(|e| e.to_string())?;
    let weights = build(&mut SafetensorsSource { st }, cfg, tied)?;
    native(weights, threads)
}
