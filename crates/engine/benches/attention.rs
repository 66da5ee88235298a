//! Attention of one new row against a cache: the query heads that share a key/value head run
//! one by one ([`attend_head`] per head, as before issue 27) or together ([`attend_heads`]),
//! on the same numbers, at the best level of this CPU, one thread.
//!
//! `cargo bench -p popbench-engine --bench attention -- --measurement-time 3 --warm-up-time 1`
//!
//! Shapes: SmolLM2-135M (9 query heads over 3 key/value heads of 64) and Llama-3.2-1B (32 over
//! 8, heads of 64), one key/value head's group per call, caches of 256 and 1,024 positions.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use popbench_engine::attention::{attend_head, attend_heads, Positions};
use popbench_engine::f16;
use popbench_engine::kernels::Isa;
use std::hint::black_box;

fn random(n: usize, seed: u64) -> Vec<f32> {
    let mut x = seed | 1;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            ((x >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let isa = Isa::best();
    let dim = 64;
    for (model, group, kv_heads) in [("smollm2", 3, 3), ("llama1b", 4, 8)] {
        let mut g = c.benchmark_group(format!("attention/{model}/{}", isa.name()));
        for count in [256, 1024] {
            let stride = kv_heads * dim;
            let half = |v: Vec<f32>| v.into_iter().map(f16::from_f32).collect::<Vec<u16>>();
            let keys = half(random(count * stride, 1));
            let values = half(random(count * stride, 2));
            let q = random(group * dim, 3);
            let at = Positions {
                first: dim,
                stride,
                count,
            };
            let mut scores = vec![0f32; group * count];
            let mut out = vec![0f32; group * dim];
            g.bench_function(BenchmarkId::new("per_head", count), |b| {
                b.iter(|| {
                    for (qh, oh) in q.chunks_exact(dim).zip(out.chunks_exact_mut(dim)) {
                        attend_head(isa, qh, &keys, &values, at, 0.125, &mut scores, oh);
                    }
                    black_box(&out);
                })
            });
            g.bench_function(BenchmarkId::new("grouped", count), |b| {
                b.iter(|| {
                    attend_heads(
                        isa,
                        dim,
                        &q,
                        &keys,
                        &values,
                        at,
                        0.125,
                        &mut scores,
                        &mut out,
                    );
                    black_box(&out);
                })
            });
        }
        g.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
