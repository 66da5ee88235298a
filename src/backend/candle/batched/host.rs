//! On the CPU device, the quantized matrices of a GGUF file and the attention of every model
//! run on popbench's engine kernels instead of candle's `QMatMul` and attention ops.
//!
//! - **Matrices** ([`popbench_engine::matmul`]). candle's CPU kernels apply a weight tile to at
//!   most four rows of a batch at a time (and only for Q8_0 matrices whose input width is a
//!   multiple of 256; Q4_1 / Q5_0 / Q5_1 run as Q8_0), so a batch of 8 reads every weight twice
//!   per step. The engine's kernels unpack each weight block once for up to eight rows, run
//!   Q4_0 / Q4_1 / Q8_0 as stored (other formats are converted at load exactly as the engine
//!   converts them), split the weight rows of all the parts of a projection (q/k/v, gate/up)
//!   between the threads in one dispatch, and quantize the activations in blocks of 32 as the
//!   engine does: the products are the engine's, bit for bit.
//! - **Attention** ([`Kernels::attend`], for safetensors models too, whose matrices stay
//!   candle's dense ones): candle's small attention ops cost more in dispatch than in
//!   arithmetic at these sizes (56 % of a batch-8 decode step with 128-token replies).
//!
//! Norms, rotary embeddings and the rest stay candle tensor code. On other devices (CUDA,
//! Metal) nothing here runs; [`super::super::Runner::BatchedCandleKernels`] keeps candle's
//! kernels on the CPU too, so that the code GPUs run is tested on the CPU device.

use super::super::Runner;
use candle_core::{Device, Tensor};
use popbench_engine::attention::{attend_head, Positions};
use popbench_engine::kernels::Isa;
use popbench_engine::matmul::{matmul, Act, Product};
use popbench_engine::pool::Pool;
use popbench_engine::QMatrix;
use std::sync::Arc;

/// The engine's kernels: the instruction set they use and the threads they run on.
pub struct Kernels {
    isa: Isa,
    pool: Pool,
}

impl Kernels {
    /// Kernels for the widest instruction set this CPU runs (`POPBENCH_ISA` may narrow it) on
    /// `threads` threads (the caller's included).
    pub fn new(threads: usize) -> Arc<Kernels> {
        Arc::new(Kernels {
            isa: Isa::detect(),
            pool: Pool::new(threads),
        })
    }

    /// The kernels a batched model loaded for `runner` on `device` uses: on the CPU device
    /// (unless [`Runner::BatchedCandleKernels`] asks for candle's) with the local models' CPU
    /// threads; none on other devices.
    pub fn for_runner(device: &Device, runner: Runner) -> Option<Arc<Kernels>> {
        (device.is_cpu() && runner != Runner::BatchedCandleKernels)
            .then(|| Kernels::new(super::super::cpu_threads()))
    }

    /// `popbench kernels (avx512, 2 threads)` (or `popbench attention (…)` when only attention
    /// runs on them: `what` is `kernels` or `attention`), for provenance.
    pub(super) fn describe(&self, what: &str) -> String {
        format!(
            "popbench {what} ({}, {} threads)",
            self.isa.name(),
            self.pool.threads()
        )
    }

    /// Rearranges a matrix for this instruction set's kernels.
    pub(super) fn prepare(&self, m: &mut QMatrix) {
        m.prepare(self.isa);
    }
}

/// Matrices that read the same input, run in one dispatch.
pub(super) struct HostProj {
    mats: Vec<QMatrix>,
    kernels: Arc<Kernels>,
}

impl HostProj {
    /// The parts (all of one input width), prepared for `kernels`.
    pub(super) fn new(mut mats: Vec<QMatrix>, kernels: Arc<Kernels>) -> Result<HostProj, String> {
        let Some(first) = mats.first() else {
            return Err("no matrix".into());
        };
        let cols = first.cols();
        if mats.iter().any(|m| m.cols() != cols) {
            return Err("the parts of a projection differ in input width".into());
        }
        for m in &mut mats {
            kernels.prepare(m);
        }
        Ok(HostProj { mats, kernels })
    }

    /// Output widths of the parts.
    pub(super) fn widths(&self) -> Vec<usize> {
        self.mats.iter().map(|m| m.rows()).collect()
    }

