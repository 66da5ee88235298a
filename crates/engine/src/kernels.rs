//! Dot products: weight rows against a tile of up to [`TILE`] activation rows.
//!
//! Each block of weights is unpacked once and multiplied with every activation row of the
//! tile, so a prompt pass reads its weights once per tile instead of once per token. The
//! arithmetic for one activation row is the same whatever the tile holds (one accumulator per
//! row, blocks in order), so a row's result does not depend on which other rows share its
//! batch: batched and unbatched generation give bit-identical logits.
//!
//! [`Isa::detect`] picks the widest kernels the CPU runs:
//! - [`Isa::Avx512`] (AVX-512 F/BW/VL + VNNI): weights repacked 16 rows to a group
//!   ([`crate::packed`]), one `vpdpbusd` per four columns of 16 rows, integer block sums
//!   scaled and added in the portable kernels' order, so its results are bit-identical to
//!   [`Isa::Generic`]'s;
//! - [`Isa::Avx2`] (AVX2 + FMA + F16C): `Q4_0`, `Q4_1` and `Q8_0` repacked as for AVX-512, 8
//!   rows at a time, exact integer block sums, bit-identical to [`Isa::Generic`]'s
//!   (`avx2_packed`); `Q4_K` and `Q6_K` one row at a time in the GGUF layout against
//!   activations quantized per super-block ([`BlockQ8K`], [`dot_k`], `avx2_k`), with integer
//!   sub-block scales, as llama.cpp multiplies them: another rounding of the activations and
//!   another float order than the portable kernels, the same for every batch and thread count;
//! - [`Isa::Generic`]: portable Rust.
//!
//! `POPBENCH_ISA=generic|avx2|avx512` forces a level (capped at what the CPU runs).

/// `$f::<T>(args…)` with the const `T` = `$n` (1 to [`TILE`]; 0 calls nothing): the kernels
/// keep a tile's accumulators in registers, so each tile size is its own function.
#[cfg(target_arch = "x86_64")]
macro_rules! by_tile {
    ($n:expr, $f:ident($($arg:expr),* $(,)?)) => {
        match $n {
            0 => {}
            1 => $f::<1>($($arg),*),
            2 => $f::<2>($($arg),*),
            3 => $f::<3>($($arg),*),
            4 => $f::<4>($($arg),*),
            5 => $f::<5>($($arg),*),
            6 => $f::<6>($($arg),*),
            7 => $f::<7>($($arg),*),
            _ => $f::<8>($($arg),*),
        }
    };
}

#[cfg(target_arch = "x86_64")]
mod avx2_k;
#[cfg(target_arch = "x86_64")]
mod avx2_packed;

/// The first T act rows' block pointers.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn act_ptrs<const T: usize>(acts: &[&[BlockQ8]]) -> [*const BlockQ8; T] {
    std::array::from_fn(|t| acts[t].as_ptr())
}

use crate::f16;
use crate::packed;
use crate::quant::{BlockQ8, BlockQ8K, QType, QK, QK_K};

/// Activation rows per tile.
pub const TILE: usize = 8;

/// The instruction set the kernels use, chosen once at run time (ordered narrow to wide).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Isa {
    /// Portable Rust.
    Generic,
    /// x86-64 AVX2 + FMA + F16C (only constructed when the CPU has them).
    #[cfg(target_arch = "x86_64")]
    Avx2,
    /// x86-64 AVX-512 F, BW, VL and VNNI, with AVX2 + FMA + F16C (only constructed when the
    /// CPU has them all).
    #[cfg(target_arch = "x86_64")]
    Avx512,
}

impl Isa {
    /// The level to run: `POPBENCH_ISA` when set (see [`Isa::choose`]), else the widest the
    /// CPU supports.
    pub fn detect() -> Isa {
        Isa::choose(std::env::var("POPBENCH_ISA").ok().as_deref())
    }

    /// The level for a requested name (`generic`, `avx2`, `avx512`): the requested one when
    /// the CPU runs it, else the widest below it that it runs; no name or an unknown one gives
    /// the widest.
    pub fn choose(requested: Option<&str>) -> Isa {
        let best = Isa::best();
        match requested.and_then(Isa::from_name) {
            Some(want) => want.min(best),
            None => best,
        }
    }

    /// The level called `name` ([`Isa::name`]), whether or not this CPU runs it.
    pub fn from_name(name: &str) -> Option<Isa> {
        match name.trim().to_ascii_lowercase().as_str() {
            "generic" => Some(Isa::Generic),
            #[cfg(target_arch = "x86_64")]
            "avx2" => Some(Isa::Avx2),
            #[cfg(target_arch = "x86_64")]
            "avx512" => Some(Isa::Avx512),
            _ => None,
        }
    }

    /// The widest level this CPU runs.
    pub fn best() -> Isa {
        #[cfg(target_arch = "x86_64")]
        {
            let avx2 = is_x86_feature_detected!("avx2")
                && is_x86_feature_detected!("fma")
                && is_x86_feature_detected!("f16c");
            if avx2
                && is_x86_feature_detected!("avx512f")
                && is_x86_feature_detected!("avx512bw")
                && is_x86_feature_detected!("avx512vl")
                && is_x86_feature_detected!("avx512vnni")
            {
                return Isa::Avx512;
            }
            if avx2 {
                return Isa::Avx2;
            }
        }
        Isa::Generic
    }

    /// Every level this CPU runs, narrow to wide.
    pub fn supported() -> Vec<Isa> {
        let best = Isa::best();
        Isa::all().into_iter().filter(|&i| i <= best).collect()
    }

    /// Every level this build knows, narrow to wide.
    pub fn all() -> Vec<Isa> {
        vec![
            Isa::Generic,
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2,
            #[cfg(target_arch = "x86_64")]
            Isa::Avx512,
        ]
    }

    /// A short name for logs and provenance.
    pub fn name(self) -> &'static str {
        match self {
            Isa::Generic => "generic",
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2 => "avx2",
            #[cfg(target_arch = "x86_64")]
            Isa::Avx512 => "avx512",
        }
    }

    /// Whether `Q4_K` and `Q6_K` rows are multiplied with activations quantized per
    /// super-block ([`BlockQ8K`], [`dot_k`]) at this level: at [`Isa::Avx2`]. [`Isa::Avx512`]
    /// packs them and keeps blocks of 32 (the portable kernels' bits).
    pub fn q8k(self) -> bool {
        #[cfg(target_arch = "x86_64")]
        if self == Isa::Avx2 {
            return true;
        }
        false
    }

    /// Whether matrices of `qtype` are repacked ([`crate::packed`]) for this level's kernels:
    /// every block format at [`Isa::Avx512`], `Q4_0`, `Q4_1` and `Q8_0` at [`Isa::Avx2`].
    pub fn packs(self, qtype: QType) -> bool {
        match self {
            Isa::Generic => false,
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2 => matches!(qtype, QType::Q4_0 | QType::Q4_1 | QType::Q8_0),
            #[cfg(target_arch = "x86_64")]
            Isa::Avx512 => qtype != QType::F32,
        }
    }
}

