//! Causal attention of new rows against their sequences' caches, one (row, head) pair per
//! task, spread over the pool.

use crate::kernels::{axpy, dot, Isa};
use crate::kv::Sequence;
use crate::pool::{Pool, SharedMut};

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
    let kv_dim = kv_heads * dim;
    let group = heads / kv_heads;
    let scale = 1.0 / (dim as f32).sqrt();
    assert!(q.len() >= rows.len() * q_dim && out.len() >= rows.len() * q_dim);
    let max_pos = rows.iter().map(|r| r.pos + 1).max().unwrap_or(0);
    let outp = SharedMut(out.as_mut_ptr());
    let tasks = rows.len() * heads;
    pool.run(&|i, n| {
        let mut scores = vec![0f32; max_pos];
        let mut task = i;
        while task < tasks {
            let (t, h) = (task / heads, task % heads);
            let RowAt { seq, pos } = rows[t];
            let keys = seqs[seq].keys(layer);
            let values = seqs[seq].values(layer);
            let off = (h / group) * dim;
            let qh = &q[t * q_dim + h * dim..][..dim];
            // SAFETY: task (t, h) is owned by exactly one thread and writes only its own
            // `dim` floats of `out`, inside the bound checked above.
            let o =
                unsafe { std::slice::from_raw_parts_mut(outp.ptr().add(t * q_dim + h * dim), dim) };
            let at = Positions {
                first: off,
                stride: kv_dim,
                count: pos + 1,
            };
            attend_head(isa, qh, keys, values, at, scale, &mut scores, o);
            task += n;
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
/// wherever the cache comes from.
#[allow(clippy::too_many_arguments)]
pub fn attend_head(
    isa: Isa,
    q: &[f32],
    keys: &[f32],
    values: &[f32],
    at: Positions,
    scale: f32,
    scores: &mut [f32],
    out: &mut [f32],
) {
    let dim = q.len();
    let s = &mut scores[..at.count];
    let mut max = f32::NEG_INFINITY;
    for (j, sj) in s.iter_mut().enumerate() {
        *sj = dot(isa, q, &keys[at.first + j * at.stride..][..dim]) * scale;
        max = max.max(*sj);
    }
    let mut sum = 0f32;
    for sj in s.iter_mut() {
        *sj = (*sj - max).exp();
        sum += *sj;
    }
    let inv = 1.0 / sum;
    out.fill(0.0);
    for (j, &p) in s.iter().enumerate() {
        axpy(
            isa,
            out,
            p * inv,
            &values[at.first + j * at.stride..][..dim],
        );
    }
}
