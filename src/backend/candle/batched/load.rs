//! Reading a model's weights for [`Batched`]: GGUF (matrices as stored) or safetensors (dense
//! matrices in the model's dtype), with the projections that read the same input fused into
//! one matrix (q/k/v; gate/up) and, on CPUs where it pays, Q8_0 matrices widened with zero
//! columns so that candle runs them through its tiled kernel.

use super::super::native::{self, hf_name};
use super::host::{HostProj, Kernels};
use super::{Batched, Layer, Linear, Proj, Weight};
use candle_core::quantized::{gguf_file, GgmlDType, QMatMul, QStorage, QTensor};
use candle_core::{DType, Device, Tensor};
use std::borrow::Cow;

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

pub(super) fn err(e: impl std::fmt::Display) -> String {
    e.to_string()
}

/// Input columns candle's CPU kernels tile by (`QK_K`).
const TILE_K: usize = 256;
/// Output rows they tile by.
const TILE_N: usize = 16;

/// Whether candle 0.11's CPU `QMatMul` has its tiled Q8_0 kernel on this CPU: AVX-512 VNNI or
/// AVX-VNNI, and not forced down to AVX2 (`MISTRALRS_FORCE_AVX2=1`, which candle reads).
fn tiled_q8_0_kernel() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        if std::env::var("MISTRALRS_FORCE_AVX2").as_deref() == Ok("1") {
            return false;
        }
        (is_x86_feature_detected!("avx512f") && is_x86_feature_detected!("avx512vnni"))
            || (is_x86_feature_detected!("avxvnni") && is_x86_feature_detected!("avx2"))
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// Zero input columns to append to an `[n, k]` matrix so that candle's CPU `QMatMul` runs it
/// through its tiled kernel (weights repacked in tiles of 16 rows × 256 columns, each tile
/// applied to several input rows at once) instead of one vec-dot per input row and output
/// column: candle takes the tiled kernel for Q8_0 only when `k` is a multiple of 256 and `n` of
/// 16. Zero blocks add nothing to a dot product, so the product is unchanged; the input is
/// padded with zeros to match (see `Linear::forward`).
fn tiled_pad(device: &Device, dtype: GgmlDType, n: usize, k: usize) -> usize {
    if !device.is_cpu()
        || dtype != GgmlDType::Q8_0
        || k.is_multiple_of(TILE_K)
        || !n.is_multiple_of(TILE_N)
        || !tiled_q8_0_kernel()
    {
        return 0;
    }
    k.next_multiple_of(TILE_K) - k
}

/// Reads weights by their GGUF names.
pub(super) trait Weights {
    fn has(&self, name: &str) -> bool;
    /// The matrices `names` (all with the same input width), fused into one when their
    /// formats allow.
    fn proj(&mut self, names: &[String]) -> Result<Proj, String>;
    /// A vector as f32 on the device.
    fn vector(&mut self, name: &str, len: usize) -> Result<Tensor, String>;
    /// Zero columns added to Q8_0 inputs, if any (for the description).
    fn widened(&self) -> bool {
        false
    }
}

pub(super) struct GgufWeights<'a> {
    pub(super) ct: &'a gguf_file::Content,
    pub(super) file: &'a mut std::fs::File,
    pub(super) device: &'a Device,
    /// Formats converted to Q8_0 at load.
    pub(super) converted: std::collections::BTreeSet<String>,
    /// Whether some matrix was widened for the tiled kernel.
    pub(super) widened: bool,
    /// On the CPU device: run the matrices through popbench's engine kernels ([`Kernels`]).
    pub(super) kernels: Option<std::sync::Arc<Kernels>>,
}

