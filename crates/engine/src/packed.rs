//! Weight rows repacked for the AVX-512 kernels (and, for `Q4_0`/`Q4_1`/`Q8_0`, the AVX2 ones,
//! which read each 64-byte vector as two halves of 8 rows): [`GROUP`] rows interleaved block by
//! block, so one 512-bit vector holds four consecutive weights of each of 16 rows and one
//! `vpdpbusd` multiplies them with four activation bytes broadcast to every lane (as llama.cpp
//! repacks `Q4_0`/`Q4_1` for its AVX-512 GEMMs).
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
//! The K-quants are packed per super-block ([`QK_K`] columns of 16 rows), at exactly their GGUF
//! size:
//! - `Q4_K` (2,304 bytes): the 16 `d` (f16), the 16 `dmin`, then the 12 scale bytes as 12 runs
//!   of 16 (byte `k` of row `r` at `64 + 16k + r`), then for each 64-weight chunk `c` 8 vectors
//!   of 64 bytes: in vector `i`, bytes `4r..4r + 4` are bytes `4i..4i + 4` of row `r`'s chunk
//!   (low nibbles: weights `4i..4i + 4` of sub-block `2c`; high: of sub-block `2c + 1`);
//! - `Q6_K` (3,360 bytes): the 16 `d`, the 16 scales as 16 runs of 16 (scale `k` of row `r` at
//!   `32 + 16k + r`), then for each 32-weight block `j` 6 vectors of 64 bytes: 4 of low
//!   nibbles (vector `i`, bytes `4r + b`: weight `32j + 4i + b` low, `32j + 16 + 4i + b` high)
//!   and 2 of high bit pairs (vector `h`, byte `4r + b`, bits `2i..2i + 2`: the top two bits of
//!   weight `32j + 16h + 4i + b`).
//!
//! Nothing is rounded on the way: [`unpack_row`] gives back the GGUF bytes exactly.

use crate::pages::Pages;
use crate::quant::{q6_k_values, QType, QK, QK_K};

/// Rows per group (the lanes of a 512-bit vector of i32 sums).
pub const GROUP: usize = 16;

/// Bytes of one packed block (the [`QType::block_len`] columns of [`GROUP`] rows); 0 for
/// `F32`, which is never packed.
pub fn block_bytes(qtype: QType) -> usize {
    match qtype {
        QType::Q4_0 => 32 + 4 * 64,
        QType::Q4_1 => 64 + 4 * 64,
        QType::Q8_0 => 32 + 8 * 64,
        QType::Q4_K | QType::Q6_K => GROUP * qtype.block_bytes(),
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
    cols / qtype.block_len() * block_bytes(qtype)
}

/// Calls `f(packed_at, gguf_at)` for every byte of a K-quant block of row `r` that is moved
/// as it is (scales, minimums; `Q4_K`'s nibbles): packing and unpacking are the same walk.
fn k_places(qtype: QType, r: usize, mut f: impl FnMut(usize, usize)) {
    match qtype {
        QType::Q4_K => {
            for b in 0..2 {
                f(2 * r + b, b);
                f(32 + 2 * r + b, 2 + b);
            }
            for k in 0..12 {
                f(64 + 16 * k + r, 4 + k);
            }
            for c in 0..4 {
                for i in 0..8 {
                    for b in 0..4 {
                        f(256 + 512 * c + 64 * i + 4 * r + b, 16 + 32 * c + 4 * i + b);
                    }
                }
            }
        }
        QType::Q6_K => {
            for b in 0..2 {
                f(2 * r + b, 208 + b);
            }
            for k in 0..16 {
                f(32 + 16 * k + r, 192 + k);
            }
        }
        _ => unreachable!("k_places is for K-quants"),
    }
}

/// Where the quant vectors of a packed `Q6_K` block start.
const Q6_K_QUANTS: usize = 32 + 256;

/// Puts the 6-bit values of row `r`'s `Q6_K` block `blk` into a packed block's quant vectors
/// (see the module documentation; `dst` starts zeroed there).
fn q6_k_pack(dst: &mut [u8], r: usize, blk: &[u8]) {
    let q = q6_k_values(blk);
    for j in 0..QK_K / QK {
        let v = &mut dst[Q6_K_QUANTS + 384 * j..][..384];
        for i in 0..4 {
            for b in 0..4 {
                let (lo, hi) = (q[32 * j + 4 * i + b], q[32 * j + 16 + 4 * i + b]);
                v[64 * i + 4 * r + b] = (lo & 0x0f) | (hi << 4);
                v[256 + 4 * r + b] |= (lo >> 4) << (2 * i);
                v[320 + 4 * r + b] |= (hi >> 4) << (2 * i);
            }
        }
    }
}

/// The inverse of [`q6_k_pack`]: row `r`'s values back into `ql` and `qh` of `blk`.
fn q6_k_unpack(src: &[u8], r: usize, blk: &mut [u8]) {
    let mut q = [0u8; QK_K];
    for j in 0..QK_K / QK {
        let v = &src[Q6_K_QUANTS + 384 * j..][..384];
        for i in 0..4 {
            for b in 0..4 {
                let l = v[64 * i + 4 * r + b];
                let (h0, h1) = (v[256 + 4 * r + b], v[320 + 4 * r + b]);
                q[32 * j + 4 * i + b] = (l & 0x0f) | (((h0 >> (2 * i)) & 3) << 4);
                q[32 * j + 16 + 4 * i + b] = (l >> 4) | (((h1 >> (2 * i)) & 3) << 4);
            }
        }
    }
    let (ql, qh) = blk[..192].split_at_mut(128);
    for h in 0..2 {
        for l in 0..32 {
            let w = |k: usize| q[128 * h + l + 32 * k];
            ql[64 * h + l] = (w(0) & 0x0f) | ((w(2) & 0x0f) << 4);
            ql[64 * h + 32 + l] = (w(1) & 0x0f) | ((w(3) & 0x0f) << 4);
            qh[32 * h + l] =
                (w(0) >> 4) | ((w(1) >> 4) << 2) | ((w(2) >> 4) << 4) | ((w(3) >> 4) << 6);
        }
    }
}

/// Packs `rows` rows of GGUF blocks (`src`, `cols` weights a row, `cols` a multiple of
/// [`QK`]) into groups. `qtype` must be a block format.
pub fn pack(qtype: QType, rows: usize, cols: usize, src: &[u8]) -> Pages {
    if matches!(qtype, QType::Q4_K | QType::Q6_K) {
        return pack_k(qtype, rows, cols, src);
    }
    let nb = cols / QK;
    let (bb, pbb, rb) = (
        qtype.block_bytes(),
        block_bytes(qtype),
        qtype.row_bytes(cols),
    );
    let groups = rows.div_ceil(GROUP);
    let mut out = Pages::zeroed(groups * nb * pbb);
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
                    QType::F32 | QType::Q4_K | QType::Q6_K => {}
                }
            }
        }
    }
    out
}

