//! The slide reader on every file in `../shared/data/slides`: levels against what the files
//! declare, `read_region` against independent full decodes, derived CMU-1 files against the
//! original, and clear errors for the bad ones.

use std::path::PathBuf;

use histoseg_core::rect::Rect;
use histoseg_core::slide::{AssociatedKind, Slide, Vendor};
use image::RgbImage;

mod common;
use common::{mean_abs_diff, shared};

fn slides_dir() -> PathBuf {
    shared("slides")
}

fn path(name: &str) -> PathBuf {
    slides_dir().join(name)
}

fn open(name: &str) -> Slide<std::io::BufReader<std::fs::File>> {
    match Slide::open_path(path(name)) {
        Ok(s) => s,
        Err(e) => panic!("{name} should open: {e}"),
    }
}

fn sizes<R>(s: &Slide<R>) -> Vec<(u32, u32)> {
    (0..s.level_count())
        .filter_map(|l| s.level_dimensions(l))
        .collect()
}

/// Full decode through the `image` crate (its own TIFF / PNG decoders), as RGB.
fn reference(name: &str) -> RgbImage {
    match image::open(path(name)) {
        Ok(i) => i.into_rgb8(),
        Err(e) => panic!("image crate cannot decode {name}: {e}"),
    }
}

fn crop(img: &RgbImage, r: Rect) -> RgbImage {
    image::imageops::crop_imm(img, r.x, r.y, r.w, r.h).to_image()
}

/// Mean over `k x k` blocks, `w x h` blocks from the top-left (a plain reference).
fn block_mean(img: &RgbImage, k: u32, w: u32, h: u32) -> RgbImage {
    RgbImage::from_fn(w, h, |x, y| {
        let mut s = [0u32; 3];
        for dy in 0..k {
            for dx in 0..k {
                let p = img.get_pixel(x * k + dx, y * k + dy).0;
                (0..3).for_each(|c| s[c] += u32::from(p[c]));
            }
        }
        let n = k * k;
        image::Rgb(s.map(|v| ((v + n / 2) / n) as u8))
    })
}

/// A few rectangles spread over a `w x h` image, some crossing tile borders, one the whole.
fn places(w: u32, h: u32) -> Vec<Rect> {
    vec![
        Rect::new(0, 0, w, h),
        Rect::new(0, 0, 1, 1),
        Rect::new(w - 1, h - 1, 1, 1),
        Rect::new(w / 3, h / 4, (w / 2).max(1), (h / 3).max(1)),
        Rect::new(w / 2, h / 2, w - w / 2, h - h / 2),
    ]
}

fn assert_regions_match(name: &str, slide_level: usize, reference: &RgbImage) {
    let mut s = open(name);
    let (w, h) = reference.dimensions();
    assert_eq!(s.level_dimensions(slide_level), Some((w, h)), "{name}");
    for r in places(w, h) {
        let got = s
            .read_region(slide_level, r)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(
            got == crop(reference, r),
            "{name}: region {r:?} differs from the full decode"
        );
    }
}

#[test]
fn aperio_cmu1_small_region_layout_and_metadata() {
    let s = open("cmu-1-small-region.svs");
    let i = s.info();
    assert_eq!(i.vendor, Vendor::Aperio);
    assert_eq!(sizes(&s), vec![(2220, 2967)]);
    assert_eq!(
        (i.levels[0].tile_width, i.levels[0].tile_height),
        (240, 240)
    );
    assert_eq!(i.mpp_x, Some(0.499));
    assert_eq!(i.objective_power, Some(20.0));
    let kinds: Vec<_> = i
        .associated
        .iter()
        .map(|a| (a.kind, a.width, a.height))
        .collect();
    assert_eq!(
        kinds,
        vec![
            (AssociatedKind::Thumbnail, 574, 768),
            (AssociatedKind::Label, 387, 463),
            (AssociatedKind::Macro, 1280, 431)
        ]
    );
}

