//! Tiled whole-image inference and post-processing on a real TNBC image.

mod common;

use std::path::PathBuf;

use burn::prelude::*;
use common::*;
use histoseg_model::infer::{TileParams, predict_probabilities, predict_probabilities_async};
use histoseg_model::postprocess::{binary_mask, nuclei};

fn tnbc_image() -> image::RgbImage {
    let data = std::env::var("HISTOSEG_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"));
    let dir = data.join("tnbc/Slide_01");
    let first = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "png"))
        .min()
        .expect("a TNBC image");
    image::open(&first).expect("readable").to_rgb8()
}

#[test]
fn tiled_prediction_covers_the_image_and_blends_like_one_pass() {
    let device = Device::flex();
    let model = small_unet().init(&device).expect("valid").valid();
    let image = image::imageops::crop_imm(&tnbc_image(), 0, 0, 200, 150).to_image();
    let mut calls = Vec::new();
    let params = TileParams {
        tile: 96,
        overlap: 24,
        batch: 3,
    };
    let map = predict_probabilities(&model, &image, &device, &params, &mut |done, total| {
        calls.push((done, total));
        true
    })
    .expect("prediction");
    assert_eq!(map.dimensions(), image.dimensions());
    assert!(map.pixels().all(|p| (0.0..=1.0).contains(&p[0])));
    // 3 x 2 tiles in batches of 3.
    assert_eq!(calls, vec![(3, 6), (6, 6)]);
    // Away from tile seams, tiling equals one pass over the whole image (same receptive field
    // inside the tile interior).
    let whole = TileParams {
        tile: 256,
        overlap: 0,
        batch: 1,
    };
    let single =
        predict_probabilities(&model, &image, &device, &whole, &mut |_, _| true).expect("one pass");
    let (a, b) = (map.get_pixel(40, 40)[0], single.get_pixel(40, 40)[0]);
    assert!((a - b).abs() < 1e-4, "{a} vs {b}");

    let mask = binary_mask(&map, 0.5);
    assert_eq!(mask.dimensions(), image.dimensions());
    let found = nuclei(&mask, 1);
    assert!(
        found
            .iter()
            .all(|n| n.x < 200.0 && n.y < 150.0 && n.area >= 1)
    );
}

#[test]
fn cancelling_stops_the_run() {
    let device = Device::flex();
    let model = small_unet().init(&device).expect("valid").valid();
    let image = image::RgbImage::new(200, 200);
    let params = TileParams {
        tile: 64,
        overlap: 8,
        batch: 1,
    };
    let mut seen = 0;
    let result = predict_probabilities(&model, &image, &device, &params, &mut |done, _| {
        seen = done;
        done < 2
    });
    assert!(
        result
            .expect_err("cancelled")
            .to_string()
            .contains("cancelled")
    );
    assert_eq!(seen, 2);
    let bad = TileParams {
        tile: 64,
        overlap: 64,
        batch: 1,
    };
    assert!(predict_probabilities(&model, &image, &device, &bad, &mut |_, _| true).is_err());
}

/// Drives a future to completion on this thread. burn's CPU backend has nothing to wait for, so
/// a busy poll with a no-op waker is enough (no async runtime needed for the test).
fn block_on<F: std::future::Future>(future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    loop {
        if let std::task::Poll::Ready(out) = future.as_mut().poll(&mut cx) {
            return out;
        }
    }
}

#[test]
fn the_async_twin_gives_the_same_map_and_cancels_between_batches() {
    let device = Device::flex();
    let model = small_unet().init(&device).expect("valid").valid();
    let image = image::imageops::crop_imm(&tnbc_image(), 0, 0, 150, 120).to_image();
    let params = TileParams {
        tile: 64,
        overlap: 16,
        batch: 2,
    };
    let sync = predict_probabilities(&model, &image, &device, &params, &mut |_, _| true)
        .expect("sync prediction");
    let mut calls = Vec::new();
    let asynchronous = block_on(predict_probabilities_async(
        &model,
        &image,
        &device,
        &params,
        |done, total| {
            calls.push((done, total));
            async { true }
        },
    ))
    .expect("async prediction");
    assert_eq!(calls.last(), Some(&(9, 9)));
    let diff = max_diff(sync.as_raw(), asynchronous.as_raw());
    assert!(diff < 1e-6, "async differs from sync by {diff}");

    let mut seen = 0;
    let cancelled = block_on(predict_probabilities_async(
        &model,
        &image,
        &device,
        &params,
        |done, _| {
            seen = done;
            async move { done < 4 }
        },
    ));
    assert!(
        cancelled
            .expect_err("cancelled")
            .to_string()
            .contains("cancelled")
    );
    assert_eq!(seen, 4);
}
