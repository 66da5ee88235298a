//! Quantized GGUF models: the architecture is read from `general.architecture`. llama, mistral,
//! Qwen2 and Qwen3 run on popbench's engine (CPU) or batched candle model (other devices, see
//! [`Runner`]); other families, and files those two do not support, on candle-transformers'
//! quantized model for the family.

use super::{
    digest_file, input, last_logits, CandleBackend, CausalLm, ChatTokenizer, DeviceKind, Parts,
    Runner,
};
use crate::backend::BackendError;
use crate::types::ModelInfo;
use candle_core::quantized::{gguf_file, GgmlDType};
use candle_core::Device;
use candle_transformers::models::{
    quantized_gemma3, quantized_llama, quantized_phi3, quantized_qwen2, quantized_qwen3,
};
use std::collections::BTreeMap;
use std::path::Path;

/// Architectures (`general.architecture`) this loader runs.
pub const ARCHITECTURES: &[&str] = &["llama", "mistral", "qwen2", "qwen3", "gemma3", "phi3"];

enum QModel {
    Llama(quantized_llama::ModelWeights),
    Qwen2(quantized_qwen2::ModelWeights),
    Qwen3(quantized_qwen3::ModelWeights),
    Gemma3(quantized_gemma3::ModelWeights),
    Phi3(quantized_phi3::ModelWeights),
}

struct Quantized {
    model: QModel,
    device: Device,
}

impl CausalLm for Quantized {
    fn forward(&mut self, tokens: &[u32], pos: usize) -> candle_core::Result<Vec<f32>> {
        let x = input(tokens, &self.device)?;
        let out = match &mut self.model {
            QModel::Llama(m) => m.forward(&x, pos)?,
            QModel::Qwen2(m) => m.forward(&x, pos)?,
            QModel::Qwen3(m) => m.forward(&x, pos)?,
            QModel::Gemma3(m) => m.forward(&x, pos)?,
            QModel::Phi3(m) => m.forward(&x, pos)?,
        };
        last_logits(out)
    }

    fn reset(&mut self) {
        match &mut self.model {
            QModel::Llama(m) => m.clear_kv_cache(),
            QModel::Qwen2(m) => m.clear_kv_cache(),
            QModel::Qwen3(m) => m.clear_kv_cache(),
            // These clear their caches when a sequence starts at position 0.
            QModel::Gemma3(_) | QModel::Phi3(_) => {}
        }
    }
}

fn md_u64(ct: &gguf_file::Content, key: &str) -> Option<u64> {
    let v = ct.metadata.get(key)?;
    v.to_u64()
        .ok()
        .or_else(|| v.to_u32().ok().map(u64::from))
        .or_else(|| v.to_i32().ok().map(|x| x as u64))
}

fn md_string(ct: &gguf_file::Content, key: &str) -> Option<String> {
    ct.metadata
        .get(key)
        .and_then(|v| v.to_string().ok())
        .cloned()
}

/// Loads a GGUF file with [`Runner::Auto`]; see [`load_with`].
pub fn load(path: &Path, device: DeviceKind) -> Result<CandleBackend, BackendError> {
    load_with(path, device, Runner::Auto)
}