#[test]
fn aperio_associated_images_decode() {
    let mut s = open("cmu-1-small-region.svs");
    for (kind, w, h) in [
        (AssociatedKind::Thumbnail, 574, 768),
        (AssociatedKind::Label, 387, 463),
        (AssociatedKind::Macro, 1280, 431),
    ] {
        let img = s
            .read_associated(kind)
            .unwrap_or_else(|e| panic!("{kind}: {e}"));
        assert_eq!(img.dimensions(), (w, h));
        let (min, max) = img
            .as_raw()
            .iter()
            .fold((255, 0), |(a, b), &v| (a.min(v), b.max(v)));
        assert!(max > min + 50, "{kind} is flat ({min}..{max})");
    }
    // The thumbnail is the level-0 image reduced: compare with our own overview.
    let thumb = s
        .read_associated(AssociatedKind::Thumbnail)
        .unwrap_or_else(|e| panic!("{e}"));
    let ov = s.overview(768).unwrap_or_else(|e| panic!("{e}"));
    // 2220 * 768 / 2967 = 574.6: Aperio rounds down, we round to nearest.
    assert_eq!(ov.dimensions(), (575, 768));
    let ov = crop(&ov, Rect::new(0, 0, 574, 768));
    // Aperio's own reduction differs in filter and phase: close on average, near per pixel
    // (a colour-space mistake gives differences of 50 and more).
    let d = mean_abs_diff(&thumb, &ov);
    assert!(d < 15.0, "thumbnail vs overview differ by {d}");
    let mean = |i: &RgbImage, c: usize| {
        i.pixels().map(|p| f64::from(p.0[c])).sum::<f64>() / f64::from(i.width() * i.height())
    };
    for c in 0..3 {
        let (a, b) = (mean(&thumb, c), mean(&ov, c));
        assert!(
            (a - b).abs() < 3.0,
            "channel {c}: thumbnail mean {a}, overview mean {b}"
        );
    }
}

#[test]
fn aperio_jpeg_tiles_look_like_tissue_on_glass() {
    // Decoding RGB components as YCbCr (or the reverse) makes glass strongly coloured.
    let mut s = open("cmu-1-small-region.svs");
    let img = s
        .read_region(0, Rect::new(0, 0, 2220, 2967))
        .unwrap_or_else(|e| panic!("{e}"));
    let mut neutral_bright = 0u64;
    for p in img.pixels() {
        let [r, g, b] = p.0;
        if r > 200 && g > 200 && b > 200 && r.abs_diff(g) < 20 && g.abs_diff(b) < 20 {
            neutral_bright += 1;
        }
    }
    let frac = neutral_bright as f64 / f64::from(2220 * 2967);
    assert!(
        frac > 0.1,
        "only {frac:.3} of CMU-1 is bright neutral glass"
    );
}

#[test]
fn derived_cmu1_files_match_the_original() {
    let mut orig = open("cmu-1-small-region.svs");
    for name in [
        "cmu1_generic_tiled_pyramid_jpeg.tif",
        "cmu1_pyramid_subifds.ome.tif",
    ] {
        let mut s = open(name);
        assert_eq!(
            sizes(&s),
            vec![(2220, 2967), (1110, 1483), (555, 741), (277, 370)],
            "{name}"
        );
        for r in [
            Rect::new(0, 0, 300, 300),
            Rect::new(1000, 1200, 517, 611),
            Rect::new(1900, 2700, 320, 267),
        ] {
            let a = orig.read_region(0, r).unwrap_or_else(|e| panic!("{e}"));
            let b = s
                .read_region(0, r)
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            // Re-encoded JPEG: tissue differs by about 6 levels on average, glass by less.
            let d = mean_abs_diff(&a, &b);
            assert!(d < 8.0, "{name} {r:?}: mean difference {d}");
        }
        let whole = Rect::new(0, 0, 2220, 2967);
        let a = orig.read_region(0, whole).unwrap_or_else(|e| panic!("{e}"));
        let b = s
            .read_region(0, whole)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let d = mean_abs_diff(&a, &b);
        assert!(d < 4.0, "{name} level 0: mean difference {d}");
        // Level 2 is level 0 averaged over 4 x 4 blocks (and re-encoded).
        let l2 = s
            .read_region(2, Rect::new(0, 0, 555, 741))
            .unwrap_or_else(|e| panic!("{e}"));
        let d = mean_abs_diff(&block_mean(&a, 4, 555, 741), &l2);
        assert!(d < 5.0, "{name} level 2: mean difference {d}");
    }
    let ome = open("cmu1_pyramid_subifds.ome.tif");
    assert_eq!(ome.info().vendor, Vendor::OmeTiff);
    assert!(ome.info().bigtiff);
    // The strip-LZW copy of level 1 matches the original halved.
    let mut strips = open("cmu1_level1_strips_lzw.tif");
    assert_eq!(sizes(&strips), vec![(1110, 1483)]);
    let a = orig
        .read_region(0, Rect::new(0, 0, 2220, 2967))
        .unwrap_or_else(|e| panic!("{e}"));
    let l1 = strips
        .read_region(0, Rect::new(0, 0, 1110, 1483))
        .unwrap_or_else(|e| panic!("{e}"));
    // Lossless strips of the 2 x 2 block mean: only rounding differs.
    let d = mean_abs_diff(&block_mean(&a, 2, 1110, 1483), &l1);
    assert!(d < 1.0, "strips vs halved original: mean difference {d}");
}

