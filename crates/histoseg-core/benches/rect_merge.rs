//! Merging 10,000 boxes: scattered small boxes in clusters, as tissue detection produces.

use criterion::{Criterion, criterion_group, criterion_main};
use histoseg_core::rect::{Rect, merge_intersecting, merge_near};
use std::hint::black_box;

/// 10,000 boxes from a fixed linear congruential sequence: 400 clusters of 25 boxes.
fn boxes() -> Vec<Rect> {
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut next = |bound: u32| {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        ((state >> 33) % u64::from(bound)) as u32
    };
    (0..400)
        .flat_map(|_| {
            let (cx, cy) = (next(100_000), next(80_000));
            (0..25)
                .map(|_| Rect::new(cx + next(600), cy + next(600), 1 + next(120), 1 + next(120)))
                .collect::<Vec<_>>()
        })
        .collect()
}

fn merge(c: &mut Criterion) {
    let input = boxes();
    assert_eq!(input.len(), 10_000);
    c.bench_function("merge_intersecting_10k", |b| {
        b.iter(|| merge_intersecting(black_box(&input)))
    });
    c.bench_function("merge_near_10k_gap50", |b| {
        b.iter(|| merge_near(black_box(&input), 50))
    });
}

criterion_group!(benches, merge);
criterion_main!(benches);