/// Loads a GGUF file. The tokenizer comes from `tokenizer.json` beside the file when there is
/// one, else from the GGUF metadata; the chat template from the GGUF (or a
/// `tokenizer_config.json` beside it).
pub fn load_with(
    path: &Path,
    device: DeviceKind,
    runner: Runner,
) -> Result<CandleBackend, BackendError> {
    let load_err = |e: String| BackendError::Load(format!("{}: {e}", path.display()));
    let mut file = std::fs::File::open(path).map_err(|e| load_err(e.to_string()))?;
    let ct = gguf_file::Content::read(&mut file)
        .map_err(|e| load_err(format!("not a readable GGUF file: {e}")))?;
    let arch = md_string(&ct, "general.architecture")
        .ok_or_else(|| load_err("no general.architecture in the metadata".into()))?;
    let dir = path.parent().unwrap_or(Path::new("."));

    let (tokenizer, tokenizer_json) = match dir.join("tokenizer.json") {
        p if p.is_file() => (
            ChatTokenizer::from_tokenizer_json(&p).map_err(load_err)?,
            Some(p),
        ),
        _ => (ChatTokenizer::from_gguf(&ct).map_err(load_err)?, None),
    };
    let side_config = super::safetensors::TokenizerConfig::read(dir).ok();
    let template = match md_string(&ct, "tokenizer.chat_template") {
        Some(t) => t,
        None => side_config
            .as_ref()
            .and_then(|c| c.chat_template.clone())
            .ok_or_else(|| load_err("the GGUF has no tokenizer.chat_template and no tokenizer_config.json is beside it".into()))?,
    };

    let mut vars = BTreeMap::new();
    let tok_name = |key: &str| md_u64(&ct, key).and_then(|id| tokenizer.id_to_token(id as u32));
    let mut eos_ids = Vec::new();
    for key in [
        "tokenizer.ggml.eos_token_id",
        "tokenizer.ggml.eot_token_id",
        "tokenizer.ggml.eom_token_id",
    ] {
        if let Some(id) = md_u64(&ct, key) {
            eos_ids.push(id as u32);
        }
    }
    if let Some(b) = tok_name("tokenizer.ggml.bos_token_id") {
        vars.insert("bos_token".to_string(), b);
    }
    if let Some(e) = tok_name("tokenizer.ggml.eos_token_id") {
        vars.insert("eos_token".to_string(), e);
    }
    if let Some(c) = &side_config {
        for (k, v) in &c.tokens {
            vars.entry(k.clone()).or_insert_with(|| v.clone());
        }
    }

    let engine_ok =
        matches!(device, DeviceKind::Cpu) && runner == Runner::Auto && !super::native::disabled();
    if engine_ok && super::native::unsupported(&ct, &arch).is_none() {
        let (model, converted) =
            super::native::load(&ct, &mut file, &arch, super::cpu_threads()).map_err(load_err)?;
        let context_length = model.context_length();
        let mut info = info_for(path, &arch, device, tokenizer_json.as_deref())?;
        if !converted.is_empty() {
            info.dtype = Some(format!(
                "{} (converted: {})",
                quant_name(path),
                converted.join(", ")
            ));
        }
        info.engine = Some(model.describe());
        return CandleBackend::new(Parts {
            model: Box::new(model),
            tokenizer,
            template,
            template_vars: vars,
            eos_ids,
            context_length,
            info,
        });
    }
    if runner != Runner::Candle
        && !super::native::transformers_forced()
        && super::batched::unsupported_gguf(&ct, &arch).is_none()
    {
        let dev = device.open()?;
        let kernels = super::batched::Kernels::for_runner(&dev, runner);
        let model =
            super::batched::Batched::load_gguf(&ct, &mut file, &arch, &dev, device.name(), kernels)
                .map_err(load_err)?;
        let context_length = model.context_length();
        let mut info = info_for(path, &arch, device, tokenizer_json.as_deref())?;
        info.engine = Some(model.describe());
        return CandleBackend::new(Parts {
            model: Box::new(model),
            tokenizer,
            template,
            template_vars: vars,
            eos_ids,
            context_length,
            info,
        });
    }
    let dev = device.open()?;
    let slow = ct
        .tensor_infos
        .values()
        .any(|t| SLOW_ON_CPU.contains(&t.ggml_dtype));
    let (ct, mut file, run_as) = if slow && matches!(device, DeviceKind::Cpu) && !native_quant() {
        let (ct, cursor) =
            requantize_for_cpu(ct, &mut file).map_err(|e| load_err(e.to_string()))?;
        (ct, Source::Memory(cursor), Some("Q8_0"))
    } else {
        (ct, Source::File(file), None)
    };
    let ctx_key = |k: &str| md_u64(&ct, &format!("{arch}.{k}"));
    let declared_ctx = ctx_key("context_length").unwrap_or(4096) as usize;
    let (model, context_length) = match arch.as_str() {
        "llama" | "mistral" => {
            // candle builds rotary tables for MAX_SEQ_LEN positions whatever the file says.
            let m = quantized_llama::ModelWeights::from_gguf(ct, &mut file, &dev)
                .map_err(|e| load_err(e.to_string()))?;
            (
                QModel::Llama(m),
                declared_ctx.min(quantized_llama::MAX_SEQ_LEN),
            )
        }
        "qwen2" => (
            QModel::Qwen2(
                quantized_qwen2::ModelWeights::from_gguf(ct, &mut file, &dev)
                    .map_err(|e| load_err(e.to_string()))?,
            ),
            declared_ctx,
        ),
        "qwen3" => (
            QModel::Qwen3(
                quantized_qwen3::ModelWeights::from_gguf(ct, &mut file, &dev)
                    .map_err(|e| load_err(e.to_string()))?,
            ),
            declared_ctx,
        ),
        "gemma3" => (
            QModel::Gemma3(
                quantized_gemma3::ModelWeights::from_gguf(ct, &mut file, &dev)
                    .map_err(|e| load_err(e.to_string()))?,
            ),
            declared_ctx.min(quantized_gemma3::MAX_SEQ_LEN),
        ),
        "phi3" => (
            QModel::Phi3(
                quantized_phi3::ModelWeights::from_gguf(false, ct, &mut file, &dev)
                    .map_err(|e| load_err(e.to_string()))?,
            ),
            declared_ctx,
        ),
        other => {
            return Err(load_err(format!(
                "architecture `{other}` is not supported (supported: {})",
                ARCHITECTURES.join(", ")
            )));
        }
    };

    let mut info = info_for(path, &arch, device, tokenizer_json.as_deref())?;
    if let Some(q) = run_as {
        info.dtype = Some(format!("{} (run as {q})", quant_name(path)));
    }
    info.engine = Some("candle-transformers".into());
    CandleBackend::new(Parts {
        model: Box::new(Quantized { model, device: dev }),
        tokenizer,
        template,
        template_vars: vars,
        eos_ids,
        context_length,
        info,
    })
}

