//! The dataset builder's library on the real data in ../shared/data.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use histoseg_core::Error;
use histoseg_core::dataset::layout::{Annotation, Layout, ReadOptions, scan};
use histoseg_core::dataset::points::NormPoint;
use histoseg_core::dataset::split::{Split, patch_split_leak, split_groups};
use histoseg_core::dataset::square::SquareMode;
use histoseg_core::dataset::tiling::{Scheme, reassemble};
use histoseg_core::dataset::{PrepareOptions, cut, prepare};
use image::{GrayImage, Luma, Rgb, RgbImage, Rgba, RgbaImage};

mod common;
use common::shared;

fn square_1024() -> PrepareOptions {
    PrepareOptions {
        prep: false,
        square: Some((1024, SquareMode::Resize)),
    }
}

#[test]
fn brecahad_reader_pairs_all_31_images_and_draws_every_point() {
    let s = scan(Layout::Brecahad, &shared("brecahad")).expect("scan");
    assert_eq!(s.items.len(), 31);
    assert!(s.warnings.is_empty(), "{:?}", s.warnings);
    let item = &s.items[0];
    assert_eq!(item.name, "Case_1-01");
    let opts = ReadOptions::default();
    let (image, mask) = item.read(&opts).expect("read");
    assert_eq!(image.dimensions(), (1360, 1024));
    assert_eq!(mask.dimensions(), (1360, 1024));

    // Independently parse the JSON: every tumour / non-tumour point is the centre of a full
    // disk of the radius, and a mitosis point (not chosen) is drawn only if a chosen nucleus
    // happens to cover it.
    let Annotation::Points(json) = &item.annotation else {
        panic!("points expected")
    };
    let parsed: BTreeMap<String, Vec<NormPoint>> =
        serde_json::from_str(&std::fs::read_to_string(json).expect("json")).expect("parse");
    let chosen: Vec<NormPoint> = parsed["tumor"]
        .iter()
        .chain(&parsed["non_tumor"])
        .copied()
        .collect();
    assert!(chosen.len() > 100);
    let r = opts.radius_px;
    for p in &chosen {
        let (px, py) = p.to_px(1360, 1024);
        for y in (py - r).floor().max(0.0) as u32..((py + r).ceil() as u32).min(1024) {
            for x in (px - r).floor().max(0.0) as u32..((px + r).ceil() as u32).min(1360) {
                let (dx, dy) = (x as f32 + 0.5 - px, y as f32 + 0.5 - py);
                if dx * dx + dy * dy <= r * r {
                    assert_eq!(mask.get_pixel(x, y)[0], 255, "({x}, {y}) near {p:?}");
                }
            }
        }
    }
    // Nothing but disks: the labelled area is at most the disks' total area.
    let on = mask.pixels().filter(|v| v[0] == 255).count() as f32;
    assert!(on <= chosen.len() as f32 * std::f32::consts::PI * (r + 1.0).powi(2));
    assert!(mask.pixels().all(|v| v[0] == 0 || v[0] == 255));

    // Choosing other classes changes the mask; a misspelt class is an error naming the file.
    let mitosis = ReadOptions {
        classes: vec!["apoptosis".into()],
        ..ReadOptions::default()
    };
    assert_ne!(item.read_mask(&mitosis).expect("apoptosis"), mask);
    let typo = ReadOptions {
        classes: vec!["tumour".into()],
        ..ReadOptions::default()
    };
    let err = item.read_mask(&typo).expect_err("typo").to_string();
    assert!(
        err.contains("Case_1-01.json") && err.contains("tumour"),
        "{err}"
    );
}

#[test]
fn brecahad_schemes_cut_the_paper_counts_and_reassemble_the_square_image() {
    let s = scan(Layout::Brecahad, &shared("brecahad")).expect("scan");
    let (image, mask) = s.items[3].read(&ReadOptions::default()).expect("read");
    let (sq, sq_mask) = prepare(&image, &mask, square_1024()).expect("prepare");
    assert_eq!(sq.dimensions(), (1024, 1024));
    assert!(sq_mask.pixels().all(|v| v[0] == 0 || v[0] == 255));
    for (scheme, n) in Scheme::PAPER.iter().zip([1, 4, 9, 49, 225]) {
        let all = cut(&sq, &sq_mask, *scheme, false).expect("cut");
        assert_eq!(all.len(), n, "{scheme}");
        let parts: Vec<_> = all.iter().map(|p| (p.rect, p.image.clone())).collect();
        assert_eq!(reassemble(&parts, 1024, 1024), sq, "{scheme}: image back");
        let masks: Vec<_> = all.iter().map(|p| (p.rect, p.mask.clone())).collect();
        assert_eq!(
            reassemble(&masks, 1024, 1024),
            sq_mask,
            "{scheme}: mask back"
        );
        let kept = cut(&sq, &sq_mask, *scheme, true).expect("cut");
        assert_eq!(kept.len(), all.iter().filter(|p| !p.empty).count());
        assert!(kept.iter().all(|p| p.mask.pixels().any(|v| v[0] != 0)));
        for p in all.iter().filter(|p| p.empty) {
            assert!(p.mask.pixels().all(|v| v[0] == 0));
        }
    }
    // The 128p64s scheme on a real image does have empty patches to drop.
    let all = cut(&sq, &sq_mask, "128p64s".parse().expect("scheme"), false).expect("cut");
    assert!(all.iter().any(|p| p.empty));
}

