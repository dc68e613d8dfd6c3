//! The paper's preprocessing chain on a real 1360x1024 BreCaHAD image.

use criterion::{Criterion, criterion_group, criterion_main};
use histoseg_core::filters;
use std::hint::black_box;

fn brecahad_image() -> image::RgbImage {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/data/brecahad/images/Case_1-01.jpg"
    );
    image::open(path)
        .unwrap_or_else(|e| panic!("benchmark input {path}: {e}"))
        .to_rgb8()
}

fn preprocess(c: &mut Criterion) {
    let img = brecahad_image();
    assert_eq!(img.dimensions(), (1360, 1024));
    let mut group = c.benchmark_group("preprocess_1360x1024_rgb");
    group.bench_function("gaussian5", |b| {
        b.iter(|| filters::gaussian_blur(black_box(&img), 5, 0.0))
    });
    group.bench_function("sharpen3", |b| b.iter(|| filters::sharpen(black_box(&img))));
    group.bench_function("median3", |b| b.iter(|| filters::median3(black_box(&img))));
    group.bench_function("chain", |b| {
        b.iter(|| filters::preprocess_u8(black_box(&img)))
    });
    group.bench_function("chain_normalised", |b| {
        b.iter(|| filters::preprocess(black_box(&img)))
    });
    group.finish();
}

criterion_group!(benches, preprocess);
criterion_main!(benches);
