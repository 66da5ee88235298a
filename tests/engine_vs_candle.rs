//! popbench's engine against candle-transformers on the same tiny GGUF files: llama, Qwen2
//! (q/k/v biases, half-split rotary) and Qwen3 (q/k norms), in f32, Q8_0, Q4_0, Q4_1, Q4_K and
//! Q6_K (the engine runs them as stored, candle with its own K-quant kernels), with and without
//! a tied output matrix. Logits along a teacher-forced sequence (prompt pass, then the
//! KV cache one token at a time) must agree within the 8-bit activation rounding both apply,
//! and the engine must be no further than candle from the same weights run in f32.

mod tiny;

use candle_core::quantized::GgmlDType;
use popbench::backend::candle::DeviceKind;
use popbench::backend::candle::Runner;
use popbench::backend::candle::{gguf, safetensors};
use popbench::backend::Backend;
use tiny::*;

fn max_rel_diff(a: &[f32], b: &[f32]) -> f32 {
    let scale = b.iter().fold(0f32, |m, v| m.max(v.abs())).max(1e-6);
    a.iter().zip(b).fold(0f32, |m, (x, y)| m.max((x - y).abs())) / scale
}

#[test]
fn engine_logits_match_candle_for_every_architecture_and_format() {
    let dir = tempfile::tempdir().unwrap();
    let prompt: Vec<u32> = (0..9).map(|i| 3 + (i * 37) % 250).collect();
    let cont: Vec<u32> = (0..6).map(|i| 5 + (i * 53) % 250).collect();
    let k_quant_tol = if popbench_engine::kernels::Isa::detect().q8k() {
        1e-1
    } else {
        2.5e-1
    };
    for arch in ["llama", "qwen2", "qwen3"] {
        for (dtype, tol) in [
            // The engine's KV cache is f16 (as llama.cpp's), candle-transformers' f32: the
            // keys' and values' rounding moves these random tiny models' logits by up to
            // 3.3e-3 (measured; 2e-3 was the bound with an f32 cache on both sides).
            (GgmlDType::F32, 1e-2),
            (GgmlDType::Q8_0, 8e-2),
            (GgmlDType::Q4_0, 8e-2),
            // candle runs Q4_1 as Q8_0 on the CPU (see gguf.rs): a requantization apart.
            (GgmlDType::Q4_1, 1.2e-1),
            // Candle quantizes activations to 8 bits in blocks of 256 (Q8K) for K-quants. So
            // does the engine at AVX2 (measured ≤ 0.08 apart); elsewhere it keeps blocks of 32,
            // and on these random 256-wide models the two roundings drift further apart
            // (measured ≤ 0.22). Each lands as far from the f32 model as the other.
            (GgmlDType::Q4K, k_quant_tol),
            (GgmlDType::Q6K, k_quant_tol),
        ] {
            let slack = if dtype.block_size() == 256 {
                0.05
            } else {
                0.02
            };
            // K-quant blocks are 256 wide.
            let (dim, hidden) = if dtype.block_size() == 256 {
                (256, 512)
            } else {
                (64, 128)
            };
            for output in [true, false] {
                let spec = Tiny {
                    arch,
                    dtype,
                    dim,
                    hidden,
                    eos: IM_END,
                    context: 256,
                    output,
                };
                let what = format!("{arch} {dtype:?} output={output}");
                let path = dir.path().join(format!("{arch}-{dtype:?}-{output}.gguf"));
                write_tiny_gguf(&path, &spec);
                let mut ours = gguf::load(&path, DeviceKind::Cpu).unwrap();
                let mut theirs = gguf::load_with(&path, DeviceKind::Cpu, Runner::Candle).unwrap();
                let engine = ours.info().engine.clone().unwrap_or_default();
                assert!(engine.starts_with("popbench-engine"), "{what}: {engine}");
                assert_eq!(theirs.info().engine.as_deref(), Some("candle-transformers"));
                let a = ours.forced_logits(&prompt, &cont).unwrap();
                let b = theirs.forced_logits(&prompt, &cont).unwrap();
                // The exact model: the same weights in f32, through candle.
                let exact_path = dir.path().join(format!("{arch}-F32-{output}.gguf"));
                write_tiny_gguf(
                    &exact_path,
                    &Tiny {
                        dtype: GgmlDType::F32,
                        ..spec.clone()
                    },
                );
                let mut exact =
                    gguf::load_with(&exact_path, DeviceKind::Cpu, Runner::Candle).unwrap();
                let e = exact.forced_logits(&prompt, &cont).unwrap();
                assert_eq!(a.len(), cont.len());
                for (step, (x, y)) in a.iter().zip(&b).enumerate() {
                    assert_eq!(x.len(), y.len(), "{what}: vocab");
                    let d = max_rel_diff(x, y);
                    let de = max_rel_diff(x, &e[step]);
                    let ce = max_rel_diff(y, &e[step]);
                    assert!(
                        d <= tol,
                        "{what} step {step}: engine and candle differ by {d} (> {tol})"
                    );
                    // Random tiny weights amplify quantization error a lot; what matters is
                    // that the engine strays no further from the exact model than candle does.
                    assert!(
                        de <= 1.2 * ce + slack,
                        "{what} step {step}: engine is {de} from the f32 model, candle {ce}"
                    );
                }
            }
        }
    }
}