#[test]
fn regions_equal_full_decodes_of_small_files() {
    assert_regions_match("kidney-48-5.tif", 0, &reference("kidney-48-5.tif"));
    assert_regions_match(
        "cmu1_level1_strips_lzw.tif",
        0,
        &reference("cmu1_level1_strips_lzw.tif"),
    );
    assert_regions_match(
        "cmu1_crop1024_bigtiff_deflate_tiled.tif",
        0,
        &reference("cmu1_crop1024_bigtiff_deflate_tiled.tif"),
    );
    assert_regions_match("boxes.tiff", 0, &reference("boxes.tiff"));
    assert_regions_match("boxes.tiff", 0, &reference("boxes.png"));
    assert_regions_match("boxes.png", 0, &reference("boxes.png"));
}

#[test]
fn generic_files_declare_their_levels() {
    let boxes = open("boxes.tiff");
    assert_eq!(
        sizes(&boxes),
        vec![(300, 250), (150, 125), (75, 62), (37, 31)]
    );
    assert_eq!(boxes.info().levels[1].tile_width, 64);
    assert!((boxes.info().levels[1].downsample - 2.0).abs() < 1e-9);
    assert_eq!(sizes(&open("kidney-48-5.tif")), vec![(1493, 901)]);
    let crop = open("cmu1_crop1024_bigtiff_deflate_tiled.tif");
    assert_eq!(sizes(&crop), vec![(1024, 1024)]);
    assert!(crop.info().bigtiff);
    let png = open("boxes.png");
    assert_eq!(png.info().vendor, Vendor::Image);
    assert_eq!(png.level_count(), 1);
    let small = open("small.svs");
    assert_eq!(sizes(&small), vec![(16, 16)]);
    assert_eq!(small.info().associated.len(), 1);
}

#[test]
fn small_svs_reads_and_matches_its_thumbnail() {
    let mut s = open("small.svs");
    let px = s
        .read_region(0, Rect::new(0, 0, 16, 16))
        .unwrap_or_else(|e| panic!("{e}"));
    let thumb = s
        .read_associated(AssociatedKind::Thumbnail)
        .unwrap_or_else(|e| panic!("{e}"));
    let d = mean_abs_diff(&px, &thumb);
    assert!(
        d < 12.0,
        "small.svs level 0 vs its same-size thumbnail: {d}"
    );
}

