//! Safetensors models: a folder with config.json, tokenizer.json, tokenizer_config.json (chat
//! template and special tokens), generation_config.json (optional) and one or more
//! `*.safetensors` files (sharded through `model.safetensors.index.json`).

use super::{
    digest_file, input, last_logits, CandleBackend, CausalLm, ChatTokenizer, DeviceKind, Parts,
    Runner,
};
use crate::backend::BackendError;
use crate::types::ModelInfo;
use candle_core::{DType, Device};
use candle_nn::VarBuilder;
use candle_transformers::models::{gemma3, llama, phi3, qwen2, qwen3};
use serde_json::Value as J;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Architectures (config.json `model_type`) this loader runs.
pub const ARCHITECTURES: &[&str] = &["llama", "mistral", "qwen2", "qwen3", "gemma3_text", "phi3"];

/// What tokenizer_config.json (and chat_template.jinja) say about chat formatting.
#[derive(Debug, Clone, Default)]
pub struct TokenizerConfig {
    /// The chat template (the `default` one when several are named).
    pub chat_template: Option<String>,
    /// Named special tokens (`bos_token`, `eos_token`, `pad_token`, `unk_token`).
    pub tokens: BTreeMap<String, String>,
}

impl TokenizerConfig {
    /// Reads `tokenizer_config.json` (and `chat_template.jinja` when present) from a folder.
    pub fn read(dir: &Path) -> Result<TokenizerConfig, String> {
        let p = dir.join("tokenizer_config.json");
        let text = std::fs::read_to_string(&p).map_err(|e| format!("{}: {e}", p.display()))?;
        let v: J = serde_json::from_str(&text).map_err(|e| format!("{}: {e}", p.display()))?;
        let mut out = TokenizerConfig {
            chat_template: None,
            tokens: BTreeMap::new(),
        };
        out.chat_template = match v.get("chat_template") {
            Some(J::String(s)) => Some(s.clone()),
            Some(J::Array(list)) => {
                let named = |n: &str| {
                    list.iter()
                        .find(|t| t.get("name").and_then(J::as_str) == Some(n))
                        .and_then(|t| t.get("template"))
                        .and_then(J::as_str)
                };
                named("default")
                    .or_else(|| {
                        list.first()
                            .and_then(|t| t.get("template"))
                            .and_then(J::as_str)
                    })
                    .map(str::to_string)
            }
            _ => None,
        };
        let jinja = dir.join("chat_template.jinja");
        if out.chat_template.is_none() && jinja.is_file() {
            out.chat_template = Some(
                std::fs::read_to_string(&jinja).map_err(|e| format!("{}: {e}", jinja.display()))?,
            );
        }
        for key in ["bos_token", "eos_token", "pad_token", "unk_token"] {
            let s = match v.get(key) {
                Some(J::String(s)) => Some(s.clone()),
                Some(J::Object(o)) => o.get("content").and_then(J::as_str).map(str::to_string),
                _ => None,
            };
            if let Some(s) = s {
                out.tokens.insert(key.to_string(), s);
            }
        }
        Ok(out)
    }
}

enum Net {
    Llama {
        model: Box<llama::Llama>,
        cache: llama::Cache,
        cfg: llama::Config,
        dtype: DType,
    },
    Qwen2(qwen2::ModelForCausalLM),
    Qwen3(qwen3::ModelForCausalLM),
    Gemma3(gemma3::Model),
    Phi3(phi3::Model),
}

struct Dense {
    net: Net,
    device: Device,
}

impl CausalLm for Dense {
    fn forward(&mut self, tokens: &[u32], pos: usize) -> candle_core::Result<Vec<f32>> {
        if pos == 0 {
            self.reset();
        }
        let x = input(tokens, &self.device)?;
        let out = match &mut self.net {
            Net::Llama { model, cache, .. } => model.forward(&x, pos, cache)?,
            Net::Qwen2(m) => m.forward(&x, pos)?,
            Net::Qwen3(m) => m.forward(&x, pos)?,
            Net::Gemma3(m) => m.forward(&x, pos)?,
            Net::Phi3(m) => m.forward(&x, pos)?,
        };
        last_logits(out)
    }

    fn reset(&mut self) {
        match &mut self.net {
            Net::Llama {
                cache, cfg, dtype, ..
            } => {
                if let Ok(c) = llama::Cache::new(true, *dtype, cfg, &self.device) {
                    *cache = c;
                }
            }
            Net::Qwen2(m) => m.clear_kv_cache(),
            Net::Qwen3(m) => m.clear_kv_cache(),
            Net::Gemma3(m) => m.clear_kv_cache(),
            Net::Phi3(m) => m.clear_kv_cache(),
        }
    }
}

