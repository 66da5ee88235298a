//! The key/value cache of one sequence, allocated up front for the positions the sequence will
//! need and grown (amortized) only if it outlives them. Keys and values are kept in IEEE half
//! precision (rounded to nearest even, as llama.cpp's default f16 cache): attention of a batch
//! reads every cached position of every sequence at every step, and at half the bytes the
//! core suite's decoding is about a fifth faster (BENCHMARKS.md). All layers live in one buffer
//! ([`Pages`]: on 2 MiB pages where the kernel grants them), head-major:
//! `[layer][keys, values][kv_head][position][head_dim]`. Attention reads one key/value head's
//! positions in a row, so each head's positions are one contiguous run (the prefetchers follow
//! it; with positions interleaved by head, or on 4 KiB pages, every few positions cost a miss).

use crate::attention::Positions;
use crate::f16;
use crate::pages::Pages;

/// Bytes of one cached key or value (an f16).
pub const VALUE_BYTES: usize = 2;

/// One sequence's cache.
#[derive(Debug, Clone)]
pub struct Sequence {
    buf: Pages,
    layers: usize,
    kv_heads: usize,
    head_dim: usize,
    /// Positions each head's keys (and values) have room for.
    cap: usize,
    len: usize,
}

impl Sequence {
    /// An empty sequence for `layers` layers of `kv_heads` key/value heads of `head_dim`, with
    /// room for `capacity` positions.
    pub fn new(layers: usize, kv_heads: usize, head_dim: usize, capacity: usize) -> Sequence {
        Sequence {
            buf: Pages::zeroed(layers * 2 * kv_heads * capacity * head_dim * VALUE_BYTES),
            layers,
            kv_heads,
            head_dim,
            cap: capacity,
            len: 0,
        }
    }

    /// Positions computed so far.
    pub fn len(&self) -> usize {
        self.len
    }

    /// No position computed yet.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Forgets positions from `n` on.
    pub fn truncate(&mut self, n: usize) {
        self.len = self.len.min(n);
    }

    /// Replaces this sequence's cache by the first `n` positions of `other` (a shared prefix:
    /// the positions depend only on the tokens before them, so they need not be recomputed).
    pub fn copy_prefix_from(&mut self, other: &Sequence, n: usize) {
        assert!(n <= other.len && self.same_shape(other));
        self.len = 0;
        self.grow_to(n);
        self.copy_runs(other, n);
        self.len = n;
    }

    /// Bytes held by the cache.
    pub fn bytes(&self) -> usize {
        self.buf.len()
    }

    /// Makes room for positions up to `total` (exclusive) in every layer: when the capacity
    /// is short, a buffer of at least twice the capacity, the computed positions copied.
    pub(crate) fn grow_to(&mut self, total: usize) {
        if total <= self.cap {
            return;
        }
        let cap = total.max(2 * self.cap);
        let mut bigger = Sequence::new(self.layers, self.kv_heads, self.head_dim, cap);
        bigger.copy_runs(self, self.len);
        bigger.len = self.len;
        *self = bigger;
    }

    /// Stores the key and value rows of position `pos` in `layer` (`kv_heads · head_dim` floats
    /// each, rounded to f16; `pos` below the capacity: see [`Sequence::grow_to`]).
    pub(crate) fn store(&mut self, layer: usize, pos: usize, k: &[f32], v: &[f32]) {
        assert!(pos < self.cap, "kv store past the capacity");
        let d = self.head_dim;
        for (part, rows) in [(2 * layer, k), (2 * layer + 1, v)] {
            for (h, row) in rows.chunks_exact(d).enumerate() {
                let at = self.run(part, h) + pos * d;
                for (dst, &x) in self.buf.as_u16_mut()[at..at + d].iter_mut().zip(row) {
                    *dst = f16::from_f32(x);
                }
            }
        }
    }

    /// Marks positions up to `len` as computed.
    pub(crate) fn set_len(&mut self, len: usize) {
        self.len = len;
    }