/// [`pack`] for the K-quants: padding rows are all zero bytes (zero scales: zero weights; a
/// `Q6_K` zero byte is `q = 0`, weight `d·0·(0 − 32)` = 0).
fn pack_k(qtype: QType, rows: usize, cols: usize, src: &[u8]) -> Pages {
    let nb = cols / QK_K;
    let (bb, pbb, rb) = (
        qtype.block_bytes(),
        block_bytes(qtype),
        qtype.row_bytes(cols),
    );
    let mut out = Pages::zeroed(rows.div_ceil(GROUP) * nb * pbb);
    for (g, dst_g) in out.chunks_exact_mut(nb * pbb).enumerate() {
        for (b, dst) in dst_g.chunks_exact_mut(pbb).enumerate() {
            for r in 0..GROUP.min(rows - g * GROUP) {
                let blk = &src[(g * GROUP + r) * rb + b * bb..][..bb];
                k_places(qtype, r, |p, q| dst[p] = blk[q]);
                if qtype == QType::Q6_K {
                    q6_k_pack(dst, r, blk);
                }
            }
        }
    }
    out
}

/// Writes row `row` of a packed matrix (`cols` wide) back as GGUF blocks into `out`
/// (`qtype.row_bytes(cols)` bytes).
pub fn unpack_row(qtype: QType, packed: &[u8], cols: usize, row: usize, out: &mut [u8]) {
    if matches!(qtype, QType::Q4_K | QType::Q6_K) {
        let (bb, pbb) = (qtype.block_bytes(), block_bytes(qtype));
        let gb = group_bytes(qtype, cols);
        let group = &packed[row / GROUP * gb..][..gb];
        for (src, blk) in group.chunks_exact(pbb).zip(out.chunks_exact_mut(bb)) {
            k_places(qtype, row % GROUP, |p, q| blk[q] = src[p]);
            if qtype == QType::Q6_K {
                q6_k_unpack(src, row % GROUP, blk);
            }
        }
        return;
    }
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
            QType::F32 | QType::Q4_K | QType::Q6_K => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packing_round_trips_every_row_including_a_padded_group() {
        for qtype in crate::quant::BLOCK_FORMATS {
            let (rows, cols) = (21, 3 * qtype.block_len());
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
