//! Report generation from 100k synthetic verdicts (2 systems × 10 002 scenarios × 5
//! samples, 3 334 families): statistics with the cluster bootstrap, all four files.
//! Target: ≤ 2 s per report. Run: `cargo bench --bench report`.

#[path = "../tests/report_common/mod.rs"]
mod report_common;

use criterion::{criterion_group, criterion_main, Criterion};
use popbench::report::{self, ReportInput};
use std::collections::BTreeMap;

fn bench(c: &mut Criterion) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = report_common::directory(tmp.path());
    let scenarios = report_common::scenarios(3334);
    let runs = vec![
        report_common::run("run-a", "alpha", &scenarios, 5, 0.7, 1),
        report_common::run("run-b", "beta", &scenarios, 5, 0.5, 2),
    ];
    let verdicts: usize = runs.iter().map(|r| r.verdicts.len()).sum();
    assert!(verdicts >= 100_000, "{verdicts}");
    let hashes = BTreeMap::new();
    let input = ReportInput {
        runs: &runs,
        scenarios: &scenarios,
        directory: &dir,
        suite_hashes: &hashes,
        warnings: &[],
        generated_at: None,
        scorer_gold: None,
        judges: &[],
    };
    let out = tmp.path().join("out");
    let mut g = c.benchmark_group("report");
    g.sample_size(10);
    g.bench_function("write_all_100k_verdicts", |b| {
        b.iter(|| report::write_all(&input, &out).unwrap())
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