/// `out[t·n + r] = rows[r] · acts[t]` for `n` consecutive quantized weight rows in the GGUF
/// layout, `acts[0].len()` blocks each (`acts.len() ≤ TILE`, all act rows equally long), with
/// the portable kernels. The vector levels multiply packed rows ([`dot_packed`], what
/// [`crate::matmul::QMatrix::prepare`] makes of every format they pack) and K-quant rows against
/// [`BlockQ8K`] activations at AVX2 ([`dot_k`]): nothing they run reaches this function.
pub fn dot_q(qtype: QType, rows: &[u8], acts: &[&[BlockQ8]], out: &mut [f32]) {
    let Some(first) = acts.first() else { return };
    let cols = first.len() * QK;
    let row_bytes = qtype.row_bytes(cols);
    assert!(qtype != QType::F32 && acts.len() <= TILE && row_bytes > 0);
    assert!(cols.is_multiple_of(qtype.block_len()));
    assert!(acts.iter().all(|a| a.len() == first.len()));
    let n = rows.len() / row_bytes;
    assert!(rows.len() == n * row_bytes && out.len() >= n * acts.len());
    for (r, row) in rows.chunks_exact(row_bytes).enumerate() {
        let mut tmp = [0f32; TILE];
        generic::dot_q(qtype, row, acts, &mut tmp);
        for (t, v) in tmp[..acts.len()].iter().enumerate() {
            out[t * n + r] = *v;
        }
    }
}

/// `out[t·n + r] = rows[r] · acts[t]` for `n` consecutive `Q4_K` or `Q6_K` rows in the GGUF
/// layout against activations quantized per super-block, `acts[0].len()` of them each
/// (`acts.len() ≤ TILE`). The AVX2 kernels where the CPU runs them ([`Isa::q8k`] says when
/// products take this path), else the portable loop below.
pub fn dot_k(isa: Isa, qtype: QType, rows: &[u8], acts: &[&[BlockQ8K]], out: &mut [f32]) {
    let Some(first) = acts.first() else { return };
    assert!(matches!(qtype, QType::Q4_K | QType::Q6_K) && acts.len() <= TILE);
    assert!(acts.iter().all(|a| a.len() == first.len()));
    let row_bytes = qtype.row_bytes(first.len() * QK_K);
    let n = rows.len() / row_bytes.max(1);
    assert!(row_bytes > 0 && rows.len() == n * row_bytes && out.len() >= n * acts.len());
    #[cfg(target_arch = "x86_64")]
    if isa >= Isa::Avx2 {
        // SAFETY: `Isa::Avx2` and above are only constructed after the CPU features were
        // detected; every row has as many super-blocks as every act row, and `out` holds n·T
        // values (checked above).
        unsafe { avx2_k::dot_k(qtype, rows.as_ptr(), row_bytes, n, acts, out.as_mut_ptr()) };
        return;
    }
    let _ = isa;
    for (r, row) in rows.chunks_exact(row_bytes).enumerate() {
        for (t, act) in acts.iter().enumerate() {
            out[t * n + r] = generic::k_row(qtype, row, act);
        }
    }
}

/// `out[t·rows + r] = row r · acts[t]` for the first `rows` rows of whole packed groups
/// ([`crate::packed`]) of `acts[0].len()` blocks each (`acts.len() ≤ TILE`). With
/// [`Isa::Avx512`] the VNNI kernels run, with [`Isa::Avx2`] its kernels for the formats it
/// packs ([`Isa::packs`]); otherwise each row is unpacked for the portable kernel (same bits).
pub fn dot_packed(
    isa: Isa,
    qtype: QType,
    groups: &[u8],
    rows: usize,
    acts: &[&[BlockQ8]],
    out: &mut [f32],
) {
    let Some(first) = acts.first() else { return };
    let nb = first.len();
    let gb = packed::group_bytes(qtype, nb * QK);
    assert!(qtype != QType::F32 && acts.len() <= TILE && gb > 0);
    assert!((nb * QK).is_multiple_of(qtype.block_len()));
    assert!(acts.iter().all(|a| a.len() == nb));
    assert!(groups.len() == rows.div_ceil(packed::GROUP) * gb && out.len() >= rows * acts.len());
    #[cfg(target_arch = "x86_64")]
    if isa == Isa::Avx512 {
        // SAFETY: `Isa::Avx512` is only constructed after the CPU features were detected;
        // `groups` holds ⌈rows / 16⌉ groups of nb blocks, every act row nb blocks, and `out`
        // rows·T values (checked above).
        unsafe { avx512::dot_packed(qtype, groups.as_ptr(), nb, rows, acts, out.as_mut_ptr()) };
        return;
    }
    #[cfg(target_arch = "x86_64")]
    if isa >= Isa::Avx2 && Isa::Avx2.packs(qtype) {
        // SAFETY: as above, for the AVX2 level (which every AVX-512 level includes).
        let o = out.as_mut_ptr();
        unsafe { avx2_packed::dot_packed(qtype, groups.as_ptr(), nb, rows, acts, o) };
        return;
    }
    let _ = isa;
    let cols = nb * QK;
    let mut raw = vec![0u8; qtype.row_bytes(cols)];
    for r in 0..rows {
        packed::unpack_row(qtype, groups, cols, r, &mut raw);
        let mut tmp = [0f32; TILE];
        generic::dot_q(qtype, &raw, acts, &mut tmp);
        for (t, v) in tmp[..acts.len()].iter().enumerate() {
            out[t * rows + r] = *v;
        }
    }
}

/// `out[t·n + r] = rows[r] · acts[t]` for `n` f32 weight rows of `cols` values.
pub fn dot_f32_rows(isa: Isa, rows: &[f32], cols: usize, acts: &[&[f32]], out: &mut [f32]) {
    let n = rows.len() / cols.max(1);
    for (r, row) in rows.chunks_exact(cols.max(1)).enumerate() {
        for (t, a) in acts.iter().enumerate() {
            out[t * n + r] = dot(isa, row, a);
        }
    }
}

/// Quantizes activations (see [`crate::quant::quantize_act`]) with the instruction set's
/// vectors.
pub fn quantize_act(isa: Isa, x: &[f32], out: &mut [BlockQ8]) {
    match isa {
        Isa::Generic => crate::quant::quantize_act(x, out),
        // SAFETY: see `dot_q`.
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2 => unsafe { avx2::quantize_act(x, out) },
        // SAFETY: see `dot_q`.
        #[cfg(target_arch = "x86_64")]
        Isa::Avx512 => unsafe { avx512::quantize_act(x, out) },
    }
}

/// Quantizes activations per super-block (see [`crate::quant::quantize_act_k`]) with the
/// instruction set's vectors.
pub fn quantize_act_k(isa: Isa, x: &[f32], out: &mut [BlockQ8K]) {
    match isa {
        // SAFETY: see `dot_q`.
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2 | Isa::Avx512 => unsafe { avx2_k::quantize_act_k(x, out) },
        _ => crate::quant::quantize_act_k(x, out),
    }
}

/// `a · b` over the shorter length.
pub fn dot(isa: Isa, a: &[f32], b: &[f32]) -> f32 {
    match isa {
        Isa::Generic => dot_body(a, b),
        // SAFETY: see `dot_q`.
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2 => unsafe { avx2::dot(a, b) },
        // SAFETY: see `dot_q`.
        #[cfg(target_arch = "x86_64")]
        Isa::Avx512 => unsafe { avx512::dot(a, b) },
    }
}

/// `y += a · x`.
pub fn axpy(isa: Isa, y: &mut [f32], a: f32, x: &[f32]) {
    match isa {
        Isa::Generic => axpy_body(y, a, x),
        // SAFETY: see `dot_q`.
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2 => unsafe { avx2::axpy(y, a, x) },
        // SAFETY: see `dot_q`.
        #[cfg(target_arch = "x86_64")]
        Isa::Avx512 => unsafe { avx512::axpy(y, a, x) },
    }
}