#[test]
fn prep_runs_the_chain_before_squaring_and_crop_keeps_pixels() {
    let s = scan(Layout::Brecahad, &shared("brecahad")).expect("scan");
    let (image, mask) = s.items[0].read(&ReadOptions::default()).expect("read");
    let opts = PrepareOptions {
        prep: true,
        square: Some((1024, SquareMode::CentreCrop)),
    };
    let (prepped, sq_mask) = prepare(&image, &mask, opts).expect("prepare");
    let chain = histoseg_core::filters::preprocess_u8(&image);
    assert_eq!(
        prepped,
        image::imageops::crop_imm(&chain, 168, 0, 1024, 1024).to_image()
    );
    assert_eq!(
        sq_mask,
        image::imageops::crop_imm(&mask, 168, 0, 1024, 1024).to_image()
    );
    let (plain, _) = prepare(&image, &mask, square_1024()).expect("prepare");
    assert_ne!(plain, prepped);
}

#[test]
fn tnbc_reader_drops_alpha_and_groups_by_slide() {
    let s = scan(Layout::Tnbc, &shared("tnbc")).expect("scan");
    assert_eq!(s.items.len(), 37);
    assert!(s.warnings.is_empty(), "{:?}", s.warnings);
    let groups: BTreeSet<&str> = s.items.iter().map(|i| i.group.as_str()).collect();
    assert_eq!(groups.len(), 8);
    assert!(groups.contains("Slide_01"));
    let item = s.items.iter().find(|i| i.name == "01_1").expect("01_1");
    let (image, mask) = item.read(&ReadOptions::default()).expect("read");
    let rgba = image::open(&item.image).expect("open").to_rgba8();
    assert_eq!(image.dimensions(), (512, 512));
    assert_eq!(
        image.get_pixel(100, 100).0[..],
        rgba.get_pixel(100, 100).0[..3]
    );
    let raw_gt = image::open(shared("tnbc/GT_01/01_1.png"))
        .expect("gt")
        .to_luma8();
    assert_eq!(mask, raw_gt.clone());
    assert!(mask.pixels().any(|v| v[0] == 255));

    // Split by slide: no slide on both sides, and so no image either.
    let all_groups: Vec<String> = s.items.iter().map(|i| i.group.clone()).collect();
    let sides = split_groups(&all_groups, 0.8, 11).expect("split");
    let mut side_of_image = BTreeMap::new();
    for item in &s.items {
        side_of_image.insert(item.name.clone(), sides[&item.group]);
    }
    let train_slides = sides.values().filter(|s| **s == Split::Train).count();
    assert_eq!(train_slides, 6); // round(0.8 * 8)
    assert!(side_of_image.values().any(|s| *s == Split::Test));
}

#[test]
fn monuseg_reader_turns_0_1_masks_into_0_255() {
    let s = scan(Layout::Monuseg, &shared("monuseg/train")).expect("scan");
    assert_eq!(s.items.len(), 30);
    let (image, mask) = s.items[0].read(&ReadOptions::default()).expect("read");
    assert_eq!(image.dimensions(), (1000, 1000));
    assert_eq!(mask.dimensions(), (1000, 1000));
    let Annotation::Mask(file) = &s.items[0].annotation else {
        panic!("mask expected")
    };
    let raw = image::open(file).expect("mask").to_luma8();
    assert!(raw.pixels().all(|v| v[0] <= 1));
    for (a, b) in raw.pixels().zip(mask.pixels()) {
        assert_eq!(b[0], if a[0] == 0 { 0 } else { 255 });
    }
}

#[test]
fn a_random_patch_split_leaks_on_real_brecahad_and_a_split_by_image_does_not() {
    let s = scan(Layout::Brecahad, &shared("brecahad")).expect("scan");
    let rects = Scheme::Patches {
        patch: 256,
        stride: 128,
    }
    .rects(1024, 1024)
    .expect("rects");
    let patches: Vec<(String, _)> = s
        .items
        .iter()
        .flat_map(|i| rects.iter().map(move |r| (i.name.clone(), *r)))
        .collect();
    assert_eq!(patches.len(), 31 * 49);
    let leak = patch_split_leak(&patches, 0.8, 3).expect("leak");
    assert_eq!(leak.test_patches, 304); // round(0.2 * 1519)
    // With 39 of 49 patches of an image in training, nearly every test patch overlaps one.
    assert!(
        leak.overlapping_train * 10 >= leak.test_patches * 9,
        "{leak:?}"
    );
    assert_eq!(leak.same_image_as_train, leak.test_patches);

    let groups: Vec<String> = s.items.iter().map(|i| i.name.clone()).collect();
    let sides = split_groups(&groups, 0.8, 3).expect("split");
    let by_image: Vec<(String, _)> = patches
        .iter()
        .filter(|(n, _)| sides[n] == Split::Train)
        .cloned()
        .collect();
    assert_eq!(by_image.len(), 25 * 49);
}

