//! Dot products: one weight row against a tile of up to [`TILE`] activation rows.
//!
//! Each block of the weight row is unpacked once and multiplied with every activation row of
//! the tile, so a prompt pass reads its weights once per tile instead of once per token. The
//! arithmetic for one activation row is the same whatever the tile holds (one accumulator per
//! row, blocks in order), so a row's result does not depend on which other rows share its
//! batch: batched and unbatched generation give bit-identical logits.
//!
//! [`Isa::detect`] picks AVX2 (+FMA, F16C) kernels on x86-64 CPUs that have them; elsewhere a
//! portable version runs.

use crate::f16;
use crate::quant::{BlockQ8, QType, QK};

/// Activation rows per tile.
pub const TILE: usize = 8;

/// The instruction set the kernels use, chosen once at run time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Isa {
    /// Portable Rust.
    Generic,
    /// x86-64 AVX2 + FMA + F16C (only constructed when the CPU has them).
    #[cfg(target_arch = "x86_64")]
    Avx2,
}

impl Isa {
    /// The best instruction set this CPU supports (`POPBENCH_ISA=generic` forces the portable
    /// kernels).
    pub fn detect() -> Isa {
        if std::env::var("POPBENCH_ISA").is_ok_and(|v| v == "generic") {
            return Isa::Generic;
        }
        #[cfg(target_arch = "x86_64")]
        {
            if is_x86_feature_detected!("avx2")
                && is_x86_feature_detected!("fma")
                && is_x86_feature_detected!("f16c")
            {
                return Isa::Avx2;
            }
        }
        Isa::Generic
    }

    /// A short name for logs and provenance.
    pub fn name(self) -> &'static str {
        match self {
            Isa::Generic => "generic",
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2 => "avx2",
        }
    }
}

/// `out[t·n + r] = rows[r] · acts[t]` for `n` consecutive quantized weight rows of
/// `acts[0].len()` blocks each (`acts.len() ≤ TILE`, all act rows equally long).
pub fn dot_q(isa: Isa, qtype: QType, rows: &[u8], acts: &[&[BlockQ8]], out: &mut [f32]) {
    let Some(first) = acts.first() else { return };
    let row_bytes = first.len() * qtype.block_bytes();
    assert!(qtype != QType::F32 && acts.len() <= TILE && row_bytes > 0);
    assert!(acts.iter().all(|a| a.len() == first.len()));
    let n = rows.len() / row_bytes;
    assert!(rows.len() == n * row_bytes && out.len() >= n * acts.len());
    match isa {
        Isa::Generic => {
            for (r, row) in rows.chunks_exact(row_bytes).enumerate() {
                let mut tmp = [0f32; TILE];
                generic::dot_q(qtype, row, acts, &mut tmp);
                for (t, v) in tmp[..acts.len()].iter().enumerate() {
                    out[t * n + r] = *v;
                }
            }
        }
        // SAFETY: `Isa::Avx2` is only constructed after the CPU features were detected; every
        // row has exactly as many blocks as every act row, and `out` holds n·T values (checked).
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2 => unsafe { avx2::dot_q(qtype, rows, row_bytes, n, acts, out) },
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
    }
}

/// `a · b` over the shorter length.
pub fn dot(isa: Isa, a: &[f32], b: &[f32]) -> f32 {
    match isa {
        Isa::Generic => dot_body(a, b),
        // SAFETY: see `dot_q`.
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2 => unsafe { avx2::dot(a, b) },
    }
}

/// `y += a · x`.
pub fn axpy(isa: Isa, y: &mut [f32], a: f32, x: &[f32]) {
    match isa {
        Isa::Generic => axpy_body(y, a, x),
        // SAFETY: see `dot_q`.
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2 => unsafe { avx2::axpy(y, a, x) },
    }
}

