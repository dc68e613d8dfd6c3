//! Building the paper's `256p128s` dataset with preprocessing and empty patches dropped from the
//! 31 shared BreCaHAD images: read (JPEG + JSON points), preprocess, square to 1024, cut, drop
//! empty, and encode every kept image and mask as PNG in memory (no disk writes, so the figure
//! does not depend on the file system).

use std::hint::black_box;
use std::io::Cursor;
use std::path::PathBuf;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use histoseg_core::dataset::layout::{Layout, ReadOptions, SourceItem, scan};
use histoseg_core::dataset::square::SquareMode;
use histoseg_core::dataset::{PrepareOptions, cut, prepare};
use image::ImageFormat;

fn items() -> Vec<SourceItem> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/brecahad");
    let s = scan(Layout::Brecahad, &dir).unwrap_or_else(|e| panic!("benchmark input: {e}"));
    assert_eq!(s.items.len(), 31);
    s.items
}

/// Builds one image's samples and returns the number of PNG bytes produced.
fn build_one(item: &SourceItem, opts: &ReadOptions, encode: bool) -> usize {
    let (image, mask) = item.read(opts).unwrap_or_else(|e| panic!("{e}"));
    let prep = PrepareOptions {
        prep: true,
        square: Some((1024, SquareMode::Resize)),
    };
    let (image, mask) = prepare(&image, &mask, prep).unwrap_or_else(|e| panic!("{e}"));
    let patches = cut(
        &image,
        &mask,
        "256p128s".parse().unwrap_or_else(|e| panic!("{e}")),
        true,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let mut bytes = 0;
    for p in &patches {
        if encode {
            let mut buf = Cursor::new(Vec::new());
            p.image
                .write_to(&mut buf, ImageFormat::Png)
                .unwrap_or_else(|e| panic!("{e}"));
            p.mask
                .write_to(&mut buf, ImageFormat::Png)
                .unwrap_or_else(|e| panic!("{e}"));
            bytes += buf.into_inner().len();
        } else {
            bytes += p.image.len() + p.mask.len();
        }
    }
    bytes
}

fn dataset(c: &mut Criterion) {
    let items = items();
    let opts = ReadOptions::default();
    let mut group = c.benchmark_group("dataset_brecahad31_256p128s_prep_drop_empty");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(60));
    group.bench_function("build_31_images_png_in_memory", |b| {
        b.iter(|| {
            items
                .iter()
                .map(|i| build_one(black_box(i), &opts, true))
                .sum::<usize>()
        })
    });
    group.bench_function("build_31_images_no_encoding", |b| {
        b.iter(|| {
            items
                .iter()
                .map(|i| build_one(black_box(i), &opts, false))
                .sum::<usize>()
        })
    });
    group.finish();
}

criterion_group!(benches, dataset);
criterion_main!(benches);