/// Provenance of a GGUF model: the file (and `tokenizer.json`) with digests.
fn info_for(
    path: &Path,
    arch: &str,
    device: DeviceKind,
    tokenizer_json: Option<&Path>,
) -> Result<ModelInfo, BackendError> {
    let mut files = vec![digest_file(path)?];
    if let Some(p) = tokenizer_json {
        files.push(digest_file(p)?);
    }
    Ok(ModelInfo {
        spec: format!("gguf:{}", path.display()),
        name: path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "model".into()),
        backend: "candle-gguf".into(),
        family: Some(arch.to_string()),
        files,
        device: device.name(),
        dtype: Some(quant_name(path)),
        ..ModelInfo::default()
    })
}

/// Set `POPBENCH_GGUF_NATIVE_QUANT=1` to run GGUF weights in their stored quantization on
/// the CPU (no requantization; slower for Q4_0/Q4_1/Q5_x files, kept for comparisons).
fn native_quant() -> bool {
    std::env::var("POPBENCH_GGUF_NATIVE_QUANT").is_ok_and(|v| v == "1")
}

/// Where the tensors are read from: the file itself, or a requantized copy in memory.
enum Source {
    File(std::fs::File),
    Memory(std::io::Cursor<Vec<u8>>),
}

impl std::io::Read for Source {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self {
            Source::File(f) => f.read(buf),
            Source::Memory(c) => c.read(buf),
        }
    }
}

impl std::io::Seek for Source {
    fn seek(&mut self, pos: std::io::SeekFrom) -> std::io::Result<u64> {
        match self {
            Source::File(f) => f.seek(pos),
            Source::Memory(c) => c.seek(pos),
        }
    }
}

/// Quantizations candle 0.11 runs with a scalar (non-SIMD) dot product on x86/ARM CPUs. Their
/// blocks are 32 wide, so they convert to Q8_0 (SIMD kernels, 8-bit: the conversion error is
/// about 1/17 of a 4-bit step) block for block.
pub(super) const SLOW_ON_CPU: &[GgmlDType] = &[GgmlDType::Q4_1, GgmlDType::Q5_0, GgmlDType::Q5_1];

/// On the CPU, rewrites the tensors stored in a quantization that candle only runs with a
/// scalar kernel (Q4_1, Q5_0, Q5_1) as Q8_0, into an in-memory GGUF image that the model loaders
/// read like the file. Measured on SmolLM2-135M Q4_1 (BENCHMARKS.md): generation about 2.5×
/// faster, prompt about 4×; teacher forcing against llama.cpp stays within the test's bound.
fn requantize_for_cpu(
    ct: gguf_file::Content,
    file: &mut std::fs::File,
) -> candle_core::Result<(gguf_file::Content, std::io::Cursor<Vec<u8>>)> {
    use candle_core::quantized::QTensor;
    let mut names: Vec<&String> = ct.tensor_infos.keys().collect();
    names.sort();
    let mut tensors: Vec<(&str, QTensor)> = Vec::with_capacity(names.len());
    for name in &names {
        let t = ct.tensor(file, name, &Device::Cpu)?;
        let t = if SLOW_ON_CPU.contains(&t.dtype()) {
            QTensor::quantize(&t.dequantize(&Device::Cpu)?, GgmlDType::Q8_0)?
        } else {
            t
        };
        tensors.push((name.as_str(), t));
    }
    let metadata: Vec<(&str, &gguf_file::Value)> =
        ct.metadata.iter().map(|(k, v)| (k.as_str(), v)).collect();
    let refs: Vec<(&str, &QTensor)> = tensors.iter().map(|(n, t)| (*n, t)).collect();
    let mut cursor = std::io::Cursor::new(Vec::new());
    gguf_file::write(&mut cursor, &metadata, &refs)?;
    drop(refs);
    drop(tensors);
    cursor.set_position(0);
    let image = gguf_file::Content::read(&mut cursor)?;
    Ok((image, cursor))
}

/// A quantization label from `general.file_type` would need another read; the file name
/// carries it by convention (`…Q4_1.gguf`).
fn quant_name(path: &Path) -> String {
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    stem.rsplit(['.', '-'])
        .next()
        .filter(|q| q.to_ascii_uppercase().starts_with(['Q', 'F', 'B', 'I']))
        .map(|q| q.to_ascii_uppercase())
        .unwrap_or_else(|| "gguf".into())
}
