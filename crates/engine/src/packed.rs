//! Weight rows repacked for the AVX-512 kernels: [`GROUP`] rows interleaved block by block, so
//! one 512-bit vector holds four consecutive weights of each of 16 rows and one `vpdpbusd`
//! multiplies them with four activation bytes broadcast to every lane (as llama.cpp repacks
//! `Q4_0`/`Q4_1` for its AVX-512 GEMMs).
//!
//! A matrix becomes `⌈rows / 16⌉` groups; the last one is padded with zero rows. A group holds
//! its blocks in order; one packed block (the [`QK`] columns of 16 rows) is:
//! - the 16 rows' f16 scales `d` (32 bytes); for `Q4_1` then the 16 f16 minimums (32 bytes);
//! - `Q4_0`/`Q4_1`: 4 vectors of 64 bytes; in vector `i`, bytes `4r..4r + 4` are bytes
//!   `4i..4i + 4` of row `r`'s nibbles, so their low halves are weights `4i..4i + 4` and their
//!   high halves weights `16 + 4i..16 + 4i + 4`;
//! - `Q8_0`: 8 vectors of 64 bytes; in vector `c`, bytes `4r..4r + 4` are weights
//!   `4c..4c + 4` of row `r`, plus 128 (stored unsigned, as `vpdpbusd` wants its first operand).
//!
//! Nothing is rounded on the way: [`unpack_row`] gives back the GGUF bytes exactly.

use crate::quant::{QType, QK};

/// Rows per group (the lanes of a 512-bit vector of i32 sums).
pub const GROUP: usize = 16;

/// Bytes of one packed block (the [`QK`] columns of [`GROUP`] rows); 0 for `F32`, which is
/// never packed.
pub fn block_bytes(qtype: QType) -> usize {
    match qtype {
        QType::Q4_0 => 32 + 4 * 64,
        QType::Q4_1 => 64 + 4 * 64,
        QType::Q8_0 => 32 + 8 * 64,
        QType::F32 => 0,
    }
}

/// Where the weights of a packed block start (after the scales).
fn quants_at(qtype: QType) -> usize {
    if qtype == QType::Q4_1 {
        64
    } else {
        32
    }
}

/// Bytes of one group of rows `cols` wide.
pub fn group_bytes(qtype: QType, cols: usize) -> usize {
    cols / QK * block_bytes(qtype)
}

/// Packs `rows` rows of GGUF blocks (`src`, `cols` weights a row, `cols` a multiple of
/// [`QK`]) into groups. `qtype` must be a block format.
pub fn pack(qtype: QType, rows: usize, cols: usize, src: &[u8]) -> Vec<u8> {
    let nb = cols / QK;
    let (bb, pbb, rb) = (
        qtype.block_bytes(),
        block_bytes(qtype),
        qtype.row_bytes(cols),
    );
    let groups = rows.div_ceil(GROUP);
    let mut out = vec![0u8; groups * nb * pbb];
    let qa = quants_at(qtype);
    for (g, dst_g) in out.chunks_exact_mut(nb * pbb).enumerate() {
        for (b, dst) in dst_g.chunks_exact_mut(pbb).enumerate() {
            for r in 0..GROUP {
                let row = g * GROUP + r;
                if row >= rows {
                    if qtype == QType::Q8_0 {
                        // A zero weight, biased.
                        for c in 0..8 {
                            dst[qa + 64 * c + 4 * r..][..4].fill(0x80);
                        }
                    }
                    continue;
                }
                let blk = &src[row * rb + b * bb..][..bb];
                dst[2 * r..2 * r + 2].copy_from_slice(&blk[..2]);
                match qtype {
                    QType::Q4_0 | QType::Q4_1 => {
                        let qs = if qtype == QType::Q4_1 {
                            dst[32 + 2 * r..32 + 2 * r + 2].copy_from_slice(&blk[2..4]);
                            &blk[4..20]
                        } else {
                            &blk[2..18]
                        };
                        for i in 0..4 {
                            dst[qa + 64 * i + 4 * r..][..4].copy_from_slice(&qs[4 * i..4 * i + 4]);
                        }
                    }
                    QType::Q8_0 => {
                        for c in 0..8 {
                            for j in 0..4 {
                                dst[qa + 64 * c + 4 * r + j] = blk[2 + 4 * c + j] ^ 0x80;
                            }
                        }
                    }
                    QType::F32 => {}
                }
            }
        }
    }
    out
}

/// Writes row `row` of a packed matrix (`cols` wide) back as GGUF blocks into `out`
/// (`qtype.row_bytes(cols)` bytes).
pub fn unpack_row(qtype: QType, packed: &[u8], cols: usize, row: usize, out: &mut [u8]) {
    let nb = cols / QK;
    let (bb, pbb) = (qtype.block_bytes(), block_bytes(qtype));
    let (g, r) = (row / GROUP, row % GROUP);
    let qa = quants_at(qtype);
    let group = &packed[g * nb * pbb..][..nb * pbb];
    for (src, blk) in group.chunks_exact(pbb).zip(out.chunks_exact_mut(bb)) {
        blk[..2].copy_from_slice(&src[2 * r..2 * r + 2]);
        match qtype {
            QType::Q4_0 | QType::Q4_1 => {
                let qs = if qtype == QType::Q4_1 {
                    blk[2..4].copy_from_slice(&src[32 + 2 * r..32 + 2 * r + 2]);
                    &mut blk[4..20]
                } else {
                    &mut blk[2..18]
                };
                for i in 0..4 {
                    qs[4 * i..4 * i + 4].copy_from_slice(&src[qa + 64 * i + 4 * r..][..4]);
                }
            }
            QType::Q8_0 => {
                for c in 0..8 {
                    for j in 0..4 {
                        blk[2 + 4 * c + j] = src[qa + 64 * c + 4 * r + j] ^ 0x80;
                    }
                }
            }
            QType::F32 => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packing_round_trips_every_row_including_a_padded_group() {
        for qtype in [QType::Q4_0, QType::Q4_1, QType::Q8_0] {
            let (rows, cols) = (21, 3 * QK);
            let rb = qtype.row_bytes(cols);
            let src: Vec<u8> = (0..rows * rb).map(|i| (i * 131 % 251) as u8).collect();
            let p = pack(qtype, rows, cols, &src);
            assert_eq!(p.len(), 2 * group_bytes(qtype, cols));
            let mut back = vec![0u8; rb];
            for r in 0..rows {
                unpack_row(qtype, &p, cols, r, &mut back);
                assert_eq!(back, &src[r * rb..(r + 1) * rb], "{qtype:?} row {r}");
            }
            // Padding rows read back as zero weights with a zero scale.
            unpack_row(qtype, &p, cols, rows, &mut back);
            let mut w = vec![1f32; cols];
            crate::quant::dequantize_row(qtype, &back, &mut w);
            assert!(w.iter().all(|&v| v == 0.0), "{qtype:?} padding");
        }
    }
}
