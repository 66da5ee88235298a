//! GGML weight formats this engine multiplies natively, and the 8-bit activation blocks they are
//! multiplied with.
//!
//! A quantized row is a run of blocks of [`QK`] weights, each stored as in a GGUF file:
//! - `Q4_0`: f16 scale `d`, 16 bytes of nibbles; weight = (q − 8)·d;
//! - `Q4_1`: f16 scale `d`, f16 minimum `m`, 16 bytes of nibbles; weight = q·d + m;
//! - `Q8_0`: f16 scale `d`, 32 signed bytes; weight = q·d.
//!
//! Nibble `j` of a block (0 ≤ j < 16) is the low half of byte `j`; nibble `j + 16` its high half.
//!
//! The K-quants hold [`QK_K`] = 256 weights a block (a super-block of eight 32-weight or sixteen
//! 16-weight sub-blocks), as llama.cpp's `block_q4_K` and `block_q6_K`:
//! - `Q4_K` (144 bytes, 4.5 bits a weight): f16 `d`, f16 `dmin`, 12 bytes of eight 6-bit scales
//!   `sc` and eight 6-bit minimums `m` ([`scale_min_k4`]), 128 bytes of nibbles; weight `i` of
//!   sub-block `j` = `d·sc[j]·q − dmin·m[j]`. Sub-blocks `2c` and `2c + 1` share the 32 bytes
//!   `32c..32c + 32`: the low nibbles are sub-block `2c`, the high ones `2c + 1`;
//! - `Q6_K` (210 bytes, 6.5625 bits a weight): 128 bytes of low nibbles `ql`, 64 bytes of high
//!   2-bit pairs `qh`, 16 signed 8-bit scales (one per 16 weights), f16 `d`; weight =
//!   `d·scale·(q − 32)` with `q` the 6-bit value ([`q6_k_values`] spells the layout out).
//!
//! Activations are quantized per 32 values to [`BlockQ8`] (8-bit, f32 scale, and the sums that
//! `Q4_0`/`Q4_1`/`Q4_K`/`Q6_K` need), as llama.cpp does with its `Q8_0`/`Q8_1` activations; a
//! K-quant super-block meets eight of them. The AVX2 kernels for K-quant rows take activations
//! quantized per 256 values instead ([`BlockQ8K`], llama.cpp's `Q8_K`): one scale a super-block
//! lets the sub-block scales multiply integers, and the whole super-block's sum is converted to
//! a float once.

use crate::f16;

/// Weights per block (and per activation block).
pub const QK: usize = 32;

/// Weights per K-quant super-block.
pub const QK_K: usize = 256;

/// A weight format (named as GGUF names them).
#[allow(non_camel_case_types)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum QType {
    /// Plain f32.
    F32,
    /// 4-bit, symmetric (18 bytes per 32 weights).
    Q4_0,
    /// 4-bit with a minimum (20 bytes per 32 weights).
    Q4_1,
    /// 8-bit (34 bytes per 32 weights).
    Q8_0,
    /// 4-bit K-quant with 6-bit sub-block scales and minimums (144 bytes per 256 weights).
    Q4_K,
    /// 6-bit K-quant with 8-bit scales per 16 weights (210 bytes per 256 weights).
    Q6_K,
}

impl QType {
    /// Weights per block: [`QK`], or [`QK_K`] for the K-quants.
    pub fn block_len(self) -> usize {
        match self {
            QType::Q4_K | QType::Q6_K => QK_K,
            _ => QK,
        }
    }

    /// Bytes of one block of [`QType::block_len`] weights.
    pub fn block_bytes(self) -> usize {
        match self {
            QType::F32 => 4 * QK,
            QType::Q4_0 => 18,
            QType::Q4_1 => 20,
            QType::Q8_0 => 34,
            QType::Q4_K => 144,
            QType::Q6_K => 210,
        }
    }

    /// Bytes of a row of `cols` weights (`cols` a multiple of [`QType::block_len`] for the
    /// block formats).
    pub fn row_bytes(self, cols: usize) -> usize {
        match self {
            QType::F32 => 4 * cols,
            q => cols / q.block_len() * q.block_bytes(),
        }
    }