/// Eight lanes, summed in a fixed order: vectorizes under any instruction set.
#[inline(always)]
pub(crate) fn dot_body(a: &[f32], b: &[f32]) -> f32 {
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    let mut acc = [0f32; 8];
    let mut ca = a.chunks_exact(8);
    let mut cb = b.chunks_exact(8);
    for (x, y) in (&mut ca).zip(&mut cb) {
        for i in 0..8 {
            acc[i] += x[i] * y[i];
        }
    }
    let mut tail = 0f32;
    for (x, y) in ca.remainder().iter().zip(cb.remainder()) {
        tail += x * y;
    }
    ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7])) + tail
}

#[inline(always)]
pub(crate) fn axpy_body(y: &mut [f32], a: f32, x: &[f32]) {
    for (y, x) in y.iter_mut().zip(x) {
        *y += a * x;
    }
}

mod generic {
    use super::*;

    fn rd16(b: &[u8], at: usize) -> f32 {
        f16::to_f32(u16::from_le_bytes([b[at], b[at + 1]]))
    }

    /// A `Q4_K` row against one act row: per 32-weight sub-block,
    /// `acc += (d·sc)·a.d·Σq·a − (dmin·m)·a.s`.
    fn q4_k(row: &[u8], act: &[BlockQ8]) -> f32 {
        let mut acc = 0f32;
        for (sb, blk) in row.chunks_exact(144).enumerate() {
            let (d, dmin) = (rd16(blk, 0), rd16(blk, 2));
            for j in 0..8 {
                let (sc, m) = crate::quant::scale_min_k4(j, &blk[4..16]);
                let a = &act[8 * sb + j];
                let shift = 4 * (j % 2);
                let mut s = 0i32;
                for (&q, &y) in blk[16 + 32 * (j / 2)..][..32].iter().zip(&a.qs) {
                    s += ((q >> shift) & 0x0f) as i32 * y as i32;
                }
                let (ds, dm) = (d * sc as f32, dmin * m as f32);
                acc += ds * a.d * s as f32 - dm * a.s;
            }
        }
        acc
    }

    /// A `Q6_K` row against one act row: per 32-weight block, the two 16-weight sums
    /// `Σ(q − 32)·a` times their scales, in integers, then `acc += d·a.d·that`.
    fn q6_k(row: &[u8], act: &[BlockQ8]) -> f32 {
        let mut acc = 0f32;
        for (sb, blk) in row.chunks_exact(210).enumerate() {
            let d = rd16(blk, 208);
            let q = crate::quant::q6_k_values(blk);
            for j in 0..8 {
                let a = &act[8 * sb + j];
                let mut s = [0i32; 2];
                for (i, &y) in a.qs.iter().enumerate() {
                    s[i / 16] += (q[32 * j + i] as i32 - 32) * y as i32;
                }
                let isum =
                    blk[192 + 2 * j] as i8 as i32 * s[0] + blk[192 + 2 * j + 1] as i8 as i32 * s[1];
                acc += d * a.d * isum as f32;
            }
        }
        acc
    }

    /// A `Q4_K` or `Q6_K` row against activations quantized per super-block: per super-block
    /// the exact integer sums `Σ sc·Σq·a` and `Σ m·Σa` (`Q4_K`) or `Σ sc·Σ(q − 32)·a` (`Q6_K`),
    /// then `acc += d·a.d·sum − dmin·a.d·msum`.
    pub(super) fn k_row(qtype: QType, row: &[u8], act: &[BlockQ8K]) -> f32 {
        let mut acc = 0f32;
        for (blk, a) in row.chunks_exact(qtype.block_bytes()).zip(act) {
            if qtype == QType::Q4_K {
                let (mut sum, mut msum) = (0i32, 0i32);
                for j in 0..8 {
                    let (sc, m) = crate::quant::scale_min_k4(j, &blk[4..16]);
                    let shift = 4 * (j % 2);
                    let mut s = 0i32;
                    for (&q, &y) in blk[16 + 32 * (j / 2)..][..32].iter().zip(&a.qs[32 * j..]) {
                        s += ((q >> shift) & 0x0f) as i32 * y as i32;
                    }
                    sum += sc as i32 * s;
                    msum += m as i32 * (a.bsums[2 * j] as i32 + a.bsums[2 * j + 1] as i32);
                }
                acc += rd16(blk, 0) * a.d * sum as f32 - rd16(blk, 2) * a.d * msum as f32;
            } else {
                let q = crate::quant::q6_k_values(blk);
                let mut sum = 0i32;
                let pieces = q.chunks_exact(16).zip(a.qs.chunks_exact(16));
                for (k, (qk, ak)) in pieces.enumerate() {
                    let s: i32 = qk
                        .iter()
                        .zip(ak)
                        .map(|(&w, &y)| (w as i32 - 32) * y as i32)
                        .sum();
                    sum += blk[192 + k] as i8 as i32 * s;
                }
                acc += rd16(blk, 208) * a.d * sum as f32;
            }
        }
        acc
    }

    pub(super) fn dot_q(qtype: QType, row: &[u8], acts: &[&[BlockQ8]], out: &mut [f32]) {
        if matches!(qtype, QType::Q4_K | QType::Q6_K) {
            for (t, act) in acts.iter().enumerate() {
                out[t] = if qtype == QType::Q4_K {
                    q4_k(row, act)
                } else {
                    q6_k(row, act)
                };
            }
            return;
        }
        let bb = qtype.block_bytes();
        for (t, act) in acts.iter().enumerate() {
            let mut acc = 0f32;
            for (b, blk) in row.chunks_exact(bb).enumerate() {
                let a = &act[b];
                match qtype {
                    QType::Q4_0 | QType::Q4_1 => {
                        let off = if qtype == QType::Q4_1 { 4 } else { 2 };
                        let qs = &blk[off..off + 16];
                        let mut s = 0i32;
                        for (j, &q) in qs.iter().enumerate() {
                            s += (q & 0x0f) as i32 * a.qs[j] as i32
                                + (q >> 4) as i32 * a.qs[j + 16] as i32;
                        }
                        let d = rd16(blk, 0);
                        if qtype == QType::Q4_1 {
                            acc += d * a.d * s as f32 + rd16(blk, 2) * a.s;
                        } else {
                            let sum_q: i32 = a.qs.iter().map(|&q| q as i32).sum();
                            acc += d * a.d * (s - 8 * sum_q) as f32;
                        }
                    }
                    QType::Q8_0 => {
                        let mut s = 0i32;
                        for j in 0..QK {
                            s += blk[2 + j] as i8 as i32 * a.qs[j] as i32;
                        }
                        acc += rd16(blk, 0) * a.d * s as f32;
                    }
                    QType::F32 | QType::Q4_K | QType::Q6_K => {
                        unreachable!("f32 rows use dot_f32_rows; K-quants are above")
                    }
                }
            }
            out[t] = acc;
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use super::*;
    use std::arch::x86_64::*;

    /// The sum of the eight lanes.
    #[inline(always)]
    pub(super) unsafe fn hsum(v: __m256) -> f32 {
        let s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
        let s = _mm_add_ps(s, _mm_movehl_ps(s, s));
        let s = _mm_add_ss(s, _mm_movehdup_ps(s));
        _mm_cvtss_f32(s)
    }

    /// The f16 at `p` as f32.
    #[inline(always)]
    pub(super) unsafe fn half(p: *const u8) -> f32 {
        let h = u16::from_le_bytes([*p, *p.add(1)]);
        _mm_cvtss_f32(_mm_cvtph_ps(_mm_cvtsi32_si128(h as i32)))
    }

    /// The larger of `m` and the absolute values of `x`; a NaN in `x` keeps `m` (`vmaxps`
    /// returns its second operand then), as the portable `if a > m`.
    #[inline(always)]
    pub(super) unsafe fn max_abs(x: __m256, m: __m256) -> __m256 {
        let abs = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fff_ffff));
        _mm256_max_ps(_mm256_and_ps(x, abs), m)
    }