/// The engine reads Q4_K and Q6_K blocks as GGML does: every row of a matrix that candle
/// quantized dequantizes to candle's values exactly, held as in the file and repacked for the
/// widest kernels this CPU runs.
#[test]
fn engine_k_quant_rows_dequantize_exactly_as_candle_does() {
    use candle_core::quantized::QTensor;
    use candle_core::{Device, Tensor};
    use popbench_engine::kernels::Isa;
    use popbench_engine::{QMatrix, QType};
    let (rows, cols) = (37, 512);
    let x: Vec<f32> = (0..rows * cols)
        .map(|i| ((i * 7919 % 1009) as f32 - 504.0) * 0.003 + ((i % 13) as f32 - 6.0) * 0.01)
        .collect();
    let t = Tensor::from_vec(x, (rows, cols), &Device::Cpu).unwrap();
    for (dtype, qtype) in [(GgmlDType::Q4K, QType::Q4_K), (GgmlDType::Q6K, QType::Q6_K)] {
        let q = QTensor::quantize(&t, dtype).unwrap();
        let want: Vec<f32> = q
            .dequantize(&Device::Cpu)
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1()
            .unwrap();
        let bytes = q.data().unwrap().to_vec();
        let plain = QMatrix::from_blocks(qtype, rows, cols, bytes).unwrap();
        let mut packed = plain.clone();
        packed.prepare(Isa::best());
        let mut row = vec![0f32; cols];
        for m in [&plain, &packed] {
            for r in 0..rows {
                m.dequantize_row(r, &mut row);
                let w = &want[r * cols..(r + 1) * cols];
                assert!(
                    row.iter().zip(w).all(|(a, b)| a.to_bits() == b.to_bits()),
                    "{qtype:?} row {r} (packed: {})",
                    m.is_packed()
                );
            }
        }
    }
}

#[test]
fn engine_refuses_tokens_outside_the_vocabulary_and_keeps_going() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.gguf");
    write_tiny_gguf(&path, &Tiny::llama(IM_END, 64));
    let mut m = gguf::load(&path, DeviceKind::Cpu).unwrap();
    let err = m.forced_logits(&[1, 2, 100_000], &[3]).unwrap_err();
    assert!(err.to_string().contains("outside the vocabulary"), "{err}");
    assert!(m.forced_logits(&[1, 2], &[3, 4]).is_ok());
    let err = m.forced_logits(&[1; 60], &[2; 10]).unwrap_err();
    assert!(err.to_string().contains("exceed the context"), "{err}");
}

#[test]
fn engine_runs_a_safetensors_llama_like_candle() {
    let dir = tempfile::tempdir().unwrap();
    write_tiny_safetensors(dir.path());
    let mut ours = safetensors::load(dir.path(), DeviceKind::Cpu, None).unwrap();
    let mut theirs =
        safetensors::load_with(dir.path(), DeviceKind::Cpu, None, Runner::Candle).unwrap();
    assert!(ours
        .info()
        .engine
        .as_deref()
        .unwrap_or("")
        .starts_with("popbench-engine"));
    assert_eq!(ours.preferred_batch(), 8);
    let prompt: Vec<u32> = (0..7).map(|i| 3 + (i * 41) % 250).collect();
    let cont: Vec<u32> = (0..5).map(|i| 9 + (i * 31) % 250).collect();
    let a = ours.forced_logits(&prompt, &cont).unwrap();
    let b = theirs.forced_logits(&prompt, &cont).unwrap();
    for (step, (x, y)) in a.iter().zip(&b).enumerate() {
        let d = max_rel_diff(x, y);
        assert!(d <= 2e-3, "step {step}: f32 logits differ by {d}");
    }
}
