//! The key/value cache of one sequence: per layer, one row of keys and one of values per
//! position (`[position][kv_head · head_dim]`), allocated up front for the positions the
//! sequence will need and grown (amortized) only if it outlives them.

/// One sequence's cache.
#[derive(Debug, Clone)]
pub struct Sequence {
    k: Vec<Vec<f32>>,
    v: Vec<Vec<f32>>,
    kv_dim: usize,
    len: usize,
}

impl Sequence {
    /// An empty sequence for `layers` layers of `kv_dim` floats per position, with room for
    /// `capacity` positions.
    pub fn new(layers: usize, kv_dim: usize, capacity: usize) -> Sequence {
        let mk = || {
            (0..layers)
                .map(|_| Vec::with_capacity(capacity * kv_dim))
                .collect()
        };
        Sequence {
            k: mk(),
            v: mk(),
            kv_dim,
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
        if n < self.len {
            self.len = n;
            for b in self.k.iter_mut().chain(self.v.iter_mut()) {
                b.truncate(n * self.kv_dim);
            }
        }
    }

    /// Replaces this sequence's cache by the first `n` positions of `other` (a shared prefix:
    /// the positions depend only on the tokens before them, so they need not be recomputed).
    pub fn copy_prefix_from(&mut self, other: &Sequence, n: usize) {
        assert!(n <= other.len && self.kv_dim == other.kv_dim && self.k.len() == other.k.len());
        let m = n * self.kv_dim;
        for (dst, src) in self
            .k
            .iter_mut()
            .zip(&other.k)
            .chain(self.v.iter_mut().zip(&other.v))
        {
            dst.clear();
            dst.extend_from_slice(&src[..m]);
        }
        self.len = n;
    }

    /// Bytes held by the cache.
    pub fn bytes(&self) -> usize {
        self.k.iter().chain(&self.v).map(|b| b.capacity() * 4).sum()
    }

    /// Makes room for positions up to `total` (exclusive) in every layer.
    pub(crate) fn grow_to(&mut self, total: usize) {
        let want = total * self.kv_dim;
        for b in self.k.iter_mut().chain(self.v.iter_mut()) {
            if b.len() < want {
                b.resize(want, 0.0);
            }
        }
    }

    /// Stores the key and value rows of position `pos` in `layer`.
    pub(crate) fn store(&mut self, layer: usize, pos: usize, k: &[f32], v: &[f32]) {
        let at = pos * self.kv_dim;
        self.k[layer][at..at + self.kv_dim].copy_from_slice(k);
        self.v[layer][at..at + self.kv_dim].copy_from_slice(v);
    }

    /// Marks positions up to `len` as computed.
    pub(crate) fn set_len(&mut self, len: usize) {
        self.len = len;
    }

    /// Keys of `layer` (all stored positions).
    pub(crate) fn keys(&self, layer: usize) -> &[f32] {
        &self.k[layer]
    }

    /// Values of `layer`.
    pub(crate) fn values(&self, layer: usize) -> &[f32] {
        &self.v[layer]
    }
}