    /// Keys of `layer` (f16 bits), every head and every position of the capacity (those not
    /// computed are 0); [`Sequence::positions`] says where a head's lie.
    pub(crate) fn keys(&self, layer: usize) -> &[u16] {
        self.part(2 * layer)
    }

    /// Values of `layer`, laid out as [`Sequence::keys`].
    pub(crate) fn values(&self, layer: usize) -> &[u16] {
        self.part(2 * layer + 1)
    }

    /// Every head of part `part` (see [`Sequence::run`]).
    fn part(&self, part: usize) -> &[u16] {
        &self.buf.as_u16()[self.run(part, 0)..self.run(part + 1, 0)]
    }

    /// Where the first `count` positions of key/value head `kv_head` lie in
    /// [`Sequence::keys`] and [`Sequence::values`].
    pub(crate) fn positions(&self, kv_head: usize, count: usize) -> Positions {
        Positions {
            first: kv_head * self.cap * self.head_dim,
            stride: self.head_dim,
            count,
        }
    }

    fn same_shape(&self, other: &Sequence) -> bool {
        (self.layers, self.kv_heads, self.head_dim)
            == (other.layers, other.kv_heads, other.head_dim)
    }

    /// Where head `h` of part `part` (keys of layer l: `2l`, its values: `2l + 1`) starts.
    fn run(&self, part: usize, h: usize) -> usize {
        ((part * self.kv_heads) + h) * self.cap * self.head_dim
    }

    /// Copies the first `n` positions of every head of `other` (of the same shape, `n` within
    /// both capacities).
    fn copy_runs(&mut self, other: &Sequence, n: usize) {
        let m = n * self.head_dim;
        for part in 0..2 * self.layers {
            for h in 0..self.kv_heads {
                let (from, to) = (other.run(part, h), self.run(part, h));
                self.buf.as_u16_mut()[to..to + m]
                    .copy_from_slice(&other.buf.as_u16()[from..from + m]);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two heads of 3: row values say which layer, position, head and kind they are.
    fn row(layer: usize, pos: usize, kind: f32) -> Vec<f32> {
        (0..6)
            .map(|i| kind * 1000.0 + (layer * 100 + pos * 10 + i) as f32)
            .collect()
    }

    fn filled(layers: usize, cap: usize, n: usize) -> Sequence {
        let mut s = Sequence::new(layers, 2, 3, cap);
        s.grow_to(n);
        for pos in 0..n {
            for l in 0..layers {
                s.store(l, pos, &row(l, pos, 1.0), &row(l, pos, 2.0));
            }
        }
        s.set_len(n);
        s
    }

    /// Every head of every position reads back where `positions` says it is.
    fn holds(s: &Sequence, layers: usize, n: usize) -> bool {
        (0..layers).all(|l| {
            (0..2).all(|h| {
                let at = s.positions(h, n);
                (0..n).all(|pos| {
                    let i = at.first + pos * at.stride;
                    let half = |x: &[f32]| x.iter().map(|&v| f16::from_f32(v)).collect::<Vec<_>>();
                    s.keys(l)[i..i + 3] == half(&row(l, pos, 1.0)[3 * h..3 * h + 3])[..]
                        && s.values(l)[i..i + 3] == half(&row(l, pos, 2.0)[3 * h..3 * h + 3])[..]
                })
            })
        })
    }

    #[test]
    fn rows_survive_growth_and_prefix_copies() {
        // Grown twice past its capacity of 2.
        let s = filled(3, 2, 9);
        assert!(holds(&s, 3, 9) && s.len() == 9);
        let mut t = Sequence::new(3, 2, 3, 4);
        t.copy_prefix_from(&s, 7);
        assert!(holds(&t, 3, 7) && t.len() == 7);
        t.truncate(5);
        assert_eq!(t.len(), 5);
        let mut u = Sequence::new(3, 2, 3, 50);
        u.copy_prefix_from(&t, 5);
        assert!(holds(&u, 3, 5) && u.keys(2).len() == 2 * 50 * 3);
    }
}
