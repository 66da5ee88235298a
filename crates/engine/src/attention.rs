//! Causal attention of new rows against their sequences' caches, one (row, key/value head)
//! pair per task (with the query heads that share it; one (row, head) pair when there are few
//! rows), spread over the pool.

use crate::f16;
#[cfg(doc)]
use crate::kernels::{axpy, dot};
use crate::kernels::{axpy_body, dot_body, Isa};
use crate::kv::Sequence;
use crate::pool::{Pool, SharedMut};
use std::sync::atomic::{AtomicUsize, Ordering};

/// A row of the batch: which sequence it belongs to and its position there.
#[derive(Debug, Clone, Copy)]
pub struct RowAt {
    /// Index into the sequences.
    pub seq: usize,
    /// Position in the sequence.
    pub pos: usize,
}

/// Shapes of one attention call.
#[derive(Debug, Clone, Copy)]
pub struct Heads {
    /// Query heads.
    pub heads: usize,
    /// Key/value heads.
    pub kv_heads: usize,
    /// Head width.
    pub dim: usize,
}

/// `out[t][h] = softmax(q[t][h] · K[0..=pos]ᵀ / √d) · V[0..=pos]` for every row `t` and head
/// `h`, with keys and values of layer `layer` read from each row's sequence (already holding
/// position `pos`).
#[allow(clippy::too_many_arguments)]
pub fn attend(
    pool: &Pool,
    isa: Isa,
    layer: usize,
    shape: Heads,
    rows: &[RowAt],
    seqs: &[&Sequence],
    q: &[f32],
    out: &mut [f32],
) {
    let Heads {
        heads,
        kv_heads,
        dim,
    } = shape;
    let q_dim = heads * dim;
    let group = heads / kv_heads;
    let scale = 1.0 / (dim as f32).sqrt();
    assert!(q.len() >= rows.len() * q_dim && out.len() >= rows.len() * q_dim);
    let max_pos = rows.iter().map(|r| r.pos + 1).max().unwrap_or(0);
    let outp = SharedMut(out.as_mut_ptr());
    // One task per row and key/value head: the `group` query heads that read it run together
    // (their values are read once). With too few such tasks to keep every thread busy (one
    // sequence of a model with few key/value heads), one task per row and query head.
    let per = if rows.len() * kv_heads >= 4 * pool.threads() {
        group
    } else {
        1
    };
    let tasks = rows.len() * heads / per;
    // Tasks are claimed one at a time: rows of different sequences attend to caches of
    // different lengths, and a fixed deal would leave one thread waiting for the other.
    let next = AtomicUsize::new(0);
    pool.run(&|_, _| {
        let mut scores = vec![0f32; per * max_pos];
        loop {
            let task = next.fetch_add(1, Ordering::Relaxed);
            if task >= tasks {
                break;
            }
            let (t, first_head) = (task / (heads / per), (task % (heads / per)) * per);
            let RowAt { seq, pos } = rows[t];
            let keys = seqs[seq].keys(layer);
            let values = seqs[seq].values(layer);
            let first = t * q_dim + first_head * dim;
            let qh = &q[first..][..per * dim];
            // SAFETY: task (t, first_head) is owned by exactly one thread and writes only its
            // own `per · dim` floats of `out`, inside the bound checked above.
            let o = unsafe { std::slice::from_raw_parts_mut(outp.ptr().add(first), per * dim) };
            let at = seqs[seq].positions(first_head / group, pos + 1);
            attend_heads(isa, dim, qh, keys, values, at, scale, &mut scores, o);
        }
    });
}

/// Where one head's keys (and values) lie in a cache: position `j` of `count` at
/// `first + j · stride`, `q.len()` floats each.
#[derive(Debug, Clone, Copy)]
pub struct Positions {
    /// Offset of the first position.
    pub first: usize,
    /// Floats from one position to the next.
    pub stride: usize,
    /// Positions attended to.
    pub count: usize,
}

/// `out = softmax(q · K[j]ᵀ · scale) · V[j]` over the positions `at` of `keys` and `values`,
/// with `scores` as scratch space (at least `at.count` long). The one computation every
/// attention call runs per query row and head: the same float operations in the same order,
/// wherever the cache comes from, at every instruction-set level ([`dot`]'s fixed-order sums,
/// [`axpy`]'s products added position by position). Each level runs it as one function with
/// the dot products and sums inlined, and heads of 64 or 128 keep `out` in registers.
#[allow(clippy::too_many_arguments)]
pub fn attend_head<T: Cached>(
    isa: Isa,
    q: &[f32],
    keys: &[T],
    values: &[T],
    at: Positions,
    scale: f32,
    scores: &mut [f32],
    out: &mut [f32],
) {
    attend_heads(isa, q.len(), q, keys, values, at, scale, scores, out)
}

