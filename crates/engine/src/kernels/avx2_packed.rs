//! AVX2 kernels on the packed layout ([`crate::packed`]) for `Q4_0`, `Q4_1` and `Q8_0`.
//!
//! Each 64-byte packed vector (four weight bytes of each of 16 rows) is read as two 32-byte
//! halves of 8 rows. Per half, block and activation row: `vpmaddubsw` of the unsigned nibbles
//! with four activation bytes broadcast to every lane, the eight results of a block added as
//! i16 (each pair is at most 2·15·128 = 3,840 in magnitude, eight of them 30,720 < 32,767: no
//! saturation, no rounding), then `vpmaddwd` with ones: the block's exact i32 sums, one a row.
//! They are scaled and added in the portable kernel's order (no fused multiply-add), so a row
//! gets [`super::Isa::Generic`]'s bits, as with the AVX-512 kernels.
//!
//! `Q8_0` (stored plus 128, up to 255) would saturate `vpmaddubsw`: each weight byte `u` is
//! split into nibbles, `u = 16·hi + lo`, the two halves multiplied and summed as `Q4_0`'s, and
//! `Σu·a = Σlo·a + 16·Σhi·a` (`vpmaddwd` with 16s), less `128·Σa`: again the exact integer
//! block sums, so again the portable kernel's bits. The K-quants stay in GGUF rows
//! (`avx2_k`): [`super::Isa::packs`] repacks these three formats at this level.

use crate::packed::{block_bytes, group_bytes, GROUP};
use crate::quant::{BlockQ8, QType, QK};
use std::arch::x86_64::*;

/// Bytes ahead of the packed block in use that the kernel asks the cache for.
const PREFETCH: usize = 1024;

/// Rows of a half group (the lanes of a 256-bit vector of i32 sums).
const HALF: usize = GROUP / 2;

/// The 8 f16 values at `p` as f32.
#[inline(always)]
unsafe fn halves(p: *const u8) -> __m256 {
    _mm256_cvtph_ps(_mm_loadu_si128(p as *const __m128i))
}

/// Asks the cache for the packed block `PREFETCH` bytes ahead of `blk` (`pbb` bytes), in the
/// first half only: the second half finds the group where the first one brought it.
#[inline(always)]
unsafe fn prefetch(blk: *const u8, pbb: usize, h: usize) {
    if h == 0 {
        for k in 0..pbb.div_ceil(64) {
            _mm_prefetch::<_MM_HINT_T0>(blk.add(PREFETCH + 64 * k) as *const i8);
        }
    }
}

/// The first `valid` lanes of each act row's sums to `out[t·stride..]`.
#[inline(always)]
unsafe fn store<const T: usize>(acc: &[__m256; T], out: *mut f32, stride: usize, valid: usize) {
    for (t, v) in acc.iter().enumerate() {
        let mut lanes = [0f32; HALF];
        _mm256_storeu_ps(lanes.as_mut_ptr(), *v);
        std::ptr::copy_nonoverlapping(lanes.as_ptr(), out.add(t * stride), valid);
    }
}

/// Rows `8h..8h + 8` of one group (`g`, `nb` packed blocks) against T act rows; lane r of act
/// row t goes to `out[t·stride + r]` for r < `valid`. Per row and block:
/// `acc += d·a.d·(Σq·a − 8Σa)` (`Q4_0`) or `acc += d·a.d·Σq·a + m·a.s` (`Q4_1`).
#[inline(always)]
unsafe fn half_group<const T: usize, const MIN: bool>(
    g: *const u8,
    nb: usize,
    h: usize,
    ap: &[*const BlockQ8; T],
    out: *mut f32,
    stride: usize,
    valid: usize,
) {
    let pbb = block_bytes(if MIN { QType::Q4_1 } else { QType::Q4_0 });
    let qa = if MIN { 64 } else { 32 };
    let low = _mm256_set1_epi8(0x0f);
    let ones = _mm256_set1_epi16(1);
    let mut acc = [_mm256_setzero_ps(); T];
    for b in 0..nb {
        let blk = g.add(b * pbb);
        prefetch(blk, pbb, h);
        let d = halves(blk.add(2 * HALF * h));
        let m = if MIN {
            halves(blk.add(32 + 2 * HALF * h))
        } else {
            _mm256_setzero_ps()
        };
        let mut w = [_mm256_setzero_si256(); 8];
        for i in 0..4 {
            let v = _mm256_loadu_si256(blk.add(qa + 64 * i + 32 * h) as *const __m256i);
            w[i] = _mm256_and_si256(v, low);
            w[i + 4] = _mm256_and_si256(_mm256_srli_epi16::<4>(v), low);
        }
        for t in 0..T {
            let a = &*ap[t].add(b);
            let y = a.qs.as_ptr() as *const i32;
            let mut s16 = _mm256_maddubs_epi16(w[0], _mm256_set1_epi32(y.read_unaligned()));
            for (i, wi) in w.iter().enumerate().skip(1) {
                let yi = _mm256_set1_epi32(y.add(i).read_unaligned());
                s16 = _mm256_add_epi16(s16, _mm256_maddubs_epi16(*wi, yi));
            }
            let mut s = _mm256_madd_epi16(s16, ones);
            if !MIN {
                s = _mm256_add_epi32(s, _mm256_set1_epi32(-8 * a.sum));
            }
            let p = _mm256_mul_ps(_mm256_mul_ps(d, _mm256_set1_ps(a.d)), _mm256_cvtepi32_ps(s));
            let p = if MIN {
                _mm256_add_ps(p, _mm256_mul_ps(m, _mm256_set1_ps(a.s)))
            } else {
                p
            };
            acc[t] = _mm256_add_ps(acc[t], p);
        }
    }
    store(&acc, out, stride, valid);
}