    /// The GGML type id (as in GGUF files).
    pub fn ggml_id(self) -> u32 {
        match self {
            QType::F32 => 0,
            QType::Q4_0 => 2,
            QType::Q4_1 => 3,
            QType::Q8_0 => 8,
            QType::Q4_K => 12,
            QType::Q6_K => 14,
        }
    }

    /// The format for a GGML type id, when this engine runs it natively.
    pub fn from_ggml_id(id: u32) -> Option<QType> {
        match id {
            0 => Some(QType::F32),
            2 => Some(QType::Q4_0),
            3 => Some(QType::Q4_1),
            8 => Some(QType::Q8_0),
            12 => Some(QType::Q4_K),
            14 => Some(QType::Q6_K),
            _ => None,
        }
    }

    /// The name GGUF tools use.
    pub fn name(self) -> &'static str {
        match self {
            QType::F32 => "F32",
            QType::Q4_0 => "Q4_0",
            QType::Q4_1 => "Q4_1",
            QType::Q8_0 => "Q8_0",
            QType::Q4_K => "Q4_K",
            QType::Q6_K => "Q6_K",
        }
    }
}

/// Every block format, in the order of their GGML ids.
pub const BLOCK_FORMATS: [QType; 5] = [
    QType::Q4_0,
    QType::Q4_1,
    QType::Q8_0,
    QType::Q4_K,
    QType::Q6_K,
];

/// `n` K-quant blocks of random bytes (every nibble, scale, minimum and high-bit pattern) with
/// f16 super-block scales drawn as `r() · scale`: test data for the kernels.
#[cfg(test)]
pub(crate) fn random_k_blocks(
    qtype: QType,
    n: usize,
    scale: f32,
    r: &mut impl FnMut() -> f32,
) -> Vec<u8> {
    let at: &[usize] = if qtype == QType::Q4_K {
        &[0, 2]
    } else {
        &[208]
    };
    let mut out = Vec::with_capacity(n * qtype.block_bytes());
    for _ in 0..n {
        let mut blk: Vec<u8> = (0..qtype.block_bytes())
            .map(|_| ((r() + 1.0) * 127.9) as u8)
            .collect();
        for &a in at {
            blk[a..a + 2].copy_from_slice(&f16::from_f32(r() * scale).to_le_bytes());
        }
        out.extend_from_slice(&blk);
    }
    out
}

/// One block of quantized activations: `x ≈ qs·d`, `sum = Σqs`, `s = d·sum` and
/// `lo = Σqs[..16]`.
#[derive(Debug, Clone, Copy, Default)]
#[repr(C)]
pub struct BlockQ8 {
    /// The 8-bit values.
    pub qs: [i8; QK],
    /// Scale.
    pub d: f32,
    /// `d · Σ qs` (for formats with an offset).
    pub s: f32,
    /// `Σ qs` (the AVX-512 kernels' integer offset correction).
    pub sum: i32,
    /// `Σ qs[..16]` (the offset correction of `Q6_K`'s 16-weight sub-blocks).
    pub lo: i32,
}

/// A block's scale `d = max|x| / 127` (NaN ignored, in eight lanes as the vector quantizers
/// take it) and its inverse (0 for an all-zero block).
#[inline(always)]
fn scale_of(xb: &[f32]) -> (f32, f32) {
    let mut lanes = [0f32; 8];
    for c in xb.chunks_exact(8) {
        for (m, v) in lanes.iter_mut().zip(c) {
            let a = v.abs();
            *m = if a > *m { a } else { *m };
        }
    }
    let amax = lanes.iter().fold(0f32, |m, &v| if v > m { v } else { m });
    let d = amax / 127.0;
    (d, if d != 0.0 { 1.0 / d } else { 0.0 })
}

/// `q = round(x·id)` for 16 values, halves away from zero; returns `Σq`.
#[inline(always)]
fn round16(q: &mut [i8], x: &[f32], id: f32) -> i32 {
    let mut sum = 0i32;
    for (q, &v) in q.iter_mut().zip(x) {
        let y = v * id;
        // |y| ≤ 127: truncating |y| + 0.5 is rounding half away from zero.
        let r = (y.abs() + 0.5) as i32;
        let r = if y < 0.0 { -r } else { r };
        *q = r as i8;
        sum += r;
    }
    sum
}

