//! AVX2 kernels for `Q4_K` and `Q6_K` rows (in the GGUF layout) against activations quantized
//! per super-block ([`BlockQ8K`]).
//!
//! With one activation scale a super-block, the sub-block scales multiply integers: per
//! sub-block, `vpmaddubsw` of the unsigned weights with the activation bytes, then `vpmaddwd`
//! with the sub-block's scale in every lane (instead of ones), added into one i32 vector for
//! the whole super-block. That vector is converted to floats once and multiplied by `d·a.d`.
//! The minimums (`Q4_K`) and the offset 32 (`Q6_K`) are one more `vpmaddwd` of the scales or
//! minimums with the activation's sums of 16 (`bsums`).
//!
//! Bounds (no saturation, no overflow): `Q4_K` pairs are at most 2·15·127 = 3,810, times a
//! scale ≤ 63, two to a lane: 480,060; eight sub-blocks 3.9·10⁶. `Q6_K` pairs (weights 0..63)
//! at most 2·63·127 = 16,002 < 32,767, times |scale| ≤ 128, two to a lane, eight sub-blocks:
//! 3.3·10⁷; the offset part 32·2·128·2,032 = 1.7·10⁷. All far inside i32.
//!
//! Each row is summed alone, in the same order whatever the tile holds, so batched and
//! unbatched results are bit-identical.

use super::avx2::{half, hmax, hsum, hsum_i32, max_abs, pack_bytes, round_scaled};
use crate::quant::{BlockQ8K, QType, QK_K};
use std::arch::x86_64::*;

/// Bytes ahead of the block in use that the kernels ask the cache for (a hint only: it never
/// faults, even past the end of the matrix).
const PREFETCH: usize = 1024;

/// Asks the cache for `lines` lines of 64 bytes `PREFETCH` bytes ahead of `blk`.
#[inline(always)]
unsafe fn prefetch(blk: *const u8, lines: usize) {
    for k in 0..lines {
        _mm_prefetch::<_MM_HINT_T0>(blk.add(PREFETCH + 64 * k) as *const i8);
    }
}

/// Each act row's sum to `out[t·stride]`.
#[inline(always)]
unsafe fn store<const T: usize>(acc: &[__m256; T], out: *mut f32, stride: usize) {
    for (t, v) in acc.iter().enumerate() {
        *out.add(t * stride) = hsum(*v);
    }
}

/// A `Q4_K` block's twelve scale bytes as sixteen: the eight 6-bit scales, then the eight
/// 6-bit minimums ([`crate::quant::scale_min_k4`], four at a time in 32-bit words).
#[inline(always)]
unsafe fn q4_k_scales(q: *const u8) -> __m128i {
    let w = |i: usize| (q.add(4 * i) as *const u32).read_unaligned();
    let (w0, w1, w2) = (w(0), w(1), w(2));
    let (m6, m4, m2) = (0x3f3f_3f3f_u32, 0x0f0f_0f0f_u32, 0x0303_0303_u32);
    let sc_lo = w0 & m6;
    let mn_lo = w1 & m6;
    let sc_hi = (w2 & m4) | (((w0 >> 6) & m2) << 4);
    let mn_hi = ((w2 >> 4) & m4) | (((w1 >> 6) & m2) << 4);
    _mm_set_epi32(mn_hi as i32, mn_lo as i32, sc_hi as i32, sc_lo as i32)
}

/// Byte `i` of each 128-bit lane of `v`, zero-extended to every 16-bit lane.
#[inline(always)]
unsafe fn spread(v: __m256i, i: i16) -> __m256i {
    _mm256_shuffle_epi8(v, _mm256_set1_epi16(i | (0x80 << 8)))
}