/// Rows `8h..8h + 8` of one `Q8_0` group (`nb` packed blocks) against T act rows, as
/// [`half_group`]: per row and block `acc += d·a.d·(Σlo·a + 16·Σhi·a − 128·Σa)`.
#[inline(always)]
unsafe fn half_group_q8<const T: usize>(
    g: *const u8,
    nb: usize,
    h: usize,
    ap: &[*const BlockQ8; T],
    out: *mut f32,
    stride: usize,
    valid: usize,
) {
    let pbb = block_bytes(QType::Q8_0);
    let low = _mm256_set1_epi8(0x0f);
    let (ones, sixteens) = (_mm256_set1_epi16(1), _mm256_set1_epi16(16));
    let mut acc = [_mm256_setzero_ps(); T];
    for b in 0..nb {
        let blk = g.add(b * pbb);
        prefetch(blk, pbb, h);
        let d = halves(blk.add(2 * HALF * h));
        let mut lo = [_mm256_setzero_si256(); 8];
        let mut hi = [_mm256_setzero_si256(); 8];
        for c in 0..8 {
            let v = _mm256_loadu_si256(blk.add(32 + 64 * c + 32 * h) as *const __m256i);
            lo[c] = _mm256_and_si256(v, low);
            hi[c] = _mm256_and_si256(_mm256_srli_epi16::<4>(v), low);
        }
        for t in 0..T {
            let a = &*ap[t].add(b);
            let y = a.qs.as_ptr() as *const i32;
            // Eight pairs of nibble products a half: at most 8·2·15·128 = 30,720, no saturation.
            let (mut sl, mut sh) = (_mm256_setzero_si256(), _mm256_setzero_si256());
            for c in 0..8 {
                let yc = _mm256_set1_epi32(y.add(c).read_unaligned());
                sl = _mm256_add_epi16(sl, _mm256_maddubs_epi16(lo[c], yc));
                sh = _mm256_add_epi16(sh, _mm256_maddubs_epi16(hi[c], yc));
            }
            let s = _mm256_add_epi32(_mm256_madd_epi16(sl, ones), _mm256_madd_epi16(sh, sixteens));
            let s = _mm256_add_epi32(s, _mm256_set1_epi32(-128 * a.sum));
            let p = _mm256_mul_ps(_mm256_mul_ps(d, _mm256_set1_ps(a.d)), _mm256_cvtepi32_ps(s));
            acc[t] = _mm256_add_ps(acc[t], p);
        }
    }
    store(&acc, out, stride, valid);
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
    let gb = group_bytes(qtype, nb * QK);
    let ap = super::act_ptrs::<T>(acts);
    for gi in 0..rows.div_ceil(GROUP) {
        let left = rows - gi * GROUP;
        for h in 0..2 {
            let Some(valid) = left.checked_sub(HALF * h).filter(|&v| v > 0) else {
                break;
            };
            let (g, o) = (p.add(gi * gb), out.add(gi * GROUP + HALF * h));
            let valid = valid.min(HALF);
            match qtype {
                QType::Q4_0 => half_group::<T, false>(g, nb, h, &ap, o, rows, valid),
                QType::Q4_1 => half_group::<T, true>(g, nb, h, &ap, o, rows, valid),
                QType::Q8_0 => half_group_q8::<T>(g, nb, h, &ap, o, rows, valid),
                _ => unreachable!("only Q4_0, Q4_1 and Q8_0 are packed at the AVX2 level"),
            }
        }
    }
}

/// `out[t·rows + r] = row r · acts[t]` for the first `rows` rows of whole packed groups of
/// `Q4_0`, `Q4_1` or `Q8_0`, `nb` blocks each.
///
/// # Safety
/// The CPU has AVX2 and F16C; `p` holds ⌈rows / 16⌉ groups of `nb` blocks, every act row `nb`
/// blocks, `acts.len() ≤ TILE` and `out` rows·T values.
#[target_feature(enable = "avx2,fma,f16c")]
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