    /// The largest of the eight lanes (none NaN).
    #[inline(always)]
    pub(super) unsafe fn hmax(m: __m256) -> f32 {
        let m = _mm_max_ps(_mm256_castps256_ps128(m), _mm256_extractf128_ps(m, 1));
        let m = _mm_max_ps(m, _mm_movehl_ps(m, m));
        _mm_cvtss_f32(_mm_max_ss(m, _mm_movehdup_ps(m)))
    }

    /// `round(x·id)` as i32, halves away from zero, as the portable quantizer: `|y| + 0.5`
    /// truncated (NaN gives 0, as Rust's `as i32`, through `max(·, 0)`), then the sign of `y`
    /// (`vpsignd` by y's bits: negative floats have the sign bit; ±0 gives 0 either way).
    #[inline(always)]
    pub(super) unsafe fn round_scaled(x: __m256, id: __m256) -> __m256i {
        let abs = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fff_ffff));
        let y = _mm256_mul_ps(x, id);
        let a = _mm256_add_ps(_mm256_and_ps(y, abs), _mm256_set1_ps(0.5));
        let r = _mm256_cvttps_epi32(_mm256_max_ps(a, _mm256_setzero_ps()));
        _mm256_sign_epi32(r, _mm256_castps_si256(y))
    }

    /// The sum of the eight i32 lanes.
    #[inline(always)]
    pub(super) unsafe fn hsum_i32(v: __m256i) -> i32 {
        let s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
        let s = _mm_add_epi32(s, _mm_shuffle_epi32::<0b01_00_11_10>(s));
        let s = _mm_add_epi32(s, _mm_shuffle_epi32::<0b10_11_00_01>(s));
        _mm_cvtsi128_si32(s)
    }

    /// Four vectors of eight i32 in -127..=127 as 32 bytes, in order.
    #[inline(always)]
    pub(super) unsafe fn pack_bytes(r: [__m256i; 4]) -> __m256i {
        // packs works within 128-bit lanes: the dwords come out as r0a r1a r2a r3a r0b … .
        let b = _mm256_packs_epi16(
            _mm256_packs_epi32(r[0], r[1]),
            _mm256_packs_epi32(r[2], r[3]),
        );
        _mm256_permutevar8x32_epi32(b, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7))
    }

    /// [`crate::quant::quantize_act`] with AVX2 vectors, bit for bit.
    #[target_feature(enable = "avx2,fma,f16c")]
    pub(super) unsafe fn quantize_act(x: &[f32], out: &mut [BlockQ8]) {
        for (xb, o) in x.chunks_exact(QK).zip(out.iter_mut()) {
            let v: [__m256; 4] = std::array::from_fn(|i| _mm256_loadu_ps(xb.as_ptr().add(8 * i)));
            let m = v.iter().fold(_mm256_setzero_ps(), |m, &x| max_abs(x, m));
            let d = hmax(m) / 127.0;
            let id = _mm256_set1_ps(if d != 0.0 { 1.0 / d } else { 0.0 });
            let r: [__m256i; 4] = std::array::from_fn(|i| round_scaled(v[i], id));
            _mm256_storeu_si256(o.qs.as_mut_ptr() as *mut __m256i, pack_bytes(r));
            let lo = hsum_i32(_mm256_add_epi32(r[0], r[1]));
            let sum = lo + hsum_i32(_mm256_add_epi32(r[2], r[3]));
            o.d = d;
            o.s = d * sum as f32;
            o.sum = sum;
            o.lo = lo;
        }
    }

    #[target_feature(enable = "avx2,fma,f16c")]
    pub(super) unsafe fn dot(a: &[f32], b: &[f32]) -> f32 {
        dot_body(a, b)
    }

    #[target_feature(enable = "avx2,fma,f16c")]
    pub(super) unsafe fn axpy(y: &mut [f32], a: f32, x: &[f32]) {
        axpy_body(y, a, x)
    }
}

#[cfg(target_arch = "x86_64")]
mod avx512 {
    use super::*;
    use crate::packed::{block_bytes, GROUP};
    use std::arch::x86_64::*;

    /// Bytes ahead of the packed block in use that the kernels ask the cache for.
    const PREFETCH: usize = 1024;

    /// The 16 f16 values at `p` as f32.
    #[inline(always)]
    unsafe fn halves(p: *const u8) -> __m512 {
        _mm512_cvtph_ps(_mm256_loadu_si256(p as *const __m256i))
    }

    /// Σ over one block of `w[i]` (16 lanes × 4 unsigned bytes) times the activation's bytes
    /// `4i..4i + 4` broadcast, on top of `init`: 16 exact i32 sums, one a row.
    #[inline(always)]
    unsafe fn block_sums(w: &[__m512i; 8], y: *const i32, init: __m512i) -> __m512i {
        let mut s = init;
        for (i, wi) in w.iter().enumerate() {
            s = _mm512_dpbusd_epi32(s, *wi, _mm512_set1_epi32(y.add(i).read_unaligned()));
        }
        s
    }

    /// One group of 16 rows (`g`, `nb` packed blocks) against T act rows of `Q4_0` (`MIN` =
    /// false) or `Q4_1` (`MIN` = true); lane r of row t goes to `out[t·stride + r]` when bit r
    /// of `keep` is set. Per row and block: `acc += d·a.d·(Σq·a − 8Σa)` (`Q4_0`) or
    /// `acc += d·a.d·Σq·a + m·a.s` (`Q4_1`), as the portable kernel computes it.
    #[inline(always)]
    unsafe fn group_q4<const T: usize, const MIN: bool>(
        g: *const u8,
        nb: usize,
        ap: &[*const BlockQ8; T],
        out: *mut f32,
        stride: usize,
        keep: __mmask16,
    ) {
        let pbb = if MIN { 64 + 256 } else { 32 + 256 };
        let qa = if MIN { 64 } else { 32 };
        let low = _mm512_set1_epi8(0x0f);
        let mut acc = [_mm512_setzero_ps(); T];
        for b in 0..nb {
            let blk = g.add(b * pbb);
            _mm_prefetch::<_MM_HINT_T0>(blk.add(PREFETCH) as *const i8);
            _mm_prefetch::<_MM_HINT_T0>(blk.add(PREFETCH + 64) as *const i8);
            _mm_prefetch::<_MM_HINT_T0>(blk.add(PREFETCH + 128) as *const i8);
            _mm_prefetch::<_MM_HINT_T0>(blk.add(PREFETCH + 192) as *const i8);
            _mm_prefetch::<_MM_HINT_T0>(blk.add(PREFETCH + 256) as *const i8);
            let d = halves(blk);
            let mut w = [_mm512_setzero_si512(); 8];
            for i in 0..4 {
                let v = _mm512_loadu_si512(blk.add(qa + 64 * i) as *const __m512i);
                w[i] = _mm512_and_si512(v, low);
                w[i + 4] = _mm512_and_si512(_mm512_srli_epi16::<4>(v), low);
            }
            if MIN {
                let m = halves(blk.add(32));
                for t in 0..T {
                    let a = &*ap[t].add(b);
                    let s = block_sums(&w, a.qs.as_ptr() as *const i32, _mm512_setzero_si512());
                    let p =
                        _mm512_mul_ps(_mm512_mul_ps(d, _mm512_set1_ps(a.d)), _mm512_cvtepi32_ps(s));
                    let p = _mm512_add_ps(p, _mm512_mul_ps(m, _mm512_set1_ps(a.s)));
                    acc[t] = _mm512_add_ps(acc[t], p);
                }
            } else {
                for t in 0..T {
                    let a = &*ap[t].add(b);
                    let init = _mm512_set1_epi32(-8 * a.sum);
                    let s = block_sums(&w, a.qs.as_ptr() as *const i32, init);
                    let p =
                        _mm512_mul_ps(_mm512_mul_ps(d, _mm512_set1_ps(a.d)), _mm512_cvtepi32_ps(s));
                    acc[t] = _mm512_add_ps(acc[t], p);
                }
            }
        }
        for (t, v) in acc.iter().enumerate() {
            _mm512_mask_storeu_ps(out.add(t * stride), keep, *v);
        }
    }