/// Eight lanes, summed in a fixed order: vectorizes under any instruction set.
#[inline(always)]
fn dot_body(a: &[f32], b: &[f32]) -> f32 {
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
fn axpy_body(y: &mut [f32], a: f32, x: &[f32]) {
    for (y, x) in y.iter_mut().zip(x) {
        *y += a * x;
    }
}

mod generic {
    use super::*;

    fn rd16(b: &[u8], at: usize) -> f32 {
        f16::to_f32(u16::from_le_bytes([b[at], b[at + 1]]))
    }

    pub(super) fn dot_q(qtype: QType, row: &[u8], acts: &[&[BlockQ8]], out: &mut [f32]) {
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
                    QType::F32 => unreachable!("f32 rows use dot_f32_rows"),
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

    /// Bytes ahead of the block in use that the kernels ask the cache for (a hint only: it
    /// never faults, even past the end of the matrix).
    const PREFETCH: usize = 1024;

    #[inline(always)]
    unsafe fn hsum(v: __m256) -> f32 {
        let s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
        let s = _mm_add_ps(s, _mm_movehl_ps(s, s));
        let s = _mm_add_ss(s, _mm_movehdup_ps(s));
        _mm_cvtss_f32(s)
    }

    #[inline(always)]
    unsafe fn half(p: *const u8) -> f32 {
        let h = u16::from_le_bytes([*p, *p.add(1)]);
        _mm_cvtss_f32(_mm_cvtph_ps(_mm_cvtsi32_si128(h as i32)))
    }

    /// 32 unsigned nibbles of a 4-bit block, in GGML order.
    #[inline(always)]
    unsafe fn nibbles(p: *const u8) -> __m256i {
        let qs = _mm_loadu_si128(p as *const __m128i);
        let mask = _mm_set1_epi8(0x0f);
        let lo = _mm_and_si128(qs, mask);
        let hi = _mm_and_si128(_mm_srli_epi16(qs, 4), mask);
        _mm256_set_m128i(hi, lo)
    }

    /// Σ u·s over 32 lanes as 8 i32 sums, then f32.
    #[inline(always)]
    unsafe fn usum(u: __m256i, s: __m256i) -> __m256 {
        let p16 = _mm256_maddubs_epi16(u, s);
        _mm256_cvtepi32_ps(_mm256_madd_epi16(p16, _mm256_set1_epi16(1)))
    }

    /// One row against T act rows; results to `out[t * stride]`.
    #[inline(always)]
    unsafe fn tile<const T: usize>(
        qtype: QType,
        p: *const u8,
        nb: usize,
        acts: &[&[BlockQ8]],
        out: *mut f32,
        stride: usize,
    ) {
        let bb = qtype.block_bytes();
        let mut acc = [_mm256_setzero_ps(); T];
        let mut extra = [0f32; T];
        let mut ap = [std::ptr::null::<BlockQ8>(); T];
        for t in 0..T {
            ap[t] = acts[t].as_ptr();
        }
        match qtype {
            QType::Q4_1 => {
                for b in 0..nb {
                    let blk = p.add(b * bb);
                    _mm_prefetch::<_MM_HINT_T0>(blk.add(PREFETCH) as *const i8);
                    let d = half(blk);
                    let m = half(blk.add(2));
                    let w = nibbles(blk.add(4));
                    for t in 0..T {
                        let a = &*ap[t].add(b);
                        let y = _mm256_loadu_si256(a.qs.as_ptr() as *const __m256i);
                        acc[t] = _mm256_fmadd_ps(usum(w, y), _mm256_set1_ps(d * a.d), acc[t]);
                        extra[t] += m * a.s;
                    }
                }
            }
            QType::Q4_0 => {
                let eight = _mm256_set1_epi8(8);
                for b in 0..nb {
                    let blk = p.add(b * bb);
                    _mm_prefetch::<_MM_HINT_T0>(blk.add(PREFETCH) as *const i8);
                    let d = half(blk);
                    let w = _mm256_sub_epi8(nibbles(blk.add(2)), eight);
                    let aw = _mm256_sign_epi8(w, w);
                    for t in 0..T {
                        let a = &*ap[t].add(b);
                        let y = _mm256_loadu_si256(a.qs.as_ptr() as *const __m256i);
                        let sy = _mm256_sign_epi8(y, w);
                        acc[t] = _mm256_fmadd_ps(usum(aw, sy), _mm256_set1_ps(d * a.d), acc[t]);
                    }
                }
            }
            QType::Q8_0 => {
                for b in 0..nb {
                    let blk = p.add(b * bb);
                    _mm_prefetch::<_MM_HINT_T0>(blk.add(PREFETCH) as *const i8);
                    let d = half(blk);
                    let w = _mm256_loadu_si256(blk.add(2) as *const __m256i);
                    let aw = _mm256_sign_epi8(w, w);
                    for t in 0..T {
                        let a = &*ap[t].add(b);
                        let y = _mm256_loadu_si256(a.qs.as_ptr() as *const __m256i);
                        let sy = _mm256_sign_epi8(y, w);
                        acc[t] = _mm256_fmadd_ps(usum(aw, sy), _mm256_set1_ps(d * a.d), acc[t]);
                    }
                }
            }
            QType::F32 => unreachable!("f32 rows use dot_f32_rows"),
        }
        for t in 0..T {
            *out.add(t * stride) = hsum(acc[t]) + extra[t];
        }
    }

    #[inline(always)]
    unsafe fn rows<const T: usize>(
        qtype: QType,
        rows: &[u8],
        row_bytes: usize,
        n: usize,
        acts: &[&[BlockQ8]],
        out: &mut [f32],
    ) {
        let nb = row_bytes / qtype.block_bytes();
        let o = out.as_mut_ptr();
        for r in 0..n {
            tile::<T>(
                qtype,
                rows.as_ptr().add(r * row_bytes),
                nb,
                acts,
                o.add(r),
                n,
            );
        }
    }

    #[target_feature(enable = "avx2,fma,f16c")]
    pub(super) unsafe fn dot_q(
        qtype: QType,
        r: &[u8],
        row_bytes: usize,
        n: usize,
        acts: &[&[BlockQ8]],
        out: &mut [f32],
    ) {
        if qtype == QType::Q4_1 && acts.len() > 4 {
            // Q4_1 keeps a scalar sum per row beside its accumulator: eight of each would spill
            // the 16 vector registers, so wide tiles run as two halves (same bits per row).
            let (a, b) = acts.split_at(4);
            let (oa, ob) = out.split_at_mut(4 * n);
            dot_q(qtype, r, row_bytes, n, a, oa);
            dot_q(qtype, r, row_bytes, n, b, ob);
            return;
        }
        match acts.len() {
            0 => {}
            1 => rows::<1>(qtype, r, row_bytes, n, acts, out),
            2 => rows::<2>(qtype, r, row_bytes, n, acts, out),
            3 => rows::<3>(qtype, r, row_bytes, n, acts, out),
            4 => rows::<4>(qtype, r, row_bytes, n, acts, out),
            5 => rows::<5>(qtype, r, row_bytes, n, acts, out),
            6 => rows::<6>(qtype, r, row_bytes, n, acts, out),
            7 => rows::<7>(qtype, r, row_bytes, n, acts, out),
            _ => rows::<8>(qtype, r, row_bytes, n, acts, out),
        }
    }

    #[target_feature(enable = "avx2,fma,f16c")]
    pub(super) unsafe fn quantize_act(x: &[f32], out: &mut [BlockQ8]) {
        crate::quant::quantize_act(x, out)
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::quant::{dequantize_row, quantize_act, quantize_q8_0};

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
            QType::F32 => unreachable!(),
        }
    }

    /// Every kernel against the dequantized row: the integer part is exact, so the results
    /// differ from an f64 reference only by the activation quantization and f32 rounding.
    #[test]
    fn kernels_match_dequantized_reference_for_every_tile_size() {
        let cols = 4 * QK;
        for qtype in [QType::Q4_0, QType::Q4_1, QType::Q8_0] {
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
            for isa in [Isa::Generic, Isa::detect()] {
                for n in 1..=TILE {
                    let acts: Vec<&[BlockQ8]> = qs[..n].iter().map(|v| v.as_slice()).collect();
                    let mut out = vec![0f32; n];
                    dot_q(isa, qtype, &row, &acts, &mut out);
                    // Two copies of the row: the second row's results follow the first's.
                    let two = [row.clone(), row.clone()].concat();
                    let mut out2 = vec![0f32; 2 * n];
                    dot_q(isa, qtype, &two, &acts, &mut out2);
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
                            "{qtype:?} {isa:?} tile {n} row {t}: {} vs {want}",
                            out[t]
                        );
                    }
                    // Same row, alone: bit-identical to its result inside the tile.
                    for t in 0..n {
                        let mut one = [0f32];
                        dot_q(isa, qtype, &row, &acts[t..t + 1], &mut one);
                        assert_eq!(one[0].to_bits(), out[t].to_bits());
                    }
                }
            }
        }
    }

    #[test]
    fn f32_dot_and_axpy() {
        let a: Vec<f32> = (0..37).map(|i| i as f32 * 0.5).collect();
        let b: Vec<f32> = (0..37).map(|i| 1.0 - i as f32 * 0.01).collect();
        let want: f32 = a.iter().zip(&b).map(|(x, y)| x * y).sum();
        for isa in [Isa::Generic, Isa::detect()] {
            assert!((dot(isa, &a, &b) - want).abs() < 1e-3);
            let mut y = vec![1f32; 37];
            axpy(isa, &mut y, 2.0, &a);
            assert_eq!(y[3], 1.0 + 2.0 * 1.5);
        }
    }
}
