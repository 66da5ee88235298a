//! GGML weight formats this engine multiplies natively, and the 8-bit activation blocks they are
//! multiplied with.
//!
//! A quantized row is a run of blocks of [`QK`] weights, each stored as in a GGUF file:
//! - `Q4_0`: f16 scale `d`, 16 bytes of nibbles; weight = (q − 8)·d;
//! - `Q4_1`: f16 scale `d`, f16 minimum `m`, 16 bytes of nibbles; weight = q·d + m;
//! - `Q8_0`: f16 scale `d`, 32 signed bytes; weight = q·d.
//!
//! Nibble `j` of a block (0 ≤ j < 16) is the low half of byte `j`; nibble `j + 16` its high half.
//! Activations are quantized per block to [`BlockQ8`] (8-bit, f32 scale, and the scaled sum that
//! `Q4_0`/`Q4_1` need), as llama.cpp does with its `Q8_0`/`Q8_1` activations.

use crate::f16;

/// Weights per block.
pub const QK: usize = 32;

/// A weight format.
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
}

impl QType {
    /// Bytes of one block of [`QK`] weights.
    pub fn block_bytes(self) -> usize {
        match self {
            QType::F32 => 4 * QK,
            QType::Q4_0 => 18,
            QType::Q4_1 => 20,
            QType::Q8_0 => 34,
        }
    }

    /// Bytes of a row of `cols` weights (`cols` a multiple of [`QK`] for the block formats).
    pub fn row_bytes(self, cols: usize) -> usize {
        match self {
            QType::F32 => 4 * cols,
            q => cols / QK * q.block_bytes(),
        }
    }

    /// The GGML type id (as in GGUF files).
    pub fn ggml_id(self) -> u32 {
        match self {
            QType::F32 => 0,
            QType::Q4_0 => 2,
            QType::Q4_1 => 3,
            QType::Q8_0 => 8,
        }
    }

    /// The format for a GGML type id, when this engine runs it natively.
    pub fn from_ggml_id(id: u32) -> Option<QType> {
        match id {
            0 => Some(QType::F32),
            2 => Some(QType::Q4_0),
            3 => Some(QType::Q4_1),
            8 => Some(QType::Q8_0),
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
        }
    }
}

/// One block of quantized activations: `x ≈ qs·d`, `sum = Σqs` and `s = d·sum`.
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
}

/// Quantizes `x` (a multiple of [`QK`] long) into `out` (`x.len() / QK` blocks): per block,
/// `d = max|x| / 127` and `q = round(x / d)`, halves away from zero (C's `roundf`, as GGML).
/// Written without branches or library calls so that it vectorizes; see
/// [`crate::kernels::quantize_act`] for the dispatching entry point.
#[inline(always)]
pub fn quantize_act(x: &[f32], out: &mut [BlockQ8]) {
    for (xb, o) in x.chunks_exact(QK).zip(out.iter_mut()) {
        let mut lanes = [0f32; 8];
        for c in xb.chunks_exact(8) {
            for (m, v) in lanes.iter_mut().zip(c) {
                let a = v.abs();
                *m = if a > *m { a } else { *m };
            }
        }
        let amax = lanes.iter().fold(0f32, |m, &v| if v > m { v } else { m });
        let d = amax / 127.0;
        let id = if d != 0.0 { 1.0 / d } else { 0.0 };
        let mut sum = 0i32;
        for (q, &v) in o.qs.iter_mut().zip(xb) {
            let y = v * id;
            // |y| ≤ 127: truncating |y| + 0.5 is rounding half away from zero.
            let r = (y.abs() + 0.5) as i32;
            let r = if y < 0.0 { -r } else { r };
            *q = r as i8;
            sum += r;
        }
        o.d = d;
        o.s = d * sum as f32;
        o.sum = sum;
    }
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
    fn activation_sum_matches() {
        let x: Vec<f32> = (0..32).map(|i| i as f32 - 10.0).collect();
        let mut b = [BlockQ8::default()];
        quantize_act(&x, &mut b);
        let sum: i32 = b[0].qs.iter().map(|&q| q as i32).sum();
        assert_eq!(b[0].s, b[0].d * sum as f32);
        assert_eq!(b[0].sum, sum);
        assert_eq!(b[0].qs[31], 127);
    }
}