    /// As [`group_q4`] for `Q8_0` (weights stored plus 128): `acc += d·a.d·(Σ(w+128)·a − 128Σa)`.
    #[inline(always)]
    unsafe fn group_q8<const T: usize>(
        g: *const u8,
        nb: usize,
        ap: &[*const BlockQ8; T],
        out: *mut f32,
        stride: usize,
        keep: __mmask16,
    ) {
        let pbb = 32 + 512;
        let mut acc = [_mm512_setzero_ps(); T];
        for b in 0..nb {
            let blk = g.add(b * pbb);
            for k in 0..9 {
                _mm_prefetch::<_MM_HINT_T0>(blk.add(PREFETCH + 64 * k) as *const i8);
            }
            let d = halves(blk);
            let mut w = [_mm512_setzero_si512(); 8];
            for (c, wc) in w.iter_mut().enumerate() {
                *wc = _mm512_loadu_si512(blk.add(32 + 64 * c) as *const __m512i);
            }
            for t in 0..T {
                let a = &*ap[t].add(b);
                let init = _mm512_set1_epi32(-128 * a.sum);
                let s = block_sums(&w, a.qs.as_ptr() as *const i32, init);
                let p = _mm512_mul_ps(_mm512_mul_ps(d, _mm512_set1_ps(a.d)), _mm512_cvtepi32_ps(s));
                acc[t] = _mm512_add_ps(acc[t], p);
            }
        }
        for (t, v) in acc.iter().enumerate() {
            _mm512_mask_storeu_ps(out.add(t * stride), keep, *v);
        }
    }