fn read_json(path: &Path) -> Result<J, BackendError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| BackendError::Load(format!("{}: {e}", path.display())))?;
    serde_json::from_str(&text).map_err(|e| BackendError::Load(format!("{}: {e}", path.display())))
}

/// The weight files of a folder: the shards named by `model.safetensors.index.json`, else
/// `model.safetensors`, else every `*.safetensors`.
pub fn weight_files(dir: &Path) -> Result<Vec<PathBuf>, BackendError> {
    let index = dir.join("model.safetensors.index.json");
    if index.is_file() {
        let v = read_json(&index)?;
        let map = v
            .get("weight_map")
            .and_then(J::as_object)
            .ok_or_else(|| BackendError::Load(format!("{}: no weight_map", index.display())))?;
        let mut files: Vec<String> = map
            .values()
            .filter_map(J::as_str)
            .map(str::to_string)
            .collect();
        files.sort();
        files.dedup();
        return Ok(files.into_iter().map(|f| dir.join(f)).collect());
    }
    let single = dir.join("model.safetensors");
    if single.is_file() {
        return Ok(vec![single]);
    }
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| BackendError::Load(format!("{}: {e}", dir.display())))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "safetensors"))
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(BackendError::Load(format!(
            "{}: no *.safetensors files",
            dir.display()
        )));
    }
    Ok(files)
}

fn ids_of(v: Option<&J>) -> Vec<u32> {
    match v {
        Some(J::Number(n)) => n.as_u64().map(|x| vec![x as u32]).unwrap_or_default(),
        Some(J::Array(a)) => a.iter().filter_map(J::as_u64).map(|x| x as u32).collect(),
        _ => Vec::new(),
    }
}

/// Loads a safetensors model folder with [`Runner::Auto`]; see [`load_with`].
pub fn load(
    dir: &Path,
    device: DeviceKind,
    dtype: Option<DType>,
) -> Result<CandleBackend, BackendError> {
    load_with(dir, device, dtype, Runner::Auto)
}

