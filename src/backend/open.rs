//! Opening a backend for a model spec.

use super::candle::{self as cb, DeviceKind};
use super::resolve::{resolve, Resolved};
use super::{Backend, BackendError, ModelSpec};

/// Weight dtype for safetensors models (GGUF files keep their quantization).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WeightDtype {
    /// 32-bit floats (the CPU default).
    F32,
    /// 16-bit floats (the Metal default).
    F16,
    /// bfloat16 (the CUDA default).
    Bf16,
}

impl WeightDtype {
    /// Parses `f32`, `f16`, `bf16`.
    pub fn parse(s: &str) -> Result<WeightDtype, String> {
        match s.to_ascii_lowercase().as_str() {
            "f32" => Ok(WeightDtype::F32),
            "f16" => Ok(WeightDtype::F16),
            "bf16" => Ok(WeightDtype::Bf16),
            _ => Err(format!("unknown dtype `{s}`: use f32, f16 or bf16")),
        }
    }

    /// The name [`WeightDtype::parse`] reads.
    pub fn id(self) -> &'static str {
        match self {
            WeightDtype::F32 => "f32",
            WeightDtype::F16 => "f16",
            WeightDtype::Bf16 => "bf16",
        }
    }

    fn candle(self) -> candle_core::DType {
        match self {
            WeightDtype::F32 => candle_core::DType::F32,
            WeightDtype::F16 => candle_core::DType::F16,
            WeightDtype::Bf16 => candle_core::DType::BF16,
        }
    }
}

/// How to open a local model.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OpenOptions {
    /// The device (default CPU).
    pub device: DeviceKind,
    /// CPU threads (None: candle's default, all cores). Applies to the first model opened in a
    /// process: the thread pool is global.
    pub threads: Option<usize>,
    /// Weight dtype for safetensors (None: f32 on CPU, bf16 on CUDA, f16 on Metal).
    pub dtype: Option<WeightDtype>,
    /// Requests in flight at once for a remote (OpenAI-compatible) model (None: its default).
    pub concurrency: Option<usize>,
}

/// Opens a backend for a spec: GGUF files, safetensors folders, hub models and aliases run
/// locally through candle.
pub fn open(spec: &ModelSpec, opts: &OpenOptions) -> Result<Box<dyn Backend>, BackendError> {
    match spec {
        ModelSpec::Replay(path) => Ok(Box::new(super::replay::ReplayBackend::open(
            path,
            &spec_string(spec),
        )?)),
        ModelSpec::OpenAi { url, model } => Ok(Box::new(
            super::openai::OpenAiBackend::new(
                url,
                model,
                &spec_string(spec),
                super::openai::HttpOptions {
                    concurrency: opts
                        .concurrency
                        .unwrap_or(super::openai::HttpOptions::default().concurrency)
                        .max(1),
                    ..super::openai::HttpOptions::default()
                },
            )
            .with_server_info(),
        )),
        _ => Ok(Box::new(open_local(spec, opts)?)),
    }
}

/// Opens a local model (GGUF, safetensors, hub, alias) as the concrete candle backend.
pub fn open_local(spec: &ModelSpec, opts: &OpenOptions) -> Result<cb::CandleBackend, BackendError> {
    if let Some(n) = opts.threads {
        cb::set_cpu_threads(n);
        // The global pool can be sized once; later calls keep the first size.
        let _ = rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .build_global();
    }
    let mut backend = match resolve(spec)? {
        Resolved::Gguf(p) => cb::gguf::load(&p, opts.device)?,
        Resolved::Safetensors(d) => {
            cb::safetensors::load(&d, opts.device, opts.dtype.map(WeightDtype::candle))?
        }
    };
    backend.set_spec(spec_string(spec), spec.short_name());
    Ok(backend)
}

/// The spec as the user would write it.
pub fn spec_string(spec: &ModelSpec) -> String {
    match spec {
        ModelSpec::Gguf(p) => format!("gguf:{}", p.display()),
        ModelSpec::Safetensors(p) => format!("safetensors:{}", p.display()),
        ModelSpec::Hf {
            repo,
            revision,
            file,
        } => {
            let mut s = format!("hf:{repo}");
            if let Some(r) = revision {
                s.push('@');
                s.push_str(r);
            }
            if let Some(f) = file {
                s.push(':');
                s.push_str(f);
            }
            s
        }
        ModelSpec::Alias(a) => a.clone(),
        ModelSpec::Replay(p) => format!("replay:{}", p.display()),
        ModelSpec::OpenAi { url, model } => format!("openai:{url}#{model}"),
    }
}