/// [`attend_head`] for the query heads that share one key/value head (`q` and `out` hold
/// `q.len() / dim` heads of `dim`, `scores` at least that many times `at.count`): each head's
/// numbers are [`attend_head`]'s, bit for bit; the values are read once for all of them, and
/// their sums, independent of each other, overlap.
#[allow(clippy::too_many_arguments)]
pub fn attend_heads<T: Cached>(
    isa: Isa,
    dim: usize,
    q: &[f32],
    keys: &[T],
    values: &[T],
    at: Positions,
    scale: f32,
    scores: &mut [f32],
    out: &mut [f32],
) {
    let heads = q.len() / dim.max(1);
    assert!(dim > 0 && q.len() == heads * dim && out.len() == q.len());
    assert!(scores.len() >= heads * at.count);
    if at.count > 0 {
        let last = at.first + (at.count - 1) * at.stride + dim;
        assert!(keys.len() >= last && values.len() >= last);
    }
    match isa {
        Isa::Generic => group::<T, false>(dim, q, keys, values, at, scale, scores, out),
        // SAFETY: `Isa::Avx2` and `Isa::Avx512` are only constructed after the CPU features
        // were detected (see `kernels::Isa`).
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2 => unsafe { group_avx2(dim, q, keys, values, at, scale, scores, out) },
        #[cfg(target_arch = "x86_64")]
        Isa::Avx512 => unsafe { group_avx512(dim, q, keys, values, at, scale, scores, out) },
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma,f16c")]
#[allow(clippy::too_many_arguments)]
unsafe fn group_avx2<T: Cached>(
    dim: usize,
    q: &[f32],
    keys: &[T],
    values: &[T],
    at: Positions,
    scale: f32,
    scores: &mut [f32],
    out: &mut [f32],
) {
    group::<T, true>(dim, q, keys, values, at, scale, scores, out)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vnni,avx2,fma,f16c")]
#[allow(clippy::too_many_arguments)]
unsafe fn group_avx512<T: Cached>(
    dim: usize,
    q: &[f32],
    keys: &[T],
    values: &[T],
    at: Positions,
    scale: f32,
    scores: &mut [f32],
    out: &mut [f32],
) {
    group::<T, true>(dim, q, keys, values, at, scale, scores, out)
}

/// [`attend_heads`]' body: heads of 64 and 128 go through [`group_fixed`] (with `X86`, the
/// dot products in AVX2 registers: only from the levels that have them), others one by one.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn group<T: Cached, const X86: bool>(
    dim: usize,
    q: &[f32],
    keys: &[T],
    values: &[T],
    at: Positions,
    scale: f32,
    scores: &mut [f32],
    out: &mut [f32],
) {
    match dim {
        64 => group_fixed::<T, 64, 8, X86>(q, keys, values, at, scale, scores, out),
        128 => group_fixed::<T, 128, 16, X86>(q, keys, values, at, scale, scores, out),
        _ => {
            for (qh, oh) in q.chunks_exact(dim).zip(out.chunks_exact_mut(dim)) {
                head(qh, keys, values, at, scale, scores, oh);
            }
        }
    }
}

/// The heads of [`group`], `D` wide, in runs of up to four (two for 128): the values phase of a
/// run keeps every head's output row in registers (up to 16 vectors).
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn group_fixed<T: Cached, const D: usize, const C: usize, const X86: bool>(
    q: &[f32],
    keys: &[T],
    values: &[T],
    at: Positions,
    scale: f32,
    scores: &mut [f32],
    out: &mut [f32],
) {
    let heads = q.len() / D;
    let n = at.count;
    let mut h = 0;
    while h < heads {
        let left = heads - h;
        let (q, s, o) = (&q[h * D..], &mut scores[h * n..], &mut out[h * D..]);
        h += if D <= 64 && left >= 4 {
            run::<T, D, C, 4, X86>(q, keys, values, at, scale, s, o)
        } else if D <= 64 && left == 3 {
            run::<T, D, C, 3, X86>(q, keys, values, at, scale, s, o)
        } else if left >= 2 {
            run::<T, D, C, 2, X86>(q, keys, values, at, scale, s, o)
        } else {
            run::<T, D, C, 1, X86>(q, keys, values, at, scale, s, o)
        };
    }
}

/// `H` heads of `D` (the first `H · D` of `q` and `out`, `H · at.count` of `scores`); returns
/// `H`.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn run<T: Cached, const D: usize, const C: usize, const H: usize, const X86: bool>(
    q: &[f32],
    keys: &[T],
    values: &[T],
    at: Positions,
    scale: f32,
    scores: &mut [f32],
    out: &mut [f32],
) -> usize {
    let n = at.count;
    let mut max = [f32::NEG_INFINITY; H];
    if X86 {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: X86 is only set by the wrappers compiled for AVX2 (`group_avx2`,
        // `group_avx512`), and every key row read lies inside `keys` (checked in
        // `attend_heads`).
        unsafe {
            x86::scores::<T, D, C, H>(q, keys, at, scale, scores, &mut max)
        };
    }
    let mut row = [0f32; D];
    let mut inv = [0f32; H];
    for (k, inv) in inv.iter_mut().enumerate() {
        let s = &mut scores[k * n..(k + 1) * n];
        if !X86 || cfg!(not(target_arch = "x86_64")) {
            max[k] = score(&q[k * D..][..D], keys, at, scale, s, &mut row);
        }
        *inv = 1.0
            / s.iter_mut()
                .fold(0f32, |sum, sj| sum + exp_minus(sj, max[k]));
    }
    let mut acc = [[0f32; D]; H];
    for j in 0..n {
        let v = T::row::<X86>(&values[at.first + j * at.stride..][..D], &mut row);
        for (k, acc) in acc.iter_mut().enumerate() {
            axpy_body(acc, scores[k * n + j] * inv[k], v);
        }
    }
    for (k, acc) in acc.iter().enumerate() {
        out[k * D..(k + 1) * D].copy_from_slice(acc);
    }
    H
}

/// One head of any width (the portable operations, position by position).
#[inline(always)]
fn head<T: Cached>(
    q: &[f32],
    keys: &[T],
    values: &[T],
    at: Positions,
    scale: f32,
    scores: &mut [f32],
    out: &mut [f32],
) {
    let dim = q.len();
    let mut row = vec![0f32; dim];
    let s = &mut scores[..at.count];
    let max = score(q, keys, at, scale, s, &mut row);
    let inv = 1.0 / s.iter_mut().fold(0f32, |sum, sj| sum + exp_minus(sj, max));
    out.fill(0.0);
    for (j, &p) in s.iter().enumerate() {
        let v = T::row::<false>(&values[at.first + j * at.stride..][..dim], &mut row);
        axpy_body(out, p * inv, v);
    }
}

/// `*sj = exp(*sj − max)`, returned (the softmax numerators, summed in position order).
#[inline(always)]
fn exp_minus(sj: &mut f32, max: f32) -> f32 {
    *sj = (*sj - max).exp();
    *sj
}

/// The scaled scores `q · K[j] · scale` into `s`; returns their maximum.
#[inline(always)]
fn score<T: Cached>(
    q: &[f32],
    keys: &[T],
    at: Positions,
    scale: f32,
    s: &mut [f32],
    row: &mut [f32],
) -> f32 {
    let dim = q.len();
    let mut max = f32::NEG_INFINITY;
    for (j, sj) in s.iter_mut().enumerate() {
        let k = T::row::<false>(&keys[at.first + j * at.stride..][..dim], row);
        *sj = dot_body(q, k) * scale;
        max = max.max(*sj);
    }
    max
}

/// What a key/value cache holds: `f32`, or IEEE half-precision bits (`u16`, the engine's own
/// caches, [`Sequence`]). Attention reads either as f32, exactly, so a cache's numbers give the
/// same bits at every level.
pub trait Cached: Copy + Send + Sync {
    /// `src` as f32: itself, or widened into `buf` (with `X86`, by the F16C instruction).
    fn row<'a, const X86: bool>(src: &'a [Self], buf: &'a mut [f32]) -> &'a [f32];

    /// Eight values at `p` as f32.
    ///
    /// # Safety
    /// Needs AVX2 and F16C (inlined into the `target_feature` wrappers only); `p` points at
    /// eight values.
    #[cfg(target_arch = "x86_64")]
    unsafe fn load8(p: *const Self) -> std::arch::x86_64::__m256;
}

impl Cached for f32 {
    #[inline(always)]
    fn row<'a, const X86: bool>(src: &'a [f32], _: &'a mut [f32]) -> &'a [f32] {
        src
    }

    #[cfg(target_arch = "x86_64")]
    #[inline(always)]
    unsafe fn load8(p: *const f32) -> std::arch::x86_64::__m256 {
        std::arch::x86_64::_mm256_loadu_ps(p)
    }
}

impl Cached for u16 {
    #[inline(always)]
    fn row<'a, const X86: bool>(src: &'a [u16], buf: &'a mut [f32]) -> &'a [f32] {
        let buf = &mut buf[..src.len()];
        #[cfg(target_arch = "x86_64")]
        if X86 {
            // SAFETY: X86 is only set by the wrappers compiled for AVX2 and F16C.
            unsafe { x86::widen(src, buf) };
            return buf;
        }
        for (o, &b) in buf.iter_mut().zip(src) {
            *o = f16::to_f32(b);
        }
        buf
    }

    #[cfg(target_arch = "x86_64")]
    #[inline(always)]
    unsafe fn load8(p: *const u16) -> std::arch::x86_64::__m256 {
        use std::arch::x86_64::*;
        _mm256_cvtph_ps(_mm_loadu_si128(p as *const __m128i))
    }
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use super::Positions;
    use std::arch::x86_64::*;

    /// [`super::score`] for the `H` heads of `D` = `C` chunks of eight at the start of `q`, the
    /// scores of head `k` into `s[k·n..(k + 1)·n]` (n = `at.count`) and their maximum into
    /// `max[k]`; each key row is loaded once for all of them. Each head's arithmetic is
    /// [`crate::kernels::dot_body`]'s: eight lanes, each the products of its chunk column added
    /// in order, then `((l0 + l4) + (l1 + l5)) + ((l2 + l6) + (l3 + l7))`, plus the empty
    /// tail's 0.
    ///
    /// # Safety
    /// Needs AVX2 (inlined into the `target_feature` wrappers only); `keys` holds every
    /// position of `at` (`D` floats each), `q` `H · D` floats and `s` `H · n`.
    #[inline(always)]
    pub(super) unsafe fn scores<
        T: super::Cached,
        const D: usize,
        const C: usize,
        const H: usize,
    >(
        q: &[f32],
        keys: &[T],
        at: Positions,
        scale: f32,
        s: &mut [f32],
        max: &mut [f32; H],
    ) {
        assert!(q.len() >= H * D && s.len() >= H * at.count && D == 8 * C);
        let qp = q.as_ptr();
        let kp = keys.as_ptr().add(at.first);
        let n = at.count;
        for j in 0..n {
            let k = kp.add(j * at.stride);
            let kv: [__m256; C] = std::array::from_fn(|c| T::load8(k.add(8 * c)));
            for (h, m) in max.iter_mut().enumerate() {
                let mut acc = _mm256_setzero_ps();
                for (c, kc) in kv.iter().enumerate() {
                    let qc = _mm256_loadu_ps(qp.add(h * D + 8 * c));
                    acc = _mm256_add_ps(acc, _mm256_mul_ps(qc, *kc));
                }
                // [l0 + l4, l1 + l5, l2 + l6, l3 + l7], then pairs, then the two pairs.
                let lo = _mm_add_ps(_mm256_castps256_ps128(acc), _mm256_extractf128_ps::<1>(acc));
                let p = _mm_hadd_ps(lo, lo);
                let d = _mm_cvtss_f32(_mm_hadd_ps(p, p)) + 0.0;
                let sj = d * scale;
                *s.get_unchecked_mut(h * n + j) = sj;
                *m = m.max(sj);
            }
        }
    }

    /// [`super::widen`] by the F16C instruction, eight at a time (exact, as the portable one).
    ///
    /// # Safety
    /// Needs F16C (inlined into the `target_feature` wrappers only).
    #[inline(always)]
    pub(super) unsafe fn widen(h: &[u16], out: &mut [f32]) {
        let n = h.len().min(out.len());
        let mut i = 0;
        while i + 8 <= n {
            let v = <u16 as super::Cached>::load8(h.as_ptr().add(i));
            _mm256_storeu_ps(out.as_mut_ptr().add(i), v);
            i += 8;
        }
        for (o, &b) in out[i..n].iter_mut().zip(&h[i..n]) {
            *o = crate::f16::to_f32(b);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Numbers in [-1, 1) from a xorshift generator.
    fn uniform(mut x: u64) -> impl FnMut() -> f32 {
        move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            ((x >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
        }
    }

    /// Whether two rows hold the same bits.
    fn same_bits(a: &[f32], b: &[f32]) -> bool {
        a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.to_bits() == y.to_bits())
    }

    /// Every level gives the portable bits for heads of 64 and 128 (their own code) and of
    /// other widths, over strided caches of several lengths.
    #[test]
    fn heads_give_the_portable_bits_at_every_level() {
        let mut r = uniform(0x2545_f491_4f6c_dd1du64);
        for dim in [32, 64, 80, 128] {
            let (stride, first) = (3 * dim, dim);
            for count in [1, 2, 7, 33] {
                let keys: Vec<f32> = (0..count * stride).map(|_| r() * 3.0).collect();
                let values: Vec<f32> = (0..count * stride).map(|_| r()).collect();
                let q: Vec<f32> = (0..dim).map(|_| r() * 2.0).collect();
                let at = Positions {
                    first,
                    stride,
                    count,
                };
                let half = |v: &[f32]| v.iter().map(|&x| f16::from_f32(x)).collect::<Vec<u16>>();
                let (keys16, values16) = (half(&keys), half(&values));
                let widened = |v: &[u16]| v.iter().map(|&x| f16::to_f32(x)).collect::<Vec<f32>>();
                let (keys32, values32) = (widened(&keys16), widened(&values16));
                fn one<T: Cached>(
                    isa: Isa,
                    q: &[f32],
                    k: &[T],
                    v: &[T],
                    at: Positions,
                ) -> Vec<f32> {
                    let mut scores = vec![0f32; at.count];
                    let mut out = vec![f32::NAN; q.len()];
                    attend_head(isa, q, k, v, at, 0.125, &mut scores, &mut out);
                    out
                }
                let want = one(Isa::Generic, &q, &keys, &values, at);
                assert!(want.iter().all(|v| v.is_finite()));
                // An f16 cache reads as the f32 cache of its widened values.
                let want16 = one(Isa::Generic, &q, &keys32, &values32, at);
                for isa in Isa::supported() {
                    let got = one(isa, &q, &keys, &values, at);
                    assert!(same_bits(&got, &want), "{isa:?} dim {dim} count {count}");
                    let got = one(isa, &q, &keys16, &values16, at);
                    assert!(
                        same_bits(&got, &want16),
                        "f16 {isa:?} dim {dim} count {count}"
                    );
                }
            }
        }
    }

    /// Query heads run together (groups of 1 to 7, the runs of 4, 3, 2 and 1 they split into)
    /// give each head's own bits, at every level.
    #[test]
    fn grouped_heads_give_each_heads_own_bits() {
        let mut r = uniform(0x9e37_79b9_7f4a_7c15u64);
        for dim in [32, 64, 128] {
            let (stride, first, count) = (2 * dim, dim, 19);
            let keys: Vec<u16> = (0..count * stride)
                .map(|_| f16::from_f32(r() * 3.0))
                .collect();
            let values: Vec<u16> = (0..count * stride).map(|_| f16::from_f32(r())).collect();
            let at = Positions {
                first,
                stride,
                count,
            };
            for heads in 1..=7 {
                let q: Vec<f32> = (0..heads * dim).map(|_| r() * 2.0).collect();
                for isa in Isa::supported() {
                    let mut scores = vec![0f32; heads * count];
                    let mut got = vec![f32::NAN; heads * dim];
                    attend_heads(
                        isa,
                        dim,
                        &q,
                        &keys,
                        &values,
                        at,
                        0.125,
                        &mut scores,
                        &mut got,
                    );
                    for h in 0..heads {
                        let mut one = vec![f32::NAN; dim];
                        let qh = &q[h * dim..(h + 1) * dim];
                        attend_head(
                            Isa::Generic,
                            qh,
                            &keys,
                            &values,
                            at,
                            0.125,
                            &mut scores,
                            &mut one,
                        );
                        let g = &got[h * dim..(h + 1) * dim];
                        assert!(
                            same_bits(g, &one),
                            "{isa:?} dim {dim} heads {heads} head {h}"
                        );
                    }
                }
            }
        }
    }
}
