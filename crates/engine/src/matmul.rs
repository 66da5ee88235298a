//! Weight matrices and the parallel matrix product `out = act · Wᵀ`.
//!
//! Threads split the weight rows (of all the matrices of one call together, so the query, key
//! and value projections, or the gate and up projections, are one dispatch; packed matrices in
//! whole groups of 16 rows); each thread walks its rows in chunks of [`CHUNK`] and, for each
//! chunk, the activation rows in tiles of [`TILE`]: a chunk of weights stays in cache while
//! every tile of a prompt passes over it (a blocked matrix product), and a weight block is
//! unpacked once per tile.

use crate::kernels::{
    dot_f32_rows, dot_k, dot_packed, dot_q, quantize_act, quantize_act_k, Isa, TILE,
};
use crate::packed::{self, GROUP};
use crate::pages::Pages;
use crate::pool::{share, Pool, SharedMut};
use crate::quant::{dequantize_row, BlockQ8, BlockQ8K, QType, QK, QK_K};

/// Where a matrix keeps its weights.
#[derive(Debug, Clone)]
enum Storage {
    /// GGUF blocks as stored.
    Blocks(Pages),
    /// Groups of 16 rows, see [`crate::packed`].
    Packed(Pages),
    F32(Vec<f32>),
}

/// A `rows × cols` weight matrix, row-major, in one [`QType`].
#[derive(Debug, Clone)]
pub struct QMatrix {
    qtype: QType,
    rows: usize,
    cols: usize,
    data: Storage,
}

impl QMatrix {
    /// A matrix of blocks as stored in a GGUF file (`bytes` holds `rows` rows of `cols`).
    pub fn from_blocks(
        qtype: QType,
        rows: usize,
        cols: usize,
        bytes: Vec<u8>,
    ) -> Result<QMatrix, String> {
        if qtype == QType::F32 {
            if bytes.len() != rows * cols * 4 {
                return Err(format!(
                    "{rows}×{cols} F32 needs {} bytes, got {}",
                    rows * cols * 4,
                    bytes.len()
                ));
            }
            let v = bytes
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect();
            return Ok(QMatrix::from_f32(rows, cols, v));
        }
        if !cols.is_multiple_of(qtype.block_len()) {
            return Err(format!(
                "{} rows must be a multiple of {} wide, got {cols}",
                qtype.name(),
                qtype.block_len()
            ));
        }
        let want = rows * qtype.row_bytes(cols);
        if bytes.len() != want {
            return Err(format!(
                "{rows}×{cols} {} needs {want} bytes, got {}",
                qtype.name(),
                bytes.len()
            ));
        }
        Ok(QMatrix {
            qtype,
            rows,
            cols,
            data: Storage::Blocks(Pages::from_slice(&bytes)),
        })
    }

    /// An f32 matrix (`data.len() == rows * cols`).
    pub fn from_f32(rows: usize, cols: usize, data: Vec<f32>) -> QMatrix {
        assert_eq!(data.len(), rows * cols, "f32 matrix size");
        QMatrix {
            qtype: QType::F32,
            rows,
            cols,
            data: Storage::F32(data),
        }
    }

    /// The format.
    pub fn qtype(&self) -> QType {
        self.qtype
    }

    /// Output rows.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Input columns.
    pub fn cols(&self) -> usize {
        self.cols
    }

    /// Bytes of weights held.
    pub fn bytes(&self) -> usize {
        match &self.data {
            Storage::Blocks(b) | Storage::Packed(b) => b.len(),
            Storage::F32(v) => v.len() * 4,
        }
    }

    /// Rearranges the weights for the kernels of `isa`: block formats that level packs
    /// ([`Isa::packs`]) are repacked 16 rows to a group ([`crate::packed`]); otherwise nothing
    /// changes.
    /// Products and row lookups give the same values either way for that level.
    pub fn prepare(&mut self, isa: Isa) {
        if !isa.packs(self.qtype) {
            return;
        }
        if let Storage::Blocks(b) = &self.data {
            let p = packed::pack(self.qtype, self.rows, self.cols, b);
            self.data = Storage::Packed(p);
        }
    }