/// A temporary BreCaHAD-style folder with one good image, one without annotation and one
/// whose JSON has a point outside [0, 1].
fn fake_brecahad(dir: &Path, bad_point: bool) {
    std::fs::create_dir_all(dir.join("images")).expect("mkdir");
    std::fs::create_dir_all(dir.join("groundTruth")).expect("mkdir");
    let img = RgbImage::from_pixel(40, 30, Rgb([200, 100, 150]));
    img.save(dir.join("images/a.png")).expect("save");
    img.save(dir.join("images/lonely.png")).expect("save");
    std::fs::write(dir.join("images/notes.txt"), "not an image").expect("write");
    let y = if bad_point { 1.5 } else { 0.5 };
    std::fs::write(
        dir.join("groundTruth/a.json"),
        format!(r#"{{"tumor": [{{"x": 0.25, "y": {y}}}], "non_tumor": []}}"#),
    )
    .expect("write");
}

#[test]
fn an_image_without_annotation_is_a_listed_warning() {
    let dir = tempfile::tempdir().expect("tmp");
    fake_brecahad(dir.path(), false);
    let s = scan(Layout::Brecahad, dir.path()).expect("scan");
    assert_eq!(s.items.len(), 1);
    assert_eq!(s.warnings.len(), 1);
    assert!(s.warnings[0].contains("lonely.png") && s.warnings[0].contains("lonely.json"));
    let mask = s.items[0].read_mask(&ReadOptions::default()).expect("mask");
    assert_eq!(mask.get_pixel(10, 15)[0], 255); // (0.25 * 40, 0.5 * 30)
}

#[test]
fn a_point_outside_the_image_is_an_error_naming_the_file() {
    let dir = tempfile::tempdir().expect("tmp");
    fake_brecahad(dir.path(), true);
    let s = scan(Layout::Brecahad, dir.path()).expect("scan");
    let err = s.items[0]
        .read(&ReadOptions::default())
        .expect_err("bad point");
    assert!(matches!(err, Error::Annotation { .. }));
    let msg = err.to_string();
    assert!(
        msg.contains("a.json") && msg.contains("outside [0, 1]") && msg.contains("1.5"),
        "{msg}"
    );
}

#[test]
fn folder_layout_reads_rgba_pairs_and_refuses_a_mask_of_another_size() {
    let dir = tempfile::tempdir().expect("tmp");
    let d = dir.path();
    std::fs::create_dir_all(d.join("images")).expect("mkdir");
    std::fs::create_dir_all(d.join("masks")).expect("mkdir");
    RgbaImage::from_pixel(16, 8, Rgba([10, 20, 30, 0]))
        .save(d.join("images/good.png"))
        .expect("s");
    let mut m = GrayImage::new(16, 8);
    m.put_pixel(3, 4, Luma([1]));
    m.save(d.join("masks/good.png")).expect("save");
    RgbImage::new(16, 8)
        .save(d.join("images/wrong.jpg"))
        .expect("save");
    GrayImage::new(8, 8)
        .save(d.join("masks/wrong.png"))
        .expect("save");
    RgbImage::new(4, 4)
        .save(d.join("images/unmasked.png"))
        .expect("save");

    let s = scan(Layout::Folder, d).expect("scan");
    let names: Vec<&str> = s.items.iter().map(|i| i.name.as_str()).collect();
    assert_eq!(names, ["good", "wrong"]);
    assert_eq!(s.warnings.len(), 1);
    assert!(s.warnings[0].contains("unmasked.png"));

    let (image, mask) = s.items[0].read(&ReadOptions::default()).expect("read");
    assert_eq!(image.get_pixel(0, 0).0, [10, 20, 30]);
    assert_eq!(mask.get_pixel(3, 4)[0], 255);
    assert_eq!(mask.pixels().filter(|v| v[0] != 0).count(), 1);

    let err = s.items[1].read(&ReadOptions::default()).expect_err("size");
    assert!(matches!(err, Error::MaskSize { .. }));
    let msg = err.to_string();
    assert!(
        msg.contains("wrong.png") && msg.contains("wrong.jpg") && msg.contains("8x8"),
        "{msg}"
    );
}

#[test]
fn missing_layout_folders_are_clear_errors() {
    let dir = tempfile::tempdir().expect("tmp");
    for layout in Layout::ALL {
        let err = scan(layout, dir.path())
            .expect_err("empty folder")
            .to_string();
        assert!(
            err.contains(&dir.path().display().to_string()),
            "{layout}: {err}"
        );
    }
    assert!("nope".parse::<Layout>().is_err());
}