/// Loads a safetensors model folder. `dtype`: None picks f32 on CPU, bf16 on CUDA and f16 on
/// Metal. llama/mistral/Qwen2/Qwen3 checkpoints run on popbench's engine (CPU, f32) or batched
/// candle model (other devices and dtypes), unless `runner` asks otherwise (see [`Runner`]).
pub fn load_with(
    dir: &Path,
    device: DeviceKind,
    dtype: Option<DType>,
    runner: Runner,
) -> Result<CandleBackend, BackendError> {
    let load_err = |e: String| BackendError::Load(format!("{}: {e}", dir.display()));
    let config_path = dir.join("config.json");
    let mut config = read_json(&config_path)?;
    // Multimodal checkpoints nest the language model's config.
    if let Some(text) = config.get("text_config").cloned() {
        if text.get("hidden_size").is_some() {
            config = text;
        }
    }
    let model_type = config
        .get("model_type")
        .and_then(J::as_str)
        .unwrap_or("")
        .to_string();
    let tok_path = dir.join("tokenizer.json");
    let tokenizer = ChatTokenizer::from_tokenizer_json(&tok_path).map_err(load_err)?;
    let tcfg = TokenizerConfig::read(dir).map_err(load_err)?;
    let template = tcfg.chat_template.clone().ok_or_else(|| {
        load_err(
            "tokenizer_config.json has no chat_template (and there is no chat_template.jinja)"
                .into(),
        )
    })?;

    let mut eos_ids = ids_of(config.get("eos_token_id"));
    let gen_cfg = dir.join("generation_config.json");
    if gen_cfg.is_file() {
        eos_ids.extend(ids_of(read_json(&gen_cfg)?.get("eos_token_id")));
    }
    if let Some(id) = tcfg
        .tokens
        .get("eos_token")
        .and_then(|t| tokenizer.token_id(t))
    {
        eos_ids.push(id);
    }

    let max_pos = config
        .get("max_position_embeddings")
        .and_then(J::as_u64)
        .unwrap_or(4096) as usize;
    let files = weight_files(dir)?;
    let info = |dtype: &str, engine: String| -> Result<ModelInfo, BackendError> {
        let mut digests = Vec::new();
        for f in [&config_path, &tok_path, &dir.join("tokenizer_config.json")]
            .into_iter()
            .chain(files.iter())
        {
            digests.push(digest_file(f)?);
        }
        Ok(ModelInfo {
            spec: format!("safetensors:{}", dir.display()),
            name: dir
                .file_name()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_else(|| "model".into()),
            backend: "candle-safetensors".into(),
            family: Some(model_type.clone()),
            files: digests,
            device: device.name(),
            dtype: Some(dtype.to_string()),
            engine: Some(engine),
            ..ModelInfo::default()
        })
    };
    if matches!(device, DeviceKind::Cpu)
        && runner == Runner::Auto
        && matches!(dtype, None | Some(DType::F32))
        && !super::native::disabled()
        && super::native::unsupported_config(&config).is_none()
    {
        let model = super::native::load_safetensors(&config, &files, super::cpu_threads())
            .map_err(load_err)?;
        let info = info("f32", model.describe())?;
        let context_length = model.context_length();
        return CandleBackend::new(Parts {
            model: Box::new(model),
            tokenizer,
            template,
            template_vars: tcfg.tokens.clone(),
            eos_ids,
            context_length,
            info,
        });
    }
    let dev = device.open()?;
    let dtype = dtype.unwrap_or(match device {
        DeviceKind::Cpu => DType::F32,
        DeviceKind::Cuda(_) => DType::BF16,
        DeviceKind::Metal => DType::F16,
    });
    if runner != Runner::Candle
        && !super::native::transformers_forced()
        && matches!(dtype, DType::F32 | DType::F16 | DType::BF16)
        && super::batched::unsupported_config(&config).is_none()
    {
        // On the CPU the engine's kernels compute attention (the matrices stay dense).
        let kernels = super::batched::Kernels::for_runner(&dev, runner);
        let model = super::batched::Batched::load_safetensors(
            &config,
            &files,
            &dev,
            device.name(),
            dtype,
            kernels,
        )
        .map_err(load_err)?;
        let info = info(&format!("{dtype:?}").to_lowercase(), model.describe())?;
        let context_length = model.context_length();
        return CandleBackend::new(Parts {
            model: Box::new(model),
            tokenizer,
            template,
            template_vars: tcfg.tokens.clone(),
            eos_ids,
            context_length,
            info,
        });
    }
    // SAFETY: the files are memory-mapped read-only; popbench does not modify model files
    // while they are loaded.
    let vb = unsafe { VarBuilder::from_mmaped_safetensors(&files, dtype, &dev) }
        .map_err(|e| load_err(e.to_string()))?;
    let parse =
        |what: &str, e: serde_json::Error| load_err(format!("config.json as a {what} config: {e}"));
    let net = match model_type.as_str() {
        "llama" | "mistral" => {
            let lc: llama::LlamaConfig =
                serde_json::from_value(config.clone()).map_err(|e| parse("llama", e))?;
            let cfg = lc.into_config(false);
            let model = llama::Llama::load(vb, &cfg).map_err(|e| load_err(e.to_string()))?;
            let cache =
                llama::Cache::new(true, dtype, &cfg, &dev).map_err(|e| load_err(e.to_string()))?;
            Net::Llama {
                model: Box::new(model),
                cache,
                cfg,
                dtype,
            }
        }
        "qwen2" => {
            let cfg: qwen2::Config =
                serde_json::from_value(config.clone()).map_err(|e| parse("qwen2", e))?;
            Net::Qwen2(qwen2::ModelForCausalLM::new(&cfg, vb).map_err(|e| load_err(e.to_string()))?)
        }
        "qwen3" => {
            let cfg: qwen3::Config =
                serde_json::from_value(config.clone()).map_err(|e| parse("qwen3", e))?;
            Net::Qwen3(qwen3::ModelForCausalLM::new(&cfg, vb).map_err(|e| load_err(e.to_string()))?)
        }
        "gemma3" | "gemma3_text" => {
            let cfg: gemma3::Config =
                serde_json::from_value(config.clone()).map_err(|e| parse("gemma3", e))?;
            Net::Gemma3(gemma3::Model::new(false, &cfg, vb).map_err(|e| load_err(e.to_string()))?)
        }
        "phi3" => {
            let cfg: phi3::Config =
                serde_json::from_value(config.clone()).map_err(|e| parse("phi3", e))?;
            Net::Phi3(phi3::Model::new(&cfg, vb).map_err(|e| load_err(e.to_string()))?)
        }
        other => {
            return Err(load_err(format!(
                "model_type `{other}` is not supported (supported: {})",
                ARCHITECTURES.join(", ")
            )))
        }
    };

    let info = info(
        &format!("{dtype:?}").to_lowercase(),
        "candle-transformers".into(),
    )?;
    CandleBackend::new(Parts {
        model: Box::new(Dense { net, device: dev }),
        tokenizer,
        template,
        template_vars: tcfg.tokens.clone(),
        eos_ids,
        context_length: max_pos,
        info,
    })
}