/// Quantizes `x` (a multiple of [`QK`] long) into `out` (`x.len() / QK` blocks): per block,
/// `d = max|x| / 127` and `q = round(x / d)`, halves away from zero (C's `roundf`, as GGML).
/// Written without branches or library calls so that it vectorizes; see
/// [`crate::kernels::quantize_act`] for the dispatching entry point.
#[inline(always)]
pub fn quantize_act(x: &[f32], out: &mut [BlockQ8]) {
    for (xb, o) in x.chunks_exact(QK).zip(out.iter_mut()) {
        let (d, id) = scale_of(xb);
        let mut sums = [0i32; 2];
        for (k, (qh, xh)) in
            o.qs.chunks_exact_mut(16)
                .zip(xb.chunks_exact(16))
                .enumerate()
        {
            sums[k] = round16(qh, xh, id);
        }
        let sum = sums[0] + sums[1];
        o.d = d;
        o.s = d * sum as f32;
        o.sum = sum;
        o.lo = sums[0];
    }
}

/// One super-block of activations quantized per [`QK_K`] values: `x ≈ qs·d`, and `bsums[k]` =
/// `Σ qs[16k..16k + 16]` (the minimums' and offsets' corrections of `Q4_K` and `Q6_K`).
#[derive(Debug, Clone, Copy)]
#[repr(C)]
pub struct BlockQ8K {
    /// The 8-bit values.
    pub qs: [i8; QK_K],
    /// The sums of each 16 values.
    pub bsums: [i16; QK_K / 16],
    /// Scale.
    pub d: f32,
}

impl Default for BlockQ8K {
    fn default() -> BlockQ8K {
        BlockQ8K {
            qs: [0; QK_K],
            bsums: [0; QK_K / 16],
            d: 0.0,
        }
    }
}

/// Quantizes `x` (a multiple of [`QK_K`] long) into `out` (`x.len() / QK_K` blocks) as
/// [`quantize_act`] does per 32 values, but per 256: `d = max|x| / 127`, `q = round(x / d)`,
/// halves away from zero. Vectorizes as it is written.
#[inline(always)]
pub fn quantize_act_k(x: &[f32], out: &mut [BlockQ8K]) {
    for (xb, o) in x.chunks_exact(QK_K).zip(out.iter_mut()) {
        let (d, id) = scale_of(xb);
        for ((qh, xh), bs) in
            o.qs.chunks_exact_mut(16)
                .zip(xb.chunks_exact(16))
                .zip(o.bsums.iter_mut())
        {
            // |sum| ≤ 16 · 127.
            *bs = round16(qh, xh, id) as i16;
        }
        o.d = d;
    }
}

/// Sub-block `j`'s 6-bit scale and minimum from a `Q4_K` block's 12 scale bytes (llama.cpp's
/// `get_scale_min_k4`).
#[inline(always)]
pub fn scale_min_k4(j: usize, q: &[u8]) -> (u8, u8) {
    if j < 4 {
        (q[j] & 63, q[j + 4] & 63)
    } else {
        (
            (q[j + 4] & 0x0f) | ((q[j - 4] >> 6) << 4),
            (q[j + 4] >> 4) | ((q[j] >> 6) << 4),
        )
    }
}

/// The 256 unsigned 6-bit values (0..63, weight = `d·scale·(q − 32)`) of a `Q6_K` block, in
/// weight order: in each half `h` (128 weights), weight `l` (l < 32) takes the low nibble of
/// `ql[64h + l]`, `l + 32` that of `ql[64h + 32 + l]`, `l + 64` the high nibble of `ql[64h + l]`,
/// `l + 96` that of `ql[64h + 32 + l]`; their high two bits are bits 0–1, 2–3, 4–5 and 6–7 of
/// `qh[32h + l]`.
pub fn q6_k_values(blk: &[u8]) -> [u8; QK_K] {
    let (ql, qh) = (&blk[..128], &blk[128..192]);
    let mut q = [0u8; QK_K];
    for h in 0..2 {
        for l in 0..32 {
            let (a, b, hb) = (ql[64 * h + l], ql[64 * h + 32 + l], qh[32 * h + l]);
            q[128 * h + l] = (a & 0x0f) | ((hb & 3) << 4);
            q[128 * h + l + 32] = (b & 0x0f) | (((hb >> 2) & 3) << 4);
            q[128 * h + l + 64] = (a >> 4) | (((hb >> 4) & 3) << 4);
            q[128 * h + l + 96] = (b >> 4) | (((hb >> 6) & 3) << 4);
        }
    }
    q
}