    /// Whether the weights are held repacked ([`QMatrix::prepare`]).
    pub fn is_packed(&self) -> bool {
        matches!(self.data, Storage::Packed(_))
    }

    /// Rows the threads' shares are counted in: a packed group, or one row.
    fn unit(&self) -> usize {
        if self.is_packed() {
            GROUP
        } else {
            1
        }
    }

    /// Whether products with this matrix take activations quantized per super-block
    /// ([`Isa::q8k`]).
    fn takes_q8k(&self, isa: Isa) -> bool {
        isa.q8k()
            && matches!(self.qtype, QType::Q4_K | QType::Q6_K)
            && matches!(self.data, Storage::Blocks(_))
    }

    fn units(&self) -> usize {
        self.rows.div_ceil(self.unit())
    }

    /// Row `r` as f32 (an embedding lookup).
    pub fn dequantize_row(&self, r: usize, out: &mut [f32]) {
        match &self.data {
            Storage::F32(v) => out.copy_from_slice(&v[r * self.cols..(r + 1) * self.cols]),
            Storage::Blocks(b) => {
                let rb = self.qtype.row_bytes(self.cols);
                dequantize_row(self.qtype, &b[r * rb..(r + 1) * rb], out)
            }
            Storage::Packed(p) => {
                let mut raw = vec![0u8; self.qtype.row_bytes(self.cols)];
                packed::unpack_row(self.qtype, p, self.cols, r, &mut raw);
                dequantize_row(self.qtype, &raw, out)
            }
        }
    }
}

/// Activation rows (`rows × cols` f32) and the 8-bit blocks [`matmul`] quantizes them into
/// for the formats of its products.
#[derive(Debug, Default)]
pub struct Act {
    rows: usize,
    cols: usize,
    /// The f32 values, row-major.
    pub x: Vec<f32>,
    q: Vec<BlockQ8>,
    k: Vec<BlockQ8K>,
}

impl Act {
    /// Resizes to `rows × cols` (contents unspecified until written).
    pub fn reset(&mut self, rows: usize, cols: usize) {
        self.rows = rows;
        self.cols = cols;
        self.x.resize(rows * cols, 0.0);
    }

    /// Rows.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Quantizes every row for the products' weights: into blocks of [`QK`] for block formats,
    /// and per super-block ([`BlockQ8K`]) for K-quant matrices that take them
    /// ([`Isa::q8k`]). Block formats' widths are multiples of their block length (checked
    /// when a matrix is made), so each needed form divides the rows evenly.
    fn quantize_for(&mut self, isa: Isa, products: &[Product<'_>]) {
        let needs = |k: bool| {
            products
                .iter()
                .any(|p| p.w.qtype != QType::F32 && p.w.takes_q8k(isa) == k)
        };
        if needs(false) {
            quantize_rows(&self.x, self.cols, QK, &mut self.q, |x, q| {
                quantize_act(isa, x, q)
            });
        }
        if needs(true) {
            quantize_rows(&self.x, self.cols, QK_K, &mut self.k, |x, k| {
                quantize_act_k(isa, x, k)
            });
        }
    }

    fn q_row(&self, t: usize) -> &[BlockQ8] {
        let nb = self.cols / QK;
        &self.q[t * nb..(t + 1) * nb]
    }

    fn k_row(&self, t: usize) -> &[BlockQ8K] {
        let nb = self.cols / QK_K;
        &self.k[t * nb..(t + 1) * nb]
    }

    fn x_row(&self, t: usize) -> &[f32] {
        &self.x[t * self.cols..(t + 1) * self.cols]
    }
}

/// Quantizes each row of `x` (`cols` wide) with `f` into `cols / per` blocks of `out`.
fn quantize_rows<B: Copy + Default>(
    x: &[f32],
    cols: usize,
    per: usize,
    out: &mut Vec<B>,
    f: impl Fn(&[f32], &mut [B]),
) {
    let nb = cols / per;
    out.resize(x.len() / cols * nb, B::default());
    for (xr, o) in x.chunks_exact(cols).zip(out.chunks_exact_mut(nb)) {
        f(xr, o);
    }
}

/// Weight rows per kernel call (the results of a tile of rows stay on the stack; a multiple of
/// [`GROUP`]).
pub const CHUNK: usize = 64;

/// One product of a call: `out[t][r] = act[t] · w[r]`, `out` is `act.rows() × w.rows()`.
pub struct Product<'a> {
    /// The weights.
    pub w: &'a QMatrix,
    /// Where the result goes.
    pub out: &'a mut [f32],
}