#[test]
fn jpeg2000_tiles_decode_like_the_jpeg_thumbnail() {
    let mut s = open("tcga-cr-7395-01a-01-ts1.svs");
    assert_eq!(sizes(&s), vec![(4443, 3567), (2221, 1783)]);
    assert_eq!(s.info().vendor, Vendor::Aperio);
    assert!(s.info().levels[0].compression.contains("JPEG 2000"));
    // The thumbnail is an ordinary JPEG of the same slide: an overview of the same size read
    // from the JPEG 2000 level must look the same (a colour-space mistake would not).
    let thumb = s
        .read_associated(AssociatedKind::Thumbnail)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(thumb.dimensions(), (956, 768));
    let overview = s.overview(956).unwrap_or_else(|e| panic!("{e}"));
    let overview =
        image::imageops::resize(&overview, 956, 768, image::imageops::FilterType::Triangle);
    let d = mean_abs_diff(&overview, &thumb);
    assert!(d < 12.0, "JPEG 2000 overview vs JPEG thumbnail: {d}");
    assert_eq!(
        s.chunks_decoded(0),
        0,
        "the overview must come from level 1 alone"
    );
    // Level 0 and level 1 agree where they overlap.
    let fine = s
        .read_region(0, Rect::new(2000, 1600, 400, 400))
        .unwrap_or_else(|e| panic!("{e}"));
    let coarse = s
        .read_region(1, Rect::new(1000, 800, 200, 200))
        .unwrap_or_else(|e| panic!("{e}"));
    let fine = image::imageops::resize(&fine, 200, 200, image::imageops::FilterType::Triangle);
    let d = mean_abs_diff(&fine, &coarse);
    assert!(d < 12.0, "JPEG 2000 level 0 vs level 1: {d}");
}

fn error_of(name: &str) -> String {
    match Slide::open_path(path(name)) {
        Err(e) => e.to_string(),
        Ok(mut s) => {
            let (w, h) = s.level_dimensions(0).unwrap_or((1, 1));
            match s.read_region(0, Rect::new(0, 0, w, h)) {
                Err(e) => e.to_string(),
                Ok(_) => panic!("{name} read without error"),
            }
        }
    }
}

#[test]
fn bad_files_give_clear_errors() {
    let e = error_of("broken.svs");
    assert!(e.contains("broken.svs") && e.contains("not a slide"), "{e}");
    let e = error_of("unreadable.svs");
    assert!(e.contains("unreadable.svs") && e.contains("JPEG"), "{e}");
    let e = error_of("unopenable.tiff");
    assert!(
        e.contains("unopenable.tiff") && e.contains("compression"),
        "{e}"
    );
}

#[test]
fn truncated_copies_fail_cleanly() {
    let bytes = std::fs::read(path("cmu-1-small-region.svs")).unwrap_or_default();
    assert!(bytes.len() > 1000);
    for keep in [4, 100, bytes.len() / 3, bytes.len() / 2, bytes.len() - 10] {
        let cur = std::io::Cursor::new(bytes[..keep].to_vec());
        let msg = match Slide::open(cur, "cut.svs") {
            Err(e) => e.to_string(),
            Ok(mut s) => match s.read_region(0, Rect::new(0, 0, 2220, 2967)) {
                Err(e) => e.to_string(),
                Ok(_) => match s.read_associated(AssociatedKind::Macro) {
                    Err(e) => e.to_string(),
                    Ok(_) => panic!("truncated to {keep} bytes yet everything read"),
                },
            },
        };
        assert!(msg.starts_with("cut.svs: "), "{msg}");
    }
}

#[test]
fn regions_outside_the_level_are_refused() {
    let mut s = open("boxes.tiff");
    for (level, r) in [
        (0, Rect::new(290, 0, 20, 10)),
        (0, Rect::new(0, 0, 0, 5)),
        (1, Rect::new(0, 120, 10, 10)),
        (4, Rect::new(0, 0, 1, 1)),
        (0, Rect::new(u32::MAX, u32::MAX, 2, 2)),
    ] {
        let e = s
            .read_region(level, r)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            e.starts_with(&format!("{}: ", s.name())),
            "{level} {r:?}: {e}"
        );
        assert!(e.contains("outside") || e.contains("no level"), "{e}");
    }
}