/// One `Q4_K` row (`nb` super-blocks at `p`) against T activation rows; results to
/// `out[t·stride]`.
#[inline(always)]
unsafe fn q4_k_row<const T: usize>(
    p: *const u8,
    nb: usize,
    ap: &[*const BlockQ8K; T],
    out: *mut f32,
    stride: usize,
) {
    let mask = _mm256_set1_epi8(0x0f);
    // Lane pair 2k, 2k + 1 takes minimum k (bytes 8..16 of the scale bytes).
    let mins_at = _mm256_setr_epi8(
        8, -128, 8, -128, 9, -128, 9, -128, 10, -128, 10, -128, 11, -128, 11, -128, 12, -128, 12,
        -128, 13, -128, 13, -128, 14, -128, 14, -128, 15, -128, 15, -128,
    );
    let mut acc = [_mm256_setzero_ps(); T];
    for sb in 0..nb {
        let blk = p.add(sb * 144);
        prefetch(blk, 3);
        let raw = _mm256_broadcastsi128_si256(q4_k_scales(blk.add(4)));
        let mut isum = [_mm256_setzero_si256(); T];
        for c in 0..4 {
            let v = _mm256_loadu_si256(blk.add(16 + 32 * c) as *const __m256i);
            let w0 = _mm256_and_si256(v, mask);
            let w1 = _mm256_and_si256(_mm256_srli_epi16::<4>(v), mask);
            let s0 = spread(raw, 2 * c as i16);
            let s1 = spread(raw, 2 * c as i16 + 1);
            for t in 0..T {
                let y = (*ap[t].add(sb)).qs.as_ptr().add(64 * c) as *const __m256i;
                let p0 = _mm256_madd_epi16(_mm256_maddubs_epi16(w0, _mm256_loadu_si256(y)), s0);
                let p1 =
                    _mm256_madd_epi16(_mm256_maddubs_epi16(w1, _mm256_loadu_si256(y.add(1))), s1);
                isum[t] = _mm256_add_epi32(isum[t], _mm256_add_epi32(p0, p1));
            }
        }
        let mins = _mm256_shuffle_epi8(raw, mins_at);
        let (d, dmin) = (half(blk), half(blk.add(2)));
        for t in 0..T {
            let a = &*ap[t].add(sb);
            let bs = _mm256_loadu_si256(a.bsums.as_ptr() as *const __m256i);
            let m = _mm256_cvtepi32_ps(_mm256_madd_epi16(mins, bs));
            acc[t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum[t]), _mm256_set1_ps(d * a.d), acc[t]);
            acc[t] = _mm256_fmadd_ps(m, _mm256_set1_ps(-dmin * a.d), acc[t]);
        }
    }
    store(&acc, out, stride);
}

/// The `vpshufb` controls that spread `Q6_K` scales 2i and 2i + 1 (i16 number 2i and 2i + 1
/// of a 128-bit lane, bytes 4i..4i + 4) over the low and the high eight 16-bit lanes.
const Q6_SCALE_AT: [[i8; 32]; 4] = {
    let mut t = [[0i8; 32]; 4];
    let mut i = 0;
    while i < 4 {
        let mut l = 0;
        while l < 16 {
            let b = 4 * i as i8 + if l < 8 { 0 } else { 2 };
            t[i][2 * l] = b;
            t[i][2 * l + 1] = b + 1;
            l += 1;
        }
        i += 1;
    }
    t
};

/// One `Q6_K` row (`nb` super-blocks at `p`) against T activation rows; results to
/// `out[t·stride]`. The weights are taken unsigned (0..63) and `32·Σ scale·bsum` subtracted.
#[inline(always)]
unsafe fn q6_k_row<const T: usize>(
    p: *const u8,
    nb: usize,
    ap: &[*const BlockQ8K; T],
    out: *mut f32,
    stride: usize,
) {
    let (m4, m30) = (_mm256_set1_epi8(0x0f), _mm256_set1_epi8(0x30));
    let mut acc = [_mm256_setzero_ps(); T];
    for sb in 0..nb {
        let blk = p.add(sb * 210);
        prefetch(blk, 4);
        // The sixteen scales as i16: lanes 0..8 hold scales 0..8, lanes 8..16 scales 8..16.
        let sc = _mm256_cvtepi8_epi16(_mm_loadu_si128(blk.add(192) as *const __m128i));
        let halves = [
            _mm256_permute2x128_si256::<0x00>(sc, sc),
            _mm256_permute2x128_si256::<0x11>(sc, sc),
        ];
        let mut isum = [_mm256_setzero_si256(); T];
        for j in 0..8 {
            let (h, k) = (j / 4, j % 4);
            let l = _mm256_loadu_si256(blk.add(64 * h + 32 * (k & 1)) as *const __m256i);
            let l = if k < 2 { l } else { _mm256_srli_epi16::<4>(l) };
            let hb = _mm256_loadu_si256(blk.add(128 + 32 * h) as *const __m256i);
            // The pair of bits 2k..2k + 2 moved to bits 4..6 (16-bit shifts: what crosses into
            // a neighbouring byte is masked off).
            let hb = match k {
                0 => _mm256_slli_epi16::<4>(hb),
                1 => _mm256_slli_epi16::<2>(hb),
                2 => hb,
                _ => _mm256_srli_epi16::<2>(hb),
            };
            let q = _mm256_or_si256(_mm256_and_si256(l, m4), _mm256_and_si256(hb, m30));
            // Lanes 0..8 (weights 32j..32j + 16) take scale 2j, lanes 8..16 scale 2j + 1: both
            // sit in lane half h of `sc` as i16 number 2(j mod 4) and 2(j mod 4) + 1.
            let at = _mm256_loadu_si256(Q6_SCALE_AT[j % 4].as_ptr() as *const __m256i);
            let s = _mm256_shuffle_epi8(halves[h], at);
            for t in 0..T {
                let y = (*ap[t].add(sb)).qs.as_ptr().add(32 * j) as *const __m256i;
                let pj = _mm256_madd_epi16(_mm256_maddubs_epi16(q, _mm256_loadu_si256(y)), s);
                isum[t] = _mm256_add_epi32(isum[t], pj);
            }
        }
        let d = half(blk.add(208));
        for t in 0..T {
            let a = &*ap[t].add(sb);
            let bs = _mm256_loadu_si256(a.bsums.as_ptr() as *const __m256i);
            let off = _mm256_slli_epi32::<5>(_mm256_madd_epi16(sc, bs));
            let s = _mm256_sub_epi32(isum[t], off);
            acc[t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(s), _mm256_set1_ps(d * a.d), acc[t]);
        }
    }
    store(&acc, out, stride);
}