/// Runs the products, sharing the weight rows of all of them out to the pool's threads, after
/// quantizing the activations for their formats.
pub fn matmul(pool: &Pool, isa: Isa, act: &mut Act, products: &mut [Product<'_>]) {
    act.quantize_for(isa, products);
    let act = &*act;
    let t_rows = act.rows;
    let mut starts = Vec::with_capacity(products.len());
    let mut total = 0;
    for p in products.iter() {
        assert_eq!(p.w.cols, act.cols, "matmul: activation width");
        assert!(p.out.len() >= t_rows * p.w.rows, "matmul: output size");
        starts.push(total);
        total += p.w.units();
    }
    let outs: Vec<(&QMatrix, SharedMut<f32>)> = products
        .iter_mut()
        .map(|p| (p.w, SharedMut(p.out.as_mut_ptr())))
        .collect();
    let work = |i: usize, n: usize| {
        let mine = share(total, i, n);
        let mut buf = [0f32; TILE * CHUNK];
        for (k, (w, out)) in outs.iter().enumerate() {
            let lo = mine.start.max(starts[k]);
            let hi = mine.end.min(starts[k] + w.units());
            if lo >= hi {
                continue;
            }
            let unit = w.unit();
            let (lo, hi) = (
                (lo - starts[k]) * unit,
                ((hi - starts[k]) * unit).min(w.rows),
            );
            let mut r0 = lo;
            while r0 < hi {
                let rn = (hi - r0).min(CHUNK);
                let mut t0 = 0;
                while t0 < t_rows {
                    let tn = (t_rows - t0).min(TILE);
                    let dst = &mut buf[..tn * rn];
                    match &w.data {
                        Storage::F32(v) => {
                            let acts: [&[f32]; TILE] =
                                std::array::from_fn(|j| act.x_row(t0 + j.min(tn - 1)));
                            let rows = &v[r0 * w.cols..(r0 + rn) * w.cols];
                            dot_f32_rows(isa, rows, w.cols, &acts[..tn], dst);
                        }
                        Storage::Blocks(b) if w.takes_q8k(isa) => {
                            let acts: [&[BlockQ8K]; TILE] =
                                std::array::from_fn(|j| act.k_row(t0 + j.min(tn - 1)));
                            let rb = w.qtype.row_bytes(w.cols);
                            dot_k(isa, w.qtype, &b[r0 * rb..(r0 + rn) * rb], &acts[..tn], dst);
                        }
                        Storage::Blocks(b) => {
                            let acts: [&[BlockQ8]; TILE] =
                                std::array::from_fn(|j| act.q_row(t0 + j.min(tn - 1)));
                            let rb = w.qtype.row_bytes(w.cols);
                            dot_q(w.qtype, &b[r0 * rb..(r0 + rn) * rb], &acts[..tn], dst);
                        }
                        Storage::Packed(p) => {
                            let acts: [&[BlockQ8]; TILE] =
                                std::array::from_fn(|j| act.q_row(t0 + j.min(tn - 1)));
                            let gb = packed::group_bytes(w.qtype, w.cols);
                            // r0 starts a group: shares and chunks are whole groups.
                            let (g0, g1) = (r0 / GROUP, (r0 + rn).div_ceil(GROUP));
                            dot_packed(isa, w.qtype, &p[g0 * gb..g1 * gb], rn, &acts[..tn], dst);
                        }
                    }
                    for j in 0..tn {
                        // SAFETY: thread i writes only rows of its share; shares are disjoint,
                        // and row t0 + j, columns r0..r0 + rn are inside `out` (checked above).
                        unsafe {
                            std::ptr::copy_nonoverlapping(
                                dst[j * rn..].as_ptr(),
                                out.ptr().add((t0 + j) * w.rows + r0),
                                rn,
                            )
                        };
                    }
                    t0 += tn;
                }
                r0 += rn;
            }
        }
    };
    pool.run(&work);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::quant::quantize_q8_0;

    #[test]
    fn products_match_a_plain_loop_for_any_thread_count() {
        let (rows, cols, t_rows) = (37, 64, 11);
        let wf: Vec<f32> = (0..rows * cols)
            .map(|i| ((i * 31 % 17) as f32 - 8.0) * 0.05)
            .collect();
        let wq = QMatrix::from_blocks(QType::Q8_0, rows, cols, quantize_q8_0(&wf)).unwrap();
        let w32 = QMatrix::from_f32(rows, cols, wf.clone());
        let mut act = Act::default();
        act.reset(t_rows, cols);
        for (i, v) in act.x.iter_mut().enumerate() {
            *v = ((i * 7 % 13) as f32 - 6.0) * 0.1;
        }
        let isa = Isa::detect();
        let mut first: Option<Vec<f32>> = None;
        for threads in [1, 2, 3] {
            let pool = Pool::new(threads);
            let mut a = vec![0f32; t_rows * rows];
            let mut b = vec![0f32; t_rows * rows];
            matmul(
                &pool,
                isa,
                &mut act,
                &mut [
                    Product {
                        w: &wq,
                        out: &mut a,
                    },
                    Product {
                        w: &w32,
                        out: &mut b,
                    },
                ],
            );
            for t in 0..t_rows {
                for r in 0..rows {
                    let want: f32 = (0..cols)
                        .map(|c| act.x[t * cols + c] * wf[r * cols + c])
                        .sum();
                    assert!((b[t * rows + r] - want).abs() < 1e-4, "f32 {t} {r}");
                    assert!((a[t * rows + r] - want).abs() < 0.05, "q8 {t} {r}");
                }
            }
            // The thread count does not change a single bit.
            match &first {
                None => first = Some(a),
                Some(f) => assert_eq!(f, &a),
            }
        }
    }

    /// Packed matrices (the AVX-512 layout) give the portable kernels' bits for any thread
    /// count, tile and partial group, and look rows up unchanged.
    #[test]
    fn packed_products_match_the_portable_ones_bit_for_bit() {
        let (rows, cols, t_rows) = (53, 96, 19);
        let wf: Vec<f32> = (0..rows * cols)
            .map(|i| ((i * 37 % 23) as f32 - 11.0) * 0.03)
            .collect();
        let plain = QMatrix::from_blocks(QType::Q8_0, rows, cols, quantize_q8_0(&wf)).unwrap();
        let mut act = Act::default();
        act.reset(t_rows, cols);
        for (i, v) in act.x.iter_mut().enumerate() {
            *v = ((i * 5 % 11) as f32 - 3.0) * 0.2;
        }
        let mut want = vec![0f32; t_rows * rows];
        matmul(
            &Pool::new(1),
            Isa::Generic,
            &mut act,
            &mut [Product {
                w: &plain,
                out: &mut want,
            }],
        );
        let isa = Isa::best();
        let mut packed = plain.clone();
        packed.prepare(isa);
        assert_eq!(packed.is_packed(), isa.packs(QType::Q8_0));
        let mut a = vec![0f32; cols];
        let mut b = vec![0f32; cols];
        for r in [0, 15, 16, rows - 1] {
            plain.dequantize_row(r, &mut a);
            packed.dequantize_row(r, &mut b);
            assert_eq!(a, b, "row {r}");
        }
        for threads in [1, 2, 3] {
            let mut got = vec![0f32; t_rows * rows];
            matmul(
                &Pool::new(threads),
                isa,
                &mut act,
                &mut [Product {
                    w: &packed,
                    out: &mut got,
                }],
            );
            if isa.packs(QType::Q8_0) {
                assert!(got
                    .iter()
                    .zip(&want)
                    .all(|(g, w)| g.to_bits() == w.to_bits()));
            } else {
                assert!(got.iter().zip(&want).all(|(g, w)| (g - w).abs() < 1e-4));
            }
        }
    }

    /// K-quant matrices beside a `Q8_0` one in one call: at AVX2 the K-quant products take
    /// activations quantized per 256 values, the `Q8_0` one blocks of 32, both quantized here
    /// from the same rows. Close to the dequantized weights' f32 product, and the same bits for
    /// any thread count.
    #[test]
    fn k_quant_products_beside_other_formats_match_a_plain_loop() {
        let (rows, cols, t_rows) = (21, 2 * QK_K, 10);
        let mut x = 7u64;
        let mut r = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            ((x >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
        };
        let mut mats: Vec<QMatrix> = [QType::Q4_K, QType::Q6_K]
            .into_iter()
            .map(|q| {
                let nb = rows * cols / QK_K;
                let b = crate::quant::random_k_blocks(q, nb, 0.002, &mut r);
                QMatrix::from_blocks(q, rows, cols, b).unwrap()
            })
            .collect();
        let wf: Vec<f32> = (0..rows * cols).map(|_| r() * 0.1).collect();
        mats.push(QMatrix::from_blocks(QType::Q8_0, rows, cols, quantize_q8_0(&wf)).unwrap());
        let mut act = Act::default();
        act.reset(t_rows, cols);
        for v in act.x.iter_mut() {
            *v = r() * 2.0 + 0.3;
        }
        let isa = Isa::detect();
        let mut first: Option<Vec<Vec<f32>>> = None;
        for threads in [1, 2, 3] {
            let mut outs = vec![vec![0f32; t_rows * rows]; mats.len()];
            let mut products: Vec<Product<'_>> = mats
                .iter()
                .zip(outs.iter_mut())
                .map(|(w, out)| Product { w, out })
                .collect();
            matmul(&Pool::new(threads), isa, &mut act, &mut products);
            drop(products);
            for (w, out) in mats.iter().zip(&outs) {
                let mut row = vec![0f32; cols];
                for rr in 0..rows {
                    w.dequantize_row(rr, &mut row);
                    for t in 0..t_rows {
                        let x = &act.x[t * cols..(t + 1) * cols];
                        let want: f64 = row.iter().zip(x).map(|(a, b)| *a as f64 * *b as f64).sum();
                        // Bounded by the 8-bit activation rounding: half a step (max|x| / 254 per
                        // value at most) times Σ|w|.
                        let step = x.iter().fold(0f32, |m, v| m.max(v.abs())) as f64 / 254.0;
                        let bound = step * row.iter().map(|v| v.abs() as f64).sum::<f64>() + 1e-4;
                        let got = out[t * rows + rr] as f64;
                        assert!(
                            (got - want).abs() <= bound,
                            "{:?} {isa:?} row {rr} act {t}: {got} vs {want} (bound {bound})",
                            w.qtype()
                        );
                    }
                }
            }
            match &first {
                None => first = Some(outs),
                Some(f) => assert_eq!(f, &outs, "{threads} threads"),
            }
        }
    }

    #[test]
    fn wrong_sizes_are_refused() {
        assert!(QMatrix::from_blocks(QType::Q4_1, 2, 30, vec![0; 40]).is_err());
        assert!(QMatrix::from_blocks(QType::Q4_1, 2, 32, vec![0; 39]).is_err());
        assert!(QMatrix::from_blocks(QType::F32, 2, 3, vec![0; 24]).is_ok());
    }
}