    /// Each part's product with `x` (`[rows, in]`, f32, on the CPU): `[rows, width]` each.
    pub(super) fn forward(&self, x: &Tensor) -> candle_core::Result<Vec<Tensor>> {
        let (rows, cols) = x.dims2()?;
        let want = self.mats[0].cols();
        if cols != want {
            candle_core::bail!("input width {cols}, expected {want}");
        }
        let mut act = Act::default();
        act.reset(rows, cols);
        act.x = x.flatten_all()?.to_vec1::<f32>()?;
        let mut outs: Vec<Vec<f32>> = self
            .mats
            .iter()
            .map(|m| vec![0f32; rows * m.rows()])
            .collect();
        let mut products: Vec<Product<'_>> = self
            .mats
            .iter()
            .zip(outs.iter_mut())
            .map(|(w, out)| Product { w, out })
            .collect();
        matmul(
            &self.kernels.pool,
            self.kernels.isa,
            &mut act,
            &mut products,
        );
        drop(products);
        self.mats
            .iter()
            .zip(outs)
            .map(|(m, out)| Tensor::from_vec(out, (rows, m.rows()), &Device::Cpu))
            .collect()
    }
}

impl Kernels {
    /// Causal attention of the `s` new columns of every row against the row's cache, as the
    /// candle ops of [`super::Batched`] compute it, with the engine's dot products.
    ///
    /// `q` is `[rows, heads, s, head dim]`; `keys` and `values` are a layer's caches,
    /// `[rows, kv heads, capacity, head dim]`, already holding columns `..start + s`; row `r`'s
    /// first `pads[r]` columns are padding. Column `c` of row `r` attends to columns `pads[r]
    /// ..= c` (a pad column to itself only, so it stays finite). Pad columns are left out of
    /// the sums rather than masked, so a row's result is bit for bit the same whatever else
    /// shares its batch and however much padding it has. Returns `[rows · s, heads · head dim]`.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn attend(
        &self,
        q: &Tensor,
        keys: &Tensor,
        values: &Tensor,
        pads: &[usize],
        start: usize,
        scale: f32,
    ) -> candle_core::Result<Tensor> {
        let (b, heads, s, hd) = q.dims4()?;
        let (kb, kvh, cap, khd) = keys.dims4()?;
        if kb != b || khd != hd || values.dims4()? != (b, kvh, cap, hd) || pads.len() != b {
            candle_core::bail!("attention: cache shapes do not match the queries");
        }
        if kvh == 0 || !heads.is_multiple_of(kvh) || start + s > cap {
            candle_core::bail!(
                "attention: {heads} heads over {kvh}, {} of {cap} columns",
                start + s
            );
        }
        let rep = heads / kvh;
        let q = q.contiguous()?.flatten_all()?.to_vec1::<f32>()?;
        let (kg, kl) = keys.storage_and_layout();
        let (vg, vl) = values.storage_and_layout();
        let kd = cpu_f32(&kg, kl)?;
        let vd = cpu_f32(&vg, vl)?;
        let tasks = b * s * heads;
        let mut out = vec![0f32; tasks * hd];
        // One contiguous share of the (row, column, head) tasks per thread, each with its own
        // part of the output.
        let threads = self.pool.threads();
        let mut shares = Vec::with_capacity(threads);
        let mut rest = out.as_mut_slice();
        for i in 0..threads {
            let r = popbench_engine::pool::share(tasks, i, threads);
            let (mine, tail) = rest.split_at_mut(r.len() * hd);
            shares.push(std::sync::Mutex::new((r.start, mine)));
            rest = tail;
        }
        let isa = self.isa;
        let total = start + s;
        self.pool.run(&|i, n| {
            let mut scores = vec![0f32; total];
            for share in shares.iter().skip(i).step_by(n.max(1)) {
                let Ok(mut share) = share.lock() else { return };
                let (first, o) = &mut *share;
                for (k, oh) in o.chunks_exact_mut(hd).enumerate() {
                    let task = *first + k;
                    let (h, rj) = (task % heads, task / heads);
                    let (j, r) = (rj % s, rj / s);
                    let col = start + j;
                    let lo = if col < pads[r] { col } else { pads[r] };
                    let qh = &q[((r * heads + h) * s + j) * hd..][..hd];
                    let at = Positions {
                        first: ((r * kvh + h / rep) * cap + lo) * hd,
                        stride: hd,
                        count: col + 1 - lo,
                    };
                    attend_head(isa, qh, kd, vd, at, scale, &mut scores, oh);
                }
            }
        });
        drop(shares);
        Tensor::from_vec(out, (b * s, heads * hd), &Device::Cpu)
    }
}

/// The f32 values of a contiguous CPU tensor, from its first element.
fn cpu_f32<'a>(
    storage: &'a candle_core::Storage,
    layout: &candle_core::Layout,
) -> candle_core::Result<&'a [f32]> {
    match storage {
        candle_core::Storage::Cpu(candle_core::CpuStorage::F32(v)) if layout.is_contiguous() => {
            Ok(&v[layout.start_offset()..])
        }
        _ => candle_core::bail!("attention: the caches must be contiguous f32 on the CPU"),
    }
}