impl GgufWeights<'_> {
    /// The tensor as stored, read into host memory.
    pub(super) fn host(&mut self, name: &str) -> Result<QTensor, String> {
        self.ct
            .tensor(self.file, name, &Device::Cpu)
            .map_err(|e| format!("tensor `{name}`: {e}"))
    }

    /// On the CPU, Q4_1 / Q5_0 / Q5_1 matrices become Q8_0, as candle-transformers' loader
    /// does (see `gguf`): candle has no SIMD kernel for them.
    pub(super) fn for_device(&mut self, name: &str, q: QTensor) -> Result<QTensor, String> {
        if !(self.device.is_cpu() && super::super::gguf::SLOW_ON_CPU.contains(&q.dtype())) {
            return Ok(q);
        }
        self.converted.insert(format!("{:?}", q.dtype()));
        q.dequantize(&Device::Cpu)
            .and_then(|t| QTensor::quantize(&t, GgmlDType::Q8_0))
            .map_err(|e| format!("tensor `{name}`: {e}"))
    }

    /// One matrix from host tensors stacked along their output rows (all of one format and
    /// input width), widened when that pays, on the device.
    pub(super) fn linear(&mut self, name: &str, parts: &[QTensor]) -> Result<Linear, String> {
        let at = |e: candle_core::Error| format!("tensor `{name}`: {e}");
        let dtype = parts[0].dtype();
        let k = parts[0].shape().dims2().map_err(at)?.1;
        let n: usize = parts
            .iter()
            .map(|q| q.shape().dims2().map(|d| d.0))
            .sum::<candle_core::Result<usize>>()
            .map_err(at)?;
        let pad = tiled_pad(self.device, dtype, n, k);
        let row = k / dtype.block_size() * dtype.type_size();
        let wide = (k + pad) / dtype.block_size() * dtype.type_size();
        let mut bytes = Vec::with_capacity(n * wide);
        for q in parts {
            let data = q.data().map_err(at)?;
            if pad == 0 {
                bytes.extend_from_slice(&data);
            } else {
                // A zero Q8_0 block (scale 0, quants 0) is all zero bytes.
                for r in data.chunks_exact(row) {
                    bytes.extend_from_slice(r);
                    bytes.resize(bytes.len() + wide - row, 0);
                }
            }
        }
        if bytes.len() != n * wide {
            return Err(format!(
                "tensor `{name}`: {} bytes, expected {}",
                bytes.len(),
                n * wide
            ));
        }
        self.widened |= pad > 0;
        let storage = QStorage::from_data(Cow::Owned(bytes), self.device, dtype).map_err(at)?;
        let q = QTensor::new(storage, (n, k + pad)).map_err(at)?;
        Ok(Linear {
            w: Weight::Quant(QMatMul::from_qtensor(q).map_err(at)?),
            pad,
        })
    }
}

impl Weights for GgufWeights<'_> {
    fn has(&self, name: &str) -> bool {
        self.ct.tensor_infos.contains_key(name)
    }

    fn proj(&mut self, names: &[String]) -> Result<Proj, String> {
        if let Some(kernels) = &self.kernels {
            let kernels = kernels.clone();
            let mut mats = Vec::with_capacity(names.len());
            for name in names {
                mats.push(native::gguf_matrix(
                    self.ct,
                    self.file,
                    name,
                    &mut self.converted,
                )?);
            }
            return HostProj::new(mats, kernels)
                .map(Proj::Host)
                .map_err(|e| format!("tensor `{}`: {e}", names[0]));
        }
        let mut parts = Vec::with_capacity(names.len());
        let mut widths = Vec::with_capacity(names.len());
        for name in names {
            let q = self.host(name)?;
            let q = self.for_device(name, q)?;
            let dims = q.shape().dims().to_vec();
            if dims.len() != 2 {
                return Err(format!(
                    "tensor `{name}` has shape {dims:?}, expected a matrix"
                ));
            }
            widths.push(dims[0]);
            parts.push(q);
        }
        let k = parts[0].shape().dims()[1];
        let fusable = parts
            .iter()
            .all(|q| q.dtype() == parts[0].dtype() && q.shape().dims()[1] == k);
        if fusable {
            let linear = self.linear(&names[0], &parts)?;
            return Ok(Proj::Fused(linear, widths));
        }
        let mut apart = Vec::with_capacity(parts.len());
        for (name, q) in names.iter().zip(parts) {
            apart.push(self.linear(name, std::slice::from_ref(&q))?);
        }
        Ok(Proj::Apart(apart))
    }

    fn vector(&mut self, name: &str, len: usize) -> Result<Tensor, String> {
        let t = self
            .host(name)?
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

    fn widened(&self) -> bool {
        self.widened
    }
}

pub(super) struct SafetensorsWeights<'a> {
    pub(super) st: candle_core::safetensors::MmapedSafetensors,
    pub(super) device: &'a Device,
    pub(super) dtype: DType,
}