#[test]
fn overview_uses_the_smallest_sufficient_level_and_the_cache_bounds_memory() {
    let mut s = open("cmu1_generic_tiled_pyramid_jpeg.tif");
    let ov = s.overview(600).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(ov.dimensions(), (449, 600)); // 555x741 reduced to a 600 px long side
    assert_eq!((s.chunks_decoded(0), s.chunks_decoded(1)), (0, 0));
    assert_eq!(s.chunks_decoded(2), 9); // 3 x 3 tiles of 256 px
    // Reading again hits the cache; a small budget is respected.
    s.read_region(2, Rect::new(0, 0, 555, 741))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(s.chunks_decoded(2), 9);
    s.set_cache_capacity(2 * 256 * 256 * 3);
    s.read_region(0, Rect::new(0, 0, 2220, 2967))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(s.chunks_decoded(0), 9 * 12);
    assert!(s.cache().used() <= 2 * 256 * 256 * 3 && s.cache().len() == 2);
}

#[test]
fn overview_shares_made_on_separate_copies_join_into_the_same_overview() {
    for (name, side) in [
        ("cmu-1-small-region.svs", 700),
        ("kidney-48-5.tif", 500),
        ("cmu1_generic_tiled_pyramid_jpeg.tif", 600),
    ] {
        let whole = open(name).overview(side).unwrap_or_else(|e| panic!("{e}"));
        for parts in [2, 3, 5] {
            // Each share on its own copy of the slide, sent through JSON as between workers,
            // and joined out of order.
            let mut shares: Vec<_> = (0..parts)
                .map(|k| {
                    let share = open(name).overview_part(side, k, parts);
                    let json = serde_json::to_string(&share.unwrap_or_else(|e| panic!("{e}")));
                    serde_json::from_str(&json.expect("json")).expect("back")
                })
                .collect();
            shares.reverse();
            let joined = open(name).overview_from_parts(side, shares);
            assert!(
                joined.unwrap_or_else(|e| panic!("{e}")) == whole,
                "{name}, {parts} shares"
            );
        }
    }
}

#[test]
fn overview_shares_that_do_not_fit_together_are_refused() {
    let mut s = open("cmu-1-small-region.svs");
    let share = |s: &mut Slide<_>, side, k, n| s.overview_part(side, k, n).expect("share");
    let (a, b) = (share(&mut s, 700, 0, 2), share(&mut s, 700, 1, 2));
    let c = share(&mut s, 600, 1, 2);
    let attempts = [
        (700, vec![a.clone()], "share 0 of 2"),
        (700, vec![a.clone(), c], "share 1 of 2"),
        (600, vec![a.clone(), b.clone()], "do not fit"),
        (700, vec![a.clone(), a.clone()], "do not fit"),
        (700, vec![], "no overview shares"),
    ];
    for (side, shares, want) in attempts {
        let e = s
            .overview_from_parts(side, shares)
            .expect_err("refused")
            .to_string();
        assert!(
            e.contains("cmu-1-small-region.svs") && e.contains(want),
            "{e}"
        );
    }
    assert!(s.overview_part(700, 2, 2).is_err());
    // A share whose pixels were tampered with in transit.
    let mut json: serde_json::Value = serde_json::to_value(&b).expect("json");
    json["band"]["pixels"].as_array_mut().expect("bytes").pop();
    let tampered = serde_json::from_value(json).expect("back");
    let e = s
        .overview_from_parts(700, vec![a, tampered])
        .expect_err("refused");
    assert!(e.to_string().contains("overview share 1"), "{e}");
}

/// A classic little-endian TIFF with its main directory chain put in `order` (indices into
/// the chain as written): only the header's first offset and each directory's next-pointer
/// change.
fn reorder_chain(bytes: &[u8], order: &[usize]) -> Vec<u8> {
    assert_eq!(&bytes[..4], b"II*\0", "a classic little-endian TIFF");
    let u16_at = |at: usize| usize::from(u16::from_le_bytes([bytes[at], bytes[at + 1]]));
    let u32_at =
        |at: usize| u32::from_le_bytes(bytes[at..at + 4].try_into().expect("4 bytes")) as usize;
    let mut offsets = Vec::new();
    let mut next = u32_at(4);
    while next != 0 {
        offsets.push(next);
        next = u32_at(next + 2 + 12 * u16_at(next));
    }
    assert_eq!(offsets.len(), order.len());
    let mut out = bytes.to_vec();
    let mut put = |at: usize, value: usize| {
        out[at..at + 4].copy_from_slice(&(value as u32).to_le_bytes());
    };
    put(4, offsets[order[0]]);
    for (k, &i) in order.iter().enumerate() {
        let link = offsets[i] + 2 + 12 * u16_at(offsets[i]);
        put(link, order.get(k + 1).map_or(0, |&j| offsets[j]));
    }
    out
}