#[inline(always)]
unsafe fn k_rows<const T: usize>(
    qtype: QType,
    rows: *const u8,
    row_bytes: usize,
    n: usize,
    acts: &[&[BlockQ8K]],
    out: *mut f32,
) {
    let nb = row_bytes / qtype.block_bytes();
    let ap: [*const BlockQ8K; T] = std::array::from_fn(|t| acts[t].as_ptr());
    for r in 0..n {
        let (p, o) = (rows.add(r * row_bytes), out.add(r));
        match qtype {
            QType::Q4_K => q4_k_row::<T>(p, nb, &ap, o, n),
            QType::Q6_K => q6_k_row::<T>(p, nb, &ap, o, n),
            _ => unreachable!("only K-quant rows take Q8_K activations"),
        }
    }
}

/// `out[t·n + r] = row r · acts[t]` for `n` `Q4_K` or `Q6_K` rows of `row_bytes` each.
///
/// # Safety
/// The CPU has AVX2, FMA and F16C; `rows` holds n rows of `row_bytes`, every act row as many
/// super-blocks as a weight row, `acts.len() ≤ TILE` and `out` n·T values.
#[target_feature(enable = "avx2,fma,f16c")]
pub(super) unsafe fn dot_k(
    qtype: QType,
    rows: *const u8,
    row_bytes: usize,
    n: usize,
    acts: &[&[BlockQ8K]],
    out: *mut f32,
) {
    debug_assert!(row_bytes.is_multiple_of(qtype.block_bytes()) && QK_K == 256);
    by_tile!(acts.len(), k_rows(qtype, rows, row_bytes, n, acts, out))
}

/// [`crate::quant::quantize_act_k`] with AVX2 vectors, bit for bit.
///
/// # Safety
/// The CPU has AVX2, FMA and F16C.
#[target_feature(enable = "avx2,fma,f16c")]
pub(super) unsafe fn quantize_act_k(x: &[f32], out: &mut [BlockQ8K]) {
    for (xb, o) in x.chunks_exact(QK_K).zip(out.iter_mut()) {
        let p = xb.as_ptr();
        let mut m = _mm256_setzero_ps();
        for i in 0..QK_K / 8 {
            m = max_abs(_mm256_loadu_ps(p.add(8 * i)), m);
        }
        let d = hmax(m) / 127.0;
        let id = _mm256_set1_ps(if d != 0.0 { 1.0 / d } else { 0.0 });
        for c in 0..QK_K / 32 {
            let r: [__m256i; 4] =
                std::array::from_fn(|i| round_scaled(_mm256_loadu_ps(p.add(32 * c + 8 * i)), id));
            let q = o.qs.as_mut_ptr().add(32 * c) as *mut __m256i;
            _mm256_storeu_si256(q, pack_bytes(r));
            // |sum of 16| ≤ 2,032.
            o.bsums[2 * c] = hsum_i32(_mm256_add_epi32(r[0], r[1])) as i16;
            o.bsums[2 * c + 1] = hsum_i32(_mm256_add_epi32(r[2], r[3])) as i16;
        }
        o.d = d;
    }
}