    /// One group of 16 rows of `Q4_K` (`nsb` packed super-blocks) against T act rows; per row and
    /// 32-weight sub-block `acc += (d·sc)·a.d·Σq·a − (dmin·m)·a.s`, as the portable kernel.
    #[inline(always)]
    unsafe fn group_q4_k<const T: usize>(
        g: *const u8,
        nsb: usize,
        ap: &[*const BlockQ8; T],
        out: *mut f32,
        stride: usize,
        keep: __mmask16,
    ) {
        let low = _mm512_set1_epi8(0x0f);
        let (m6, m4, m30) = (_mm_set1_epi8(63), _mm_set1_epi8(0x0f), _mm_set1_epi8(0x30));
        let mut acc = [_mm512_setzero_ps(); T];
        for sb in 0..nsb {
            let blk = g.add(sb * block_bytes(QType::Q4_K));
            let (d, dmin) = (halves(blk), halves(blk.add(32)));
            // The 12 scale bytes of the 16 rows, byte k of each row in run k.
            let s: [__m128i; 12] =
                std::array::from_fn(|k| _mm_loadu_si128(blk.add(64 + 16 * k) as *const __m128i));
            // llama.cpp's get_scale_min_k4, 16 rows at a time (16-bit shifts: bits that cross
            // into a neighbouring byte are masked off).
            let hi2 = |v: __m128i| _mm_and_si128(_mm_srli_epi16(v, 2), m30);
            let sc: [__m128i; 8] = std::array::from_fn(|j| {
                if j < 4 {
                    _mm_and_si128(s[j], m6)
                } else {
                    _mm_or_si128(_mm_and_si128(s[j + 4], m4), hi2(s[j - 4]))
                }
            });
            let mn: [__m128i; 8] = std::array::from_fn(|j| {
                if j < 4 {
                    _mm_and_si128(s[j + 4], m6)
                } else {
                    _mm_or_si128(_mm_and_si128(_mm_srli_epi16(s[j + 4], 4), m4), hi2(s[j]))
                }
            });
            for c in 0..4 {
                let q = blk.add(256 + 512 * c);
                for k in 0..8 {
                    _mm_prefetch::<_MM_HINT_T0>(q.add(PREFETCH + 64 * k) as *const i8);
                }
                for h in 0..2 {
                    let j = 2 * c + h;
                    let w: [__m512i; 8] = std::array::from_fn(|i| {
                        let v = _mm512_loadu_si512(q.add(64 * i) as *const __m512i);
                        if h == 0 {
                            _mm512_and_si512(v, low)
                        } else {
                            _mm512_and_si512(_mm512_srli_epi16::<4>(v), low)
                        }
                    });
                    let ds = _mm512_mul_ps(d, _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(sc[j])));
                    let dm = _mm512_mul_ps(dmin, _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(mn[j])));
                    for t in 0..T {
                        let a = &*ap[t].add(8 * sb + j);
                        let s = block_sums(&w, a.qs.as_ptr() as *const i32, _mm512_setzero_si512());
                        let p = _mm512_mul_ps(
                            _mm512_mul_ps(ds, _mm512_set1_ps(a.d)),
                            _mm512_cvtepi32_ps(s),
                        );
                        let p = _mm512_sub_ps(p, _mm512_mul_ps(dm, _mm512_set1_ps(a.s)));
                        acc[t] = _mm512_add_ps(acc[t], p);
                    }
                }
            }
        }
        for (t, v) in acc.iter().enumerate() {
            _mm512_mask_storeu_ps(out.add(t * stride), keep, *v);
        }
    }

    /// One group of 16 rows of `Q6_K` (`nsb` packed super-blocks) against T act rows; per row
    /// and 32-weight block the two 16-weight sums `Σ(q − 32)·a` (their `−32Σa` the start of the
    /// `vpdpbusd` chain) times their scales, then `acc += d·a.d·that`, as the portable kernel.
    #[inline(always)]
    unsafe fn group_q6_k<const T: usize>(
        g: *const u8,
        nsb: usize,
        ap: &[*const BlockQ8; T],
        out: *mut f32,
        stride: usize,
        keep: __mmask16,
    ) {
        let (m4, m30) = (_mm512_set1_epi8(0x0f), _mm512_set1_epi8(0x30));
        let mut acc = [_mm512_setzero_ps(); T];
        for sb in 0..nsb {
            let blk = g.add(sb * block_bytes(QType::Q6_K));
            let d = halves(blk);
            for j in 0..8 {
                let v = blk.add(32 + 256 + 384 * j);
                for k in 0..6 {
                    _mm_prefetch::<_MM_HINT_T0>(v.add(PREFETCH + 64 * k) as *const i8);
                }
                let scale = |k: usize| {
                    _mm512_cvtepi8_epi32(_mm_loadu_si128(blk.add(32 + 16 * k) as *const __m128i))
                };
                let (sc_lo, sc_hi) = (scale(2 * j), scale(2 * j + 1));
                let h0 = _mm512_loadu_si512(v.add(256) as *const __m512i);
                let h1 = _mm512_loadu_si512(v.add(320) as *const __m512i);
                // Bits 2i..2i + 2 of each byte moved to bits 4..6 (16-bit shifts: what crosses
                // into a neighbouring byte is masked off).
                let top = |h: __m512i, i: usize| {
                    let s = match i {
                        0 => _mm512_slli_epi16::<4>(h),
                        1 => _mm512_slli_epi16::<2>(h),
                        2 => h,
                        _ => _mm512_srli_epi16::<2>(h),
                    };
                    _mm512_and_si512(s, m30)
                };
                let mut w = [_mm512_setzero_si512(); 8];
                for i in 0..4 {
                    let l = _mm512_loadu_si512(v.add(64 * i) as *const __m512i);
                    w[i] = _mm512_or_si512(_mm512_and_si512(l, m4), top(h0, i));
                    w[i + 4] = _mm512_or_si512(
                        _mm512_and_si512(_mm512_srli_epi16::<4>(l), m4),
                        top(h1, i),
                    );
                }
                for t in 0..T {
                    let a = &*ap[t].add(8 * sb + j);
                    let y = a.qs.as_ptr() as *const i32;
                    let mut lo = _mm512_set1_epi32(-32 * a.lo);
                    let mut hi = _mm512_set1_epi32(-32 * (a.sum - a.lo));
                    for i in 0..4 {
                        lo = _mm512_dpbusd_epi32(
                            lo,
                            w[i],
                            _mm512_set1_epi32(y.add(i).read_unaligned()),
                        );
                        hi = _mm512_dpbusd_epi32(
                            hi,
                            w[i + 4],
                            _mm512_set1_epi32(y.add(4 + i).read_unaligned()),
                        );
                    }
                    let s = _mm512_add_epi32(
                        _mm512_mullo_epi32(sc_lo, lo),
                        _mm512_mullo_epi32(sc_hi, hi),
                    );
                    let p =
                        _mm512_mul_ps(_mm512_mul_ps(d, _mm512_set1_ps(a.d)), _mm512_cvtepi32_ps(s));
                    acc[t] = _mm512_add_ps(acc[t], p);
                }
            }
        }
        for (t, v) in acc.iter().enumerate() {
            _mm512_mask_storeu_ps(out.add(t * stride), keep, *v);
        }
    }

    /// Every group of the call against T act rows.
    #[inline(always)]
    unsafe fn groups<const T: usize>(
        qtype: QType,
        p: *const u8,
        nb: usize,
        rows: usize,
        acts: &[&[BlockQ8]],
        out: *mut f32,
    ) {
        let gb = crate::packed::group_bytes(qtype, nb * QK);
        let ap = act_ptrs::<T>(acts);
        for gi in 0..rows.div_ceil(GROUP) {
            let valid = (rows - gi * GROUP).min(GROUP);
            let keep: __mmask16 = if valid == GROUP {
                0xffff
            } else {
                (1u16 << valid) - 1
            };
            let (g, o) = (p.add(gi * gb), out.add(gi * GROUP));
            match qtype {
                QType::Q4_0 => group_q4::<T, false>(g, nb, &ap, o, rows, keep),
                QType::Q4_1 => group_q4::<T, true>(g, nb, &ap, o, rows, keep),
                QType::Q8_0 => group_q8::<T>(g, nb, &ap, o, rows, keep),
                QType::Q4_K => group_q4_k::<T>(g, nb / 8, &ap, o, rows, keep),
                QType::Q6_K => group_q6_k::<T>(g, nb / 8, &ap, o, rows, keep),
                QType::F32 => {}
            }
        }
    }

    #[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vnni,avx2,fma,f16c")]
    pub(super) unsafe fn dot_packed(
        qtype: QType,
        p: *const u8,
        nb: usize,
        rows: usize,
        acts: &[&[BlockQ8]],
        out: *mut f32,
    ) {
        by_tile!(acts.len(), groups(qtype, p, nb, rows, acts, out))
    }

    /// [`crate::quant::quantize_act`] with 512-bit vectors, bit for bit: the same maximum
    /// (NaN lanes ignored, as there), scale, products and rounding (|y| + ½ truncated, NaN to
    /// 0), 16 values at a time.
    #[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vnni,avx2,fma,f16c")]
    pub(super) unsafe fn quantize_act(x: &[f32], out: &mut [BlockQ8]) {
        let zero = _mm512_setzero_ps();
        let half = _mm512_set1_ps(0.5);
        for (xb, o) in x.chunks_exact(QK).zip(out.iter_mut()) {
            let x0 = _mm512_loadu_ps(xb.as_ptr());
            let x1 = _mm512_loadu_ps(xb.as_ptr().add(16));
            // max(a, m) keeps m where a is NaN, as the portable `if a > m`.
            let m = _mm512_max_ps(_mm512_abs_ps(x0), zero);
            let m = _mm512_max_ps(_mm512_abs_ps(x1), m);
            let amax = _mm512_reduce_max_ps(m);
            let d = amax / 127.0;
            let id = _mm512_set1_ps(if d != 0.0 { 1.0 / d } else { 0.0 });
            let mut sums = [0i32; 2];
            for (k, xv) in [x0, x1].into_iter().enumerate() {
                let y = _mm512_mul_ps(xv, id);
                // max(v, 0) turns NaN into 0, as Rust's saturating `as i32`.
                let r =
                    _mm512_cvttps_epi32(_mm512_max_ps(_mm512_add_ps(_mm512_abs_ps(y), half), zero));
                let neg = _mm512_cmp_ps_mask::<_CMP_LT_OQ>(y, zero);
                let r = _mm512_mask_sub_epi32(r, neg, _mm512_setzero_si512(), r);
                sums[k] = _mm512_reduce_add_epi32(r);
                _mm_storeu_si128(
                    o.qs.as_mut_ptr().add(16 * k) as *mut __m128i,
                    _mm512_cvtepi32_epi8(r),
                );
            }
            let sum = sums[0] + sums[1];
            o.d = d;
            o.s = d * sum as f32;
            o.sum = sum;
            o.lo = sums[0];
        }
    }

    #[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vnni,avx2,fma,f16c")]
    pub(super) unsafe fn dot(a: &[f32], b: &[f32]) -> f32 {
        dot_body(a, b)
    }

    #[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vnni,avx2,fma,f16c")]
    pub(super) unsafe fn axpy(y: &mut [f32], a: f32, x: &[f32]) {
        axpy_body(y, a, x)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::quant::{dequantize_row, quantize_act, quantize_q8_0, QK_K};

    fn rng(seed: u64) -> impl FnMut() -> f32 {
        let mut s = seed;
        move || {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            ((s >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
        }
    }

    fn random_row(qtype: QType, cols: usize, seed: u64) -> Vec<u8> {
        let mut r = rng(seed);
        let f: Vec<f32> = (0..cols).map(|_| r()).collect();
        match qtype {
            QType::Q8_0 => quantize_q8_0(&f),
            QType::Q4_0 | QType::Q4_1 => {
                // Random nibbles and scales.
                let mut out = Vec::new();
                for _ in 0..cols / QK {
                    out.extend_from_slice(&f16::from_f32(r() * 0.1).to_le_bytes());
                    if qtype == QType::Q4_1 {
                        out.extend_from_slice(&f16::from_f32(r() * 0.5).to_le_bytes());
                    }
                    for _ in 0..16 {
                        out.push(((r() + 1.0) * 127.9) as u8);
                    }
                }
                out
            }
            QType::Q4_K | QType::Q6_K => {
                crate::quant::random_k_blocks(qtype, cols / QK_K, 0.01, &mut r)
            }
            QType::F32 => unreachable!(),
        }
    }

    /// The portable kernel for every format against the dequantized row: the integer part is
    /// exact, so the results differ from an f64 reference only by the activation quantization
    /// and f32 rounding. (The vector levels' kernels meet the same reference through
    /// `packed_kernels_match_…` and `k_quant_kernels_on_q8k_…`.)
    #[test]
    fn kernels_match_dequantized_reference_for_every_tile_size() {
        for qtype in crate::quant::BLOCK_FORMATS {
            let cols = 4 * QK.max(qtype.block_len());
            let row = random_row(qtype, cols, 7);
            let mut w = vec![0f32; cols];
            dequantize_row(qtype, &row, &mut w);
            let mut r = rng(99);
            let xs: Vec<Vec<f32>> = (0..TILE)
                .map(|_| (0..cols).map(|_| r()).collect())
                .collect();
            let qs: Vec<Vec<BlockQ8>> = xs
                .iter()
                .map(|x| {
                    let mut b = vec![BlockQ8::default(); cols / QK];
                    quantize_act(x, &mut b);
                    b
                })
                .collect();
            for n in 1..=TILE {
                let acts: Vec<&[BlockQ8]> = qs[..n].iter().map(|v| v.as_slice()).collect();
                let mut out = vec![0f32; n];
                dot_q(qtype, &row, &acts, &mut out);
                // Two copies of the row: the second row's results follow the first's.
                let two = [row.clone(), row.clone()].concat();
                let mut out2 = vec![0f32; 2 * n];
                dot_q(qtype, &two, &acts, &mut out2);
                for t in 0..n {
                    assert_eq!(out2[2 * t].to_bits(), out[t].to_bits());
                    assert_eq!(out2[2 * t + 1].to_bits(), out[t].to_bits());
                }
                for t in 0..n {
                    // Reference with the quantized activations, in f64.
                    let mut want = 0f64;
                    for (b, blk) in qs[t].iter().enumerate() {
                        for j in 0..QK {
                            want += w[b * QK + j] as f64 * (blk.qs[j] as f64 * blk.d as f64);
                        }
                    }
                    assert!(
                        (out[t] as f64 - want).abs() <= 1e-4 * (1.0 + want.abs()),
                        "{qtype:?} tile {n} row {t}: {} vs {want}",
                        out[t]
                    );
                }
                // Same row, alone: bit-identical to its result inside the tile.
                for t in 0..n {
                    let mut one = [0f32];
                    dot_q(qtype, &row, &acts[t..t + 1], &mut one);
                    assert_eq!(one[0].to_bits(), out[t].to_bits());
                }
            }
        }
    }

    /// The K-quant kernels against activations quantized per super-block, at every level
    /// (the portable loop and, where the CPU has it, AVX2): against an f64 reference on the
    /// dequantized rows and activations, and bit-identical whatever the tile and the other rows.
    #[test]
    fn k_quant_kernels_on_q8k_activations_match_the_reference_for_every_tile_size() {
        for qtype in [QType::Q4_K, QType::Q6_K] {
            let (rows, cols) = (3, 3 * QK_K);
            let plain: Vec<u8> = (0..rows)
                .flat_map(|r| random_row(qtype, cols, 31 + r as u64))
                .collect();
            let rb = qtype.row_bytes(cols);
            let mut r = rng(17);
            let ks: Vec<Vec<BlockQ8K>> = (0..TILE)
                .map(|t| {
                    // Mixed magnitudes and signs, so the minimums' and offsets' sums matter.
                    let x: Vec<f32> = (0..cols).map(|_| r() * (1 + t) as f32 + 0.4).collect();
                    let mut b = vec![BlockQ8K::default(); cols / QK_K];
                    crate::quant::quantize_act_k(&x, &mut b);
                    b
                })
                .collect();
            for isa in Isa::supported() {
                for n in 1..=TILE {
                    let acts: Vec<&[BlockQ8K]> = ks[..n].iter().map(|v| v.as_slice()).collect();
                    let mut out = vec![f32::NAN; rows * n];
                    dot_k(isa, qtype, &plain, &acts, &mut out);
                    for row in 0..rows {
                        let mut w = vec![0f32; cols];
                        dequantize_row(qtype, &plain[row * rb..(row + 1) * rb], &mut w);
                        for t in 0..n {
                            let mut e = 0f64;
                            for (b, blk) in ks[t].iter().enumerate() {
                                for j in 0..QK_K {
                                    e += w[b * QK_K + j] as f64 * blk.qs[j] as f64 * blk.d as f64;
                                }
                            }
                            let g = out[t * rows + row] as f64;
                            assert!(
                                (g - e).abs() <= 1e-4 * (1.0 + e.abs()),
                                "{qtype:?} {isa:?} tile {n} row {row} act {t}: {g} vs {e}"
                            );
                            // The same row and act alone: the same bits.
                            let mut one = [f32::NAN];
                            dot_k(
                                isa,
                                qtype,
                                &plain[row * rb..(row + 1) * rb],
                                &acts[t..t + 1],
                                &mut one,
                            );
                            let got = out[t * rows + row];
                            assert_eq!(one[0].to_bits(), got.to_bits(), "{qtype:?} {isa:?}");
                        }
                    }
                }
            }
        }
    }

    /// The AVX-512 kernels run here whenever the CPU has the features, and the selection says
    /// which level runs: no check below is skipped silently on a machine that has them.
    #[test]
    fn the_widest_level_the_cpu_has_is_detected() {
        let best = Isa::best();
        #[cfg(target_arch = "x86_64")]
        {
            let has512 = ["avx512f", "avx512bw", "avx512vl", "avx512vnni"]
                .iter()
                .all(|f| feature(f));
            let has2 = is_x86_feature_detected!("avx2")
                && is_x86_feature_detected!("fma")
                && is_x86_feature_detected!("f16c");
            let want = if has2 && has512 {
                Isa::Avx512
            } else if has2 {
                Isa::Avx2
            } else {
                Isa::Generic
            };
            assert_eq!(best, want);
            if best < Isa::Avx512 {
                eprintln!("this CPU lacks AVX-512 VNNI: the AVX-512 kernel checks run as {best:?}");
            }
        }
        assert_eq!(Isa::supported().last(), Some(&best));
    }

    /// `is_x86_feature_detected!` wants a literal; this spells the four out.
    #[cfg(target_arch = "x86_64")]
    fn feature(f: &str) -> bool {
        match f {
            "avx512f" => is_x86_feature_detected!("avx512f"),
            "avx512bw" => is_x86_feature_detected!("avx512bw"),
            "avx512vl" => is_x86_feature_detected!("avx512vl"),
            "avx512vnni" => is_x86_feature_detected!("avx512vnni"),
            _ => false,
        }
    }

    #[test]
    fn a_forced_level_is_capped_at_what_the_cpu_runs() {
        let best = Isa::best();
        assert_eq!(Isa::choose(None), best);
        assert_eq!(Isa::choose(Some("no-such-isa")), best);
        assert_eq!(Isa::choose(Some("generic")), Isa::Generic);
        for isa in Isa::all() {
            assert_eq!(Isa::from_name(isa.name()), Some(isa));
            assert_eq!(Isa::choose(Some(isa.name())), isa.min(best));
        }
        #[cfg(target_arch = "x86_64")]
        assert_eq!(Isa::choose(Some(" AVX2 ")), Isa::Avx2.min(best));
    }

    /// The packed kernels (AVX-512 VNNI where the CPU has it) against the portable kernel on the
    /// same rows, bit for bit, and against the dequantized reference, for every tile size and
    /// row counts that leave a partial group.
    #[test]
    fn packed_kernels_match_the_portable_kernel_bit_for_bit_for_every_tile_size() {
        // Every level this CPU runs: a level that does not pack a format still multiplies
        // packed rows (unpacked for the portable kernel), with the same bits.
        let levels = Isa::supported();
        for qtype in crate::quant::BLOCK_FORMATS {
            let cols = if qtype.block_len() == QK {
                5 * QK
            } else {
                2 * QK_K
            };
            for rows in [1, 7, 16, 17, 40] {
                let plain: Vec<u8> = (0..rows)
                    .flat_map(|r| random_row(qtype, cols, 11 + r as u64))
                    .collect();
                let p = packed::pack(qtype, rows, cols, &plain);
                let mut r = rng(5 + rows as u64);
                let qs: Vec<Vec<BlockQ8>> = (0..TILE)
                    .map(|_| {
                        // Activations of mixed magnitude, so Σa is far from zero too.
                        let x: Vec<f32> = (0..cols).map(|_| r() * 3.0 + 0.7).collect();
                        let mut b = vec![BlockQ8::default(); cols / QK];
                        quantize_act(&x, &mut b);
                        b
                    })
                    .collect();
                let rb = qtype.row_bytes(cols);
                for n in 1..=TILE {
                    let acts: Vec<&[BlockQ8]> = qs[..n].iter().map(|v| v.as_slice()).collect();
                    let mut want = vec![0f32; rows * n];
                    dot_q(qtype, &plain, &acts, &mut want);
                    for &isa in &levels {
                        let mut got = vec![f32::NAN; rows * n];
                        dot_packed(isa, qtype, &p, rows, &acts, &mut got);
                        for (i, (g, w)) in got.iter().zip(&want).enumerate() {
                            assert_eq!(
                                g.to_bits(),
                                w.to_bits(),
                                "{qtype:?} {isa:?} rows {rows} tile {n} at {i}: {g} vs {w}"
                            );
                        }
                    }
                    // The portable kernel itself against the dequantized rows, in f64.
                    for row in 0..rows {
                        let mut w = vec![0f32; cols];
                        dequantize_row(qtype, &plain[row * rb..(row + 1) * rb], &mut w);
                        for t in 0..n {
                            let mut e = 0f64;
                            for (b, blk) in qs[t].iter().enumerate() {
                                for j in 0..QK {
                                    e += w[b * QK + j] as f64 * (blk.qs[j] as f64 * blk.d as f64);
                                }
                            }
                            let g = want[t * rows + row] as f64;
                            assert!((g - e).abs() <= 1e-4 * (1.0 + e.abs()), "{g} vs {e}");
                        }
                    }
                }
            }
        }
    }

    /// Every level's activation quantizer gives the portable one's bits, on ordinary values,
    /// ties, zeros, huge values and NaN.
    #[test]
    fn activation_quantizers_agree_bit_for_bit() {
        let mut r = rng(3);
        let mut x: Vec<f32> = (0..QK * 40).map(|i| r() * (1 + i % 7) as f32).collect();
        for (i, v) in x[..QK].iter_mut().enumerate() {
            *v = i as f32 - 15.5; // halves: ties round away from zero
        }
        x[QK..2 * QK].fill(0.0);
        x[2 * QK + 3] = f32::NAN;
        x[3 * QK + 1] = 3.0e38;
        x[4 * QK + 5] = f32::INFINITY;
        x[5 * QK + 9] = -1e-30;
        let mut want = vec![BlockQ8::default(); 40];
        crate::quant::quantize_act(&x, &mut want);
        for isa in Isa::supported() {
            let mut got = vec![BlockQ8::default(); 40];
            super::quantize_act(isa, &x, &mut got);
            for (b, (g, w)) in got.iter().zip(&want).enumerate() {
                assert_eq!(g.qs, w.qs, "{isa:?} block {b}");
                assert_eq!(g.d.to_bits(), w.d.to_bits(), "{isa:?} block {b}");
                assert_eq!(g.s.to_bits(), w.s.to_bits(), "{isa:?} block {b}");
                assert_eq!(g.sum, w.sum, "{isa:?} block {b}");
                assert_eq!(g.lo, w.lo, "{isa:?} block {b}");
            }
        }
    }

    /// The same for activations quantized per super-block.
    #[test]
    fn super_block_activation_quantizers_agree_bit_for_bit() {
        let mut r = rng(4);
        let mut x: Vec<f32> = (0..QK_K * 6).map(|i| r() * (1 + i % 5) as f32).collect();
        for (i, v) in x[..QK_K].iter_mut().enumerate() {
            *v = (i % 64) as f32 - 31.5; // ties at a scale of exactly 1/4
        }
        x[QK_K..2 * QK_K].fill(0.0);
        x[2 * QK_K + 3] = f32::NAN;
        x[3 * QK_K + 1] = 3.0e38;
        x[4 * QK_K + 5] = f32::INFINITY;
        x[5 * QK_K + 9] = -1e-30;
        let mut want = vec![BlockQ8K::default(); 6];
        crate::quant::quantize_act_k(&x, &mut want);
        for isa in Isa::supported() {
            let mut got = vec![BlockQ8K::default(); 6];
            super::quantize_act_k(isa, &x, &mut got);
            for (b, (g, w)) in got.iter().zip(&want).enumerate() {
                assert_eq!(g.qs, w.qs, "{isa:?} block {b}");
                assert_eq!(g.d.to_bits(), w.d.to_bits(), "{isa:?} block {b}");
                assert_eq!(g.bsums, w.bsums, "{isa:?} block {b}");
            }
        }
    }

    #[test]
    fn f32_dot_and_axpy() {
        let a: Vec<f32> = (0..37).map(|i| i as f32 * 0.5).collect();
        let b: Vec<f32> = (0..37).map(|i| 1.0 - i as f32 * 0.01).collect();
        let want: f32 = a.iter().zip(&b).map(|(x, y)| x * y).sum();
        for isa in Isa::supported() {
            assert!((dot(isa, &a, &b) - want).abs() < 1e-3);
            // The same fixed-order sum at every level.
            assert_eq!(
                dot(isa, &a, &b).to_bits(),
                dot(Isa::Generic, &a, &b).to_bits()
            );
            let mut y = vec![1f32; 37];
            axpy(isa, &mut y, 2.0, &a);
            assert_eq!(y[3], 1.0 + 2.0 * 1.5);
        }
    }
}