impl SafetensorsWeights<'_> {
    pub(super) fn load(&self, name: &str, dtype: DType) -> Result<Tensor, String> {
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

    fn proj(&mut self, names: &[String]) -> Result<Proj, String> {
        let mut parts = Vec::with_capacity(names.len());
        let mut widths = Vec::with_capacity(names.len());
        for name in names {
            let t = self.load(name, self.dtype)?;
            let (n, _) = t
                .dims2()
                .map_err(|e| format!("tensor `{}`: {e}", hf_name(name)))?;
            widths.push(n);
            parts.push(t);
        }
        let w = Tensor::cat(&parts, 0).map_err(|e| {
            format!(
                "tensors {}: {e}",
                names
                    .iter()
                    .map(|n| hf_name(n))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        })?;
        Ok(Proj::Fused(
            Linear {
                w: Weight::Dense(w),
                pad: 0,
            },
            widths,
        ))
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

pub(super) fn layers(
    src: &mut dyn Weights,
    cfg: &popbench_engine::Config,
) -> Result<Vec<Layer>, String> {
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
        let qkv = src.proj(&[n("attn_q.weight"), n("attn_k.weight"), n("attn_v.weight")])?;
        check_widths(&qkv, &[cfg.q_dim(), cfg.kv_dim(), cfg.kv_dim()], &n("attn"))?;
        let gate_up = src.proj(&[n("ffn_gate.weight"), n("ffn_up.weight")])?;
        if let Proj::Fused(_, w) = &gate_up {
            if w[0] != w[1] {
                return Err(format!("{}: gate and up widths differ", n("ffn")));
            }
        }
        out.push(Layer {
            attn_norm: src.vector(&n("attn_norm.weight"), cfg.embd)?,
            qkv,
            bias,
            qk_norm,
            wo: src.proj(&[n("attn_output.weight")])?,
            ffn_norm: src.vector(&n("ffn_norm.weight"), cfg.embd)?,
            gate_up,
            w_down: src.proj(&[n("ffn_down.weight")])?,
        });
    }
    Ok(out)
}

/// Fused widths must be the configuration's (a file whose q/k/v rows disagree with its
/// head counts is refused here rather than mis-split).
fn check_widths(p: &Proj, want: &[usize], what: &str) -> Result<(), String> {
    let w = match p {
        Proj::Fused(_, w) => w.clone(),
        Proj::Host(h) => h.widths(),
        Proj::Apart(_) => return Ok(()),
    };
    if w != want {
        return Err(format!(
            "{what}: projection widths {w:?}, expected {want:?}"
        ));
    }
    Ok(())
}

impl Batched {
    /// Loads a GGUF file (llama, mistral, qwen2, qwen3; see [`unsupported_gguf`]) onto
    /// `device`. With `kernels` (the CPU device only) the matrices run through popbench's
    /// engine kernels ([`Kernels`]); without, every matrix is candle's `QMatMul` in its
    /// stored format (on the CPU, Q4_1 / Q5_0 / Q5_1 as Q8_0, and Q8_0 widened for candle's
    /// tiled kernel where it has one: see the module documentation).
    pub fn load_gguf(
        ct: &gguf_file::Content,
        file: &mut std::fs::File,
        arch: &str,
        device: &Device,
        device_name: String,
        kernels: Option<std::sync::Arc<Kernels>>,
    ) -> Result<Batched, String> {
        let cfg = native::gguf_config(ct, arch)?;
        let mut w = GgufWeights {
            ct,
            file,
            device,
            converted: Default::default(),
            widened: false,
            kernels,
        };
        let embed_q = w.host("token_embd.weight")?;
        let embed = embed_q
            .dequantize(device)
            .map_err(|e| format!("tensor `token_embd.weight`: {e}"))?;
        let layers = layers(&mut w, &cfg)?;
        let output_norm = w.vector("output_norm.weight", cfg.embd)?;
        let output = if w.has("output.weight") {
            w.proj(&["output.weight".to_string()])?
        } else if w.kernels.is_some() {
            w.proj(&["token_embd.weight".to_string()])?
        } else {
            let q = w.for_device("token_embd.weight", embed_q)?;
            let l = w.linear("token_embd.weight", std::slice::from_ref(&q))?;
            Proj::Fused(l, vec![q.shape().dims2().map_err(err)?.0])
        };
        let mut dtype = "gguf".to_string();
        if let Some(k) = &w.kernels {
            dtype += &format!(", {}", k.describe("kernels"));
            if !w.converted.is_empty() {
                let c: Vec<String> = std::mem::take(&mut w.converted).into_iter().collect();
                dtype += &format!(", converted: {}", c.join(", "));
            }
        } else if !w.converted.is_empty() {
            let c: Vec<String> = std::mem::take(&mut w.converted).into_iter().collect();
            dtype += &format!(", {} run as Q8_0", c.join("/"));
        }
        if w.widened() {
            dtype += ", Q8_0 tiled";
        }
        let host = w.kernels.take();
        Batched::assemble(
            cfg,
            device,
            device_name,
            dtype,
            embed,
            layers,
            output_norm,
            output,
            host,
        )
    }

    /// Loads a Hugging Face checkpoint (config.json + safetensors) onto `device` with its
    /// matrices in `dtype` (f32, f16 or bf16); norms and activations stay f32. With `kernels`
    /// (the CPU device only) attention runs on popbench's engine kernels; the matrices stay
    /// candle's dense ones.
    pub fn load_safetensors(
        config: &serde_json::Value,
        files: &[std::path::PathBuf],
        device: &Device,
        device_name: String,
        dtype: DType,
        kernels: Option<std::sync::Arc<Kernels>>,
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
            w.proj(&["output.weight".to_string()])?
        } else {
            let n = embed.dims2().map_err(err)?.0;
            Proj::Fused(
                Linear {
                    w: Weight::Dense(embed.clone()),
                    pad: 0,
                },
                vec![n],
            )
        };
        let mut name = format!("{dtype:?}").to_lowercase();
        if let Some(k) = &kernels {
            name += &format!(", {}", k.describe("attention"));
        }
        Batched::assemble(
            cfg,
            device,
            device_name,
            name,
            embed,
            layers,
            output_norm,
            output,
            kernels,
        )
    }
}