#[test]
fn directories_out_of_order_still_give_level_0_and_the_associated_images() {
    let name = "cmu-1-small-region.svs";
    let bytes = std::fs::read(path(name)).expect("test slide present");
    let mut original = open(name);
    // Thumbnail first and level 0 last.
    let shuffled = reorder_chain(&bytes, &[1, 2, 3, 0]);
    let mut s = Slide::open(std::io::Cursor::new(shuffled), "shuffled.svs")
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(sizes(&s), sizes(&original));
    assert_eq!(s.info().vendor, Vendor::Aperio);
    let kinds = |s: &histoseg_core::slide::SlideInfo| {
        let mut k: Vec<_> = s
            .associated
            .iter()
            .map(|a| (a.kind, a.width, a.height))
            .collect();
        k.sort_by_key(|&(kind, ..)| kind as u8);
        k
    };
    assert_eq!(kinds(s.info()), kinds(original.info()));
    let r = Rect::new(600, 900, 300, 200);
    let (a, b) = (s.read_region(0, r), original.read_region(0, r));
    assert_eq!(
        a.unwrap_or_else(|e| panic!("{e}")),
        b.unwrap_or_else(|e| panic!("{e}"))
    );
}

#[test]
fn damaged_jpeg_tiles_are_counted_named_or_refused() {
    let name = "cmu-1-small-region.svs";
    let mut good = open(name);
    good.overview(1024).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(good.damage().count, 0, "{:?}", good.damage().named);
    // Garbage in the middle of the file: inside some level-0 tile's entropy-coded data.
    let mut bytes = std::fs::read(path(name)).expect("test slide present");
    histoseg_core::slide::synthetic::scramble_middle(&mut bytes, 600, 7);
    let mut s = Slide::open(std::io::Cursor::new(bytes.clone()), "damaged.svs")
        .unwrap_or_else(|e| panic!("{e}"));
    s.overview(1024).unwrap_or_else(|e| panic!("lenient: {e}"));
    let damage = s.damage();
    assert!(damage.count >= 1, "the garbage is found");
    assert_eq!(damage.named.len(), damage.count);
    assert!(
        damage.named[0].starts_with("tile ") && damage.named[0].contains("is damaged: "),
        "{:?}",
        damage.named
    );
    let mut strict =
        Slide::open(std::io::Cursor::new(bytes), "damaged.svs").unwrap_or_else(|e| panic!("{e}"));
    strict.set_strict(true);
    let err = strict.overview(1024).expect_err("strict").to_string();
    assert!(
        err.starts_with("damaged.svs: ") && err.contains("damaged"),
        "{err}"
    );
}

#[test]
fn real_jpeg_slides_have_no_damaged_tiles() {
    // Strict decoding must not mistake a scanner's ordinary JPEG tiles for damaged ones.
    for name in [
        "small.svs",
        "tcga-cr-7395-01a-01-ts1.svs",
        "cmu1_generic_tiled_pyramid_jpeg.tif",
        "cmu1_pyramid_subifds.ome.tif",
    ] {
        let mut s = open(name);
        s.overview(1024).unwrap_or_else(|e| panic!("{name}: {e}"));
        let (w, h) = s.level_dimensions(0).expect("level 0");
        s.read_region(0, Rect::new(w / 2, h / 2, 512.min(w / 2), 512.min(h / 2)))
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(s.damage().count, 0, "{name}: {:?}", s.damage().named);
    }
}