fn rd16(b: &[u8], at: usize) -> f32 {
    f16::to_f32(u16::from_le_bytes([b[at], b[at + 1]]))
}

/// Dequantizes one row (`row` holds `out.len()` weights in `qtype`).
pub fn dequantize_row(qtype: QType, row: &[u8], out: &mut [f32]) {
    match qtype {
        QType::F32 => {
            for (o, c) in out.iter_mut().zip(row.chunks_exact(4)) {
                *o = f32::from_le_bytes([c[0], c[1], c[2], c[3]]);
            }
        }
        QType::Q4_0 | QType::Q4_1 => {
            let bb = qtype.block_bytes();
            for (blk, o) in row.chunks_exact(bb).zip(out.chunks_exact_mut(QK)) {
                let d = rd16(blk, 0);
                let (m, qs) = if qtype == QType::Q4_1 {
                    (rd16(blk, 2), &blk[4..20])
                } else {
                    (-8.0 * d, &blk[2..18])
                };
                for j in 0..16 {
                    o[j] = (qs[j] & 0x0f) as f32 * d + m;
                    o[j + 16] = (qs[j] >> 4) as f32 * d + m;
                }
            }
        }
        QType::Q8_0 => {
            for (blk, o) in row.chunks_exact(34).zip(out.chunks_exact_mut(QK)) {
                let d = rd16(blk, 0);
                for (v, &q) in o.iter_mut().zip(&blk[2..34]) {
                    *v = q as i8 as f32 * d;
                }
            }
        }
        QType::Q4_K => {
            for (blk, o) in row.chunks_exact(144).zip(out.chunks_exact_mut(QK_K)) {
                let (d, dmin) = (rd16(blk, 0), rd16(blk, 2));
                let qs = &blk[16..144];
                for (j, sub) in o.chunks_exact_mut(QK).enumerate() {
                    let (sc, m) = scale_min_k4(j, &blk[4..16]);
                    let (ds, dm) = (d * sc as f32, dmin * m as f32);
                    let bytes = &qs[32 * (j / 2)..][..32];
                    for (v, &q) in sub.iter_mut().zip(bytes) {
                        let n = if j % 2 == 0 { q & 0x0f } else { q >> 4 };
                        *v = ds * n as f32 - dm;
                    }
                }
            }
        }
        QType::Q6_K => {
            for (blk, o) in row.chunks_exact(210).zip(out.chunks_exact_mut(QK_K)) {
                let d = rd16(blk, 208);
                let q = q6_k_values(blk);
                for (i, v) in o.iter_mut().enumerate() {
                    let sc = blk[192 + i / 16] as i8;
                    *v = d * sc as f32 * (q[i] as i32 - 32) as f32;
                }
            }
        }
    }
}

