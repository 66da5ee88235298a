//! Weight products of one activation row (a decode step) and of eight (a batch), at the best
//! level of this CPU, one thread, in bytes of weights read per second: the figure that decides
//! single-sequence decoding of models larger than the cache.
//!
//! `cargo bench -p popbench-engine --bench products -- --measurement-time 3 --warm-up-time 1`
//!
//! Shapes: Llama-3.2-1B's projections (2,048 wide): 512 rows (a key/value projection, about
//! 0.6 MB: the weights stay in L2) and 8,192 rows (a feed-forward projection, 9.4 MB: they
//! come from L3 or memory), as `Q4_K` and `Q6_K` (the formats of a Q4_K_M file); and
//! SmolLM2-135M's feed-forward projection (1,536 rows, 576 wide) as `Q4_1` (the default
//! model's format) and `Q8_0` (its output matrix's). Each in the layout this level multiplies:
//! repacked (`packed`) where it packs the format, else the GGUF rows (`gguf`).

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use popbench_engine::kernels::Isa;
use popbench_engine::matmul::{matmul, Act, Product};
use popbench_engine::pool::Pool;
use popbench_engine::{QMatrix, QType};
use std::hint::black_box;

/// Seeded bytes with every block's f16 scales set to small normal values.
fn random_blocks(qtype: QType, rows: usize, cols: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    let mut bytes: Vec<u8> = (0..rows * qtype.row_bytes(cols))
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 32) as u8
        })
        .collect();
    let bb = qtype.block_bytes();
    // f16 0.01 ≈ 0x211f; the scales' places in a GGUF block.
    let halves: &[usize] = match qtype {
        QType::Q4_K => &[0, 2],
        QType::Q6_K => &[bb - 2],
        _ => &[0],
    };
    for blk in bytes.chunks_exact_mut(bb) {
        for &at in halves {
            blk[at..at + 2].copy_from_slice(&0x211fu16.to_le_bytes());
        }
    }
    bytes
}

fn bench(c: &mut Criterion) {
    let isa = Isa::best();
    let pool = Pool::new(1);
    // (format, columns, row counts)
    let shapes = [
        (QType::Q4_K, 2048, vec![512, 8192]),
        (QType::Q6_K, 2048, vec![512, 8192]),
        (QType::Q4_1, 576, vec![1536]),
        (QType::Q8_0, 576, vec![1536]),
    ];
    for (qtype, cols, row_counts) in shapes {
        let mut g = c.benchmark_group(format!("products/{}/{}", qtype.name(), isa.name()));
        for rows in row_counts {
            let mut w =
                QMatrix::from_blocks(qtype, rows, cols, random_blocks(qtype, rows, cols, 7))
                    .expect("blocks");
            w.prepare(isa);
            let layout = if w.is_packed() { "packed" } else { "gguf" };
            for t in [1, 8] {
                let mut act = Act::default();
                act.reset(t, cols);
                for (i, v) in act.x.iter_mut().enumerate() {
                    *v = ((i * 7 % 13) as f32 - 6.0) * 0.1;
                }
                let mut out = vec![0f32; t * rows];
                g.throughput(Throughput::Bytes(w.bytes() as u64));
                g.bench_function(
                    BenchmarkId::new(format!("rows{rows}/{layout}"), format!("act{t}")),
                    |b| {
                        b.iter(|| {
                            matmul(
                                &pool,
                                isa,
                                &mut act,
                                &mut [Product {
                                    w: &w,
                                    out: &mut out,
                                }],
                            );
                            black_box(&out);
                        })
                    },
                );
            }
        }
        g.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