/// Quantizes f32 weights (a multiple of [`QK`]) to `Q8_0` blocks, as GGML does.
pub fn quantize_q8_0(x: &[f32]) -> Vec<u8> {
    let mut out = Vec::with_capacity(x.len() / QK * 34);
    for xb in x.chunks_exact(QK) {
        let amax = xb.iter().fold(0f32, |m, v| m.max(v.abs()));
        let d = amax / 127.0;
        let id = if d != 0.0 { 1.0 / d } else { 0.0 };
        out.extend_from_slice(&f16::from_f32(d).to_le_bytes());
        out.extend(xb.iter().map(|&v| (v * id).round() as i8 as u8));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn q8_0_round_trip_is_close() {
        let x: Vec<f32> = (0..64)
            .map(|i| ((i * 37 % 19) as f32 - 9.0) * 0.13)
            .collect();
        let q = quantize_q8_0(&x);
        assert_eq!(q.len(), QType::Q8_0.row_bytes(64));
        let mut back = vec![0f32; 64];
        dequantize_row(QType::Q8_0, &q, &mut back);
        for (a, b) in x.iter().zip(&back) {
            assert!((a - b).abs() <= 1.2 * 0.13 * 9.0 / 127.0, "{a} {b}");
        }
    }

    #[test]
    fn q4_1_dequantizes_nibbles_in_ggml_order() {
        let mut blk = vec![0u8; 20];
        blk[0..2].copy_from_slice(&f16::from_f32(0.5).to_le_bytes());
        blk[2..4].copy_from_slice(&f16::from_f32(-1.0).to_le_bytes());
        blk[4] = 0x3a; // weight 0 = 0xa, weight 16 = 0x3
        let mut out = vec![0f32; 32];
        dequantize_row(QType::Q4_1, &blk, &mut out);
        assert_eq!(out[0], 10.0 * 0.5 - 1.0);
        assert_eq!(out[16], 3.0 * 0.5 - 1.0);
        assert_eq!(out[1], -1.0);
    }

    #[test]
    fn activation_rounding_is_half_away_from_zero() {
        let mut x = [0f32; 32];
        x[0] = 127.0;
        x[1] = 2.5;
        x[2] = -2.5;
        x[3] = 0.49;
        x[4] = -126.5;
        let mut b = [BlockQ8::default()];
        quantize_act(&x, &mut b);
        assert_eq!(b[0].d, 1.0);
        assert_eq!(&b[0].qs[..5], &[127, 3, -3, 0, -127]);
    }

    #[test]
    fn activations_per_256_round_and_sum_like_those_per_32() {
        let x: Vec<f32> = (0..2 * QK_K)
            .map(|i| ((i * 37 % 101) as f32 - 50.0) * if i < QK_K { 0.01 } else { 3.0 })
            .collect();
        let mut k = [BlockQ8K::default(); 2];
        quantize_act_k(&x, &mut k);
        for (b, blk) in k.iter().enumerate() {
            let xb = &x[b * QK_K..(b + 1) * QK_K];
            let amax = xb.iter().fold(0f32, |m, v| m.max(v.abs()));
            assert_eq!(blk.d, amax / 127.0);
            assert_eq!(blk.qs.iter().map(|q| q.unsigned_abs()).max(), Some(127));
            for (i, (&q, &v)) in blk.qs.iter().zip(xb).enumerate() {
                assert!(
                    (q as f32 * blk.d - v).abs() <= 0.5 * blk.d * 1.0001,
                    "{b} {i}"
                );
            }
            for (s, q) in blk.bsums.iter().zip(blk.qs.chunks_exact(16)) {
                assert_eq!(*s as i32, q.iter().map(|&v| v as i32).sum::<i32>());
            }
        }
        // A 32-value block whose maximum is the super-block's gets the same values either way.
        let mut b = [BlockQ8::default()];
        let top = (0..QK_K / QK)
            .find(|&c| {
                k[1].qs[c * QK..(c + 1) * QK]
                    .iter()
                    .any(|q| q.unsigned_abs() == 127)
            })
            .unwrap();
        quantize_act(&x[QK_K + top * QK..QK_K + (top + 1) * QK], &mut b);
        assert_eq!(&b[0].qs[..], &k[1].qs[top * QK..(top + 1) * QK]);
        // Zeros give zeros, not NaN.
        let mut z = [BlockQ8K::default()];
        quantize_act_k(&[0.0; QK_K], &mut z);
        assert_eq!(z[0].d, 0.0);
        assert!(z[0].qs.iter().all(|&q| q == 0));
    }

    #[test]
    fn activation_sum_matches() {
        let x: Vec<f32> = (0..32).map(|i| i as f32 - 10.0).collect();
        let mut b = [BlockQ8::default()];
        quantize_act(&x, &mut b);
        let sum: i32 = b[0].qs.iter().map(|&q| q as i32).sum();
        assert_eq!(b[0].s, b[0].d * sum as f32);
        assert_eq!(b[0].sum, sum);
        let lo: i32 = b[0].qs[..16].iter().map(|&q| q as i32).sum();
        assert_eq!(b[0].lo, lo);
        assert_eq!(b[0].qs[31], 127);
    }
}
