//! The slide reader on files made at test time: a synthetic pyramidal JPEG BigTIFF from
//! `slide::synthetic`, and hand-built TIFFs with broken offsets and absurd sizes.

use std::io::Cursor;

use histoseg_core::rect::Rect;
use histoseg_core::slide::synthetic::{SyntheticSpec, write_slide};
use histoseg_core::slide::{Slide, Vendor};

fn synthetic(spec: &SyntheticSpec) -> (Vec<u8>, Vec<histoseg_core::slide::synthetic::Piece>) {
    let mut cur = Cursor::new(Vec::new());
    let pieces = write_slide(&mut cur, spec).unwrap_or_else(|e| panic!("{e}"));
    (cur.into_inner(), pieces)
}

#[test]
fn synthetic_bigtiff_pyramid_reads_back() {
    let spec = SyntheticSpec::new(20_000, 16_000);
    let (bytes, pieces) = synthetic(&spec);
    let mut s = Slide::open(Cursor::new(bytes), "synthetic.tif").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(s.info().vendor, Vendor::GenericTiff);
    assert!(s.info().bigtiff);
    let want: Vec<(u32, u32)> = {
        let (mut w, mut h, mut v) = (20_000u32, 16_000u32, vec![]);
        loop {
            v.push((w, h));
            if w.max(h) <= 1024 {
                break v;
            }
            (w, h) = (w.div_ceil(2), h.div_ceil(2));
        }
    };
    let got: Vec<_> = (0..s.level_count())
        .filter_map(|l| s.level_dimensions(l))
        .collect();
    assert_eq!(got, want);
    let mpp = s.info().mpp_x.unwrap_or_default();
    assert!((mpp - 0.25).abs() < 1e-3, "mpp {mpp}");

    // Tissue where the generator put it, glass far from every piece.
    let p = pieces[0];
    let centre = s
        .read_region(0, Rect::new(p.cx as u32 - 8, p.cy as u32 - 8, 16, 16))
        .unwrap_or_else(|e| panic!("{e}"));
    let mean_g: f64 = centre.pixels().map(|q| f64::from(q.0[1])).sum::<f64>() / 256.0;
    assert!(
        mean_g < 200.0,
        "tissue centre is not tissue (green {mean_g})"
    );
    let corner = s
        .read_region(0, Rect::new(0, 0, 16, 16))
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        corner.pixels().all(|q| q.0.iter().all(|&v| v > 225)),
        "corner is not glass"
    );

    // The overview reads only the smallest level at least 2048 px long: 2500 x 2000.
    let ov = s.overview(2048).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(ov.dimensions(), (2048, 1638));
    let lvl = s.level_for_side(2048);
    assert_eq!(s.level_dimensions(lvl), Some((2500, 2000)));
    for l in 0..s.level_count() {
        let n = s.chunks_decoded(l);
        if l == lvl {
            assert_eq!(n, 10 * 8); // every tile of 2500 x 2000 in 256 px tiles, once
        } else if l != 0 {
            assert_eq!(n, 0, "level {l} touched");
        }
    }
    // Level 0 was touched only by the two small reads above.
    assert_eq!(s.chunks_decoded(0), 2);
}

#[test]
fn classic_tiff_synthetic_and_overview_at_level_size() {
    let mut spec = SyntheticSpec::new(3000, 2000);
    spec.bigtiff = false;
    let (bytes, _) = synthetic(&spec);
    let mut s = Slide::open(Cursor::new(bytes), "small.tif").unwrap_or_else(|e| panic!("{e}"));
    assert!(!s.info().bigtiff);
    assert_eq!(s.level_count(), 3); // 3000, 1500, 750
    let src = s
        .read_region(1, Rect::new(0, 0, 1500, 1000))
        .unwrap_or_else(|e| panic!("{e}"));
    s.set_cache_capacity(0);
    let ov = s.overview(1500).unwrap_or_else(|e| panic!("{e}"));
    assert!(ov == src, "an overview at a level's own size is that level");
    assert_eq!(s.chunks_decoded(0), 0);
}

#[test]
fn overview_with_an_integer_ratio_is_the_block_mean() {
    let img = image::RgbImage::from_fn(64, 48, |x, y| {
        image::Rgb([(x * 37 + y * 11) as u8, (x * y) as u8, ((x ^ y) * 5) as u8])
    });
    let mut png = Cursor::new(Vec::new());
    img.write_to(&mut png, image::ImageFormat::Png)
        .unwrap_or_else(|e| panic!("{e}"));
    png.set_position(0);
    let mut s = Slide::open(png, "plain.png").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(s.info().vendor, Vendor::Image);
    let ov = s.overview(32).unwrap_or_else(|e| panic!("{e}"));
    let want = image::RgbImage::from_fn(32, 24, |x, y| {
        let mut sum = [0u32; 3];
        for (dx, dy) in [(0, 0), (1, 0), (0, 1), (1, 1)] {
            let p = img.get_pixel(2 * x + dx, 2 * y + dy).0;
            (0..3).for_each(|c| sum[c] += u32::from(p[c]));
        }
        image::Rgb(sum.map(|v| ((v + 2) / 4) as u8))
    });
    assert!(ov == want, "area average of 2 x 2 blocks");
}

/// A classic little-endian TIFF with one 8-bit RGB image of `w x h` in one uncompressed strip
/// of `data_len` bytes placed at `data_offset` (which may lie anywhere).
fn tiny_tiff(w: u32, h: u32, data_offset: u32, data_len: u32, pixels: &[u8]) -> Vec<u8> {
    let mut b = b"II*\0".to_vec();
    b.extend(8u32.to_le_bytes());
    let entries: Vec<(u16, u16, u32, u32)> = vec![
        (256, 4, 1, w),
        (257, 4, 1, h),
        (258, 3, 1, 8),
        (259, 3, 1, 1),
        (262, 3, 1, 2),
        (273, 4, 1, data_offset),
        (277, 3, 1, 3),
        (278, 4, 1, h),
        (279, 4, 1, data_len),
    ];
    b.extend((entries.len() as u16).to_le_bytes());
    for (tag, typ, count, val) in entries {
        b.extend(tag.to_le_bytes());
        b.extend(typ.to_le_bytes());
        b.extend(count.to_le_bytes());
        if typ == 3 {
            b.extend((val as u16).to_le_bytes());
            b.extend([0, 0]);
        } else {
            b.extend(val.to_le_bytes());
        }
    }
    b.extend(0u32.to_le_bytes());
    b.extend_from_slice(pixels);
    b
}

#[test]
fn hand_built_tiff_reads_exact_pixels() {
    let px: Vec<u8> = (0..4 * 3 * 3).map(|i| (i * 7) as u8).collect();
    let at = 8 + 2 + 9 * 12 + 4;
    let bytes = tiny_tiff(4, 3, at, px.len() as u32, &px);
    let mut s = Slide::open(Cursor::new(bytes), "tiny.tif").unwrap_or_else(|e| panic!("{e}"));
    let r = s
        .read_region(0, Rect::new(1, 1, 2, 2))
        .unwrap_or_else(|e| panic!("{e}"));
    // Row 1, columns 1..3 then row 2, columns 1..3.
    let want: Vec<u8> = [(1, 1), (2, 1), (1, 2), (2, 2)]
        .iter()
        .flat_map(|&(x, y)| px[(y * 4 + x) * 3..][..3].to_vec())
        .collect();
    assert_eq!(r.as_raw(), &want);
}

#[test]
fn strip_offset_past_the_end_is_a_clear_error() {
    let bytes = tiny_tiff(4, 3, 1_000_000, 36, &[0; 36]);
    let mut s = Slide::open(Cursor::new(bytes), "past-end.tif").unwrap_or_else(|e| panic!("{e}"));
    let e = s
        .read_region(0, Rect::new(0, 0, 4, 3))
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(
        e.starts_with("past-end.tif: ") && e.contains("past the end of the file"),
        "{e}"
    );
}

#[test]
fn absurd_dimensions_are_refused_without_allocating() {
    let bytes = tiny_tiff(1_000_000_000, 1_000_000_000, 8, 36, &[0; 36]);
    let e = Slide::open(Cursor::new(bytes), "huge.tif")
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(
        e.starts_with("huge.tif: ") && e.contains("absurd dimensions"),
        "{e}"
    );
    // Within the side limit but a single strip far beyond the chunk limit.
    let bytes = tiny_tiff(900_000, 900_000, 8, 36, &[0; 36]);
    let e = Slide::open(Cursor::new(bytes), "big-strip.tif")
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(
        e.starts_with("big-strip.tif: ") && e.contains("limit"),
        "{e}"
    );
}

#[test]
fn garbage_never_panics() {
    // Every prefix and a few corruptions of a real directory must give Ok or Err, not panic.
    let px = [9u8; 36];
    let good = tiny_tiff(4, 3, 8 + 2 + 9 * 12 + 4, 36, &px);
    for cut in 0..good.len() {
        let _ = Slide::open(Cursor::new(good[..cut].to_vec()), "cut.tif")
            .and_then(|mut s| s.read_region(0, Rect::new(0, 0, 4, 3)));
    }
    for i in 8..good.len() {
        for v in [0u8, 1, 0x7F, 0xFF] {
            let mut b = good.clone();
            b[i] = v;
            let _ = Slide::open(Cursor::new(b), "flip.tif").and_then(|mut s| {
                let (w, h) = s.level_dimensions(0).unwrap_or((1, 1));
                s.read_region(0, Rect::new(0, 0, w.min(64), h.min(64)))
            });
        }
    }
}

#[cfg(unix)]
#[test]
fn pipes_and_folders_without_dicom_are_refused_before_opening() {
    let dir = tempfile::tempdir().expect("temp dir");
    let fifo = dir.path().join("slide.svs");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .expect("mkfifo runs");
    assert!(made.success());
    // Opening a FIFO would wait for a writer forever; this must return at once.
    let err = Slide::open_path(&fifo).expect_err("not a file").to_string();
    assert!(err.contains("is not a regular file"), "{err}");
    // A folder is a DICOM slide; this one (the FIFO is passed over) holds none.
    let err = Slide::open_path(dir.path())
        .expect_err("no slide")
        .to_string();
    assert!(err.contains("no DICOM whole-slide image"), "{err}");
}

/// CRC-32 of PNG chunks (ISO 3309), bit by bit: the test's own PNG header needs it.
fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

#[test]
fn a_small_png_declaring_a_huge_image_is_refused_before_decoding() {
    // A real 1 x 1 PNG whose header then claims 16384 x 16384 (768 MiB of RGB).
    let mut png = Vec::new();
    image::RgbImage::new(1, 1)
        .write_to(&mut Cursor::new(&mut png), image::ImageFormat::Png)
        .expect("encodes");
    png[16..20].copy_from_slice(&16384u32.to_be_bytes());
    png[20..24].copy_from_slice(&16384u32.to_be_bytes());
    let crc = crc32(&png[12..29]);
    png[29..33].copy_from_slice(&crc.to_be_bytes());
    let err = match Slide::open(Cursor::new(png), "huge.png") {
        Ok(_) => panic!("a 16384 x 16384 PNG must be refused"),
        Err(e) => e.to_string(),
    };
    assert!(
        err.starts_with("huge.png: the image declares 16384x16384 px"),
        "{err}"
    );
}

/// A classic TIFF of `n` chained 1 x 1 RGB directories that all point at one shared
/// `description_len`-byte ImageDescription.
fn tiff_sharing_a_description(n: usize, description_len: u32) -> Vec<u8> {
    let mut b = b"II*\0".to_vec();
    let description_at = 8u32;
    let pixels_at = description_at + description_len;
    let first_ifd = pixels_at + 4;
    b.extend(first_ifd.to_le_bytes());
    b.resize(pixels_at as usize, b'A');
    b.extend([200, 100, 50, 0]);
    let entries = |next: u32| {
        let fields: [(u16, u16, u32, u32); 10] = [
            (256, 4, 1, 1),
            (257, 4, 1, 1),
            (258, 3, 1, 8),
            (259, 3, 1, 1),
            (262, 3, 1, 2),
            (270, 2, description_len, description_at),
            (273, 4, 1, pixels_at),
            (277, 3, 1, 3),
            (278, 4, 1, 1),
            (279, 4, 1, 3),
        ];
        let mut d = (fields.len() as u16).to_le_bytes().to_vec();
        for (tag, typ, count, value) in fields {
            d.extend(tag.to_le_bytes());
            d.extend(typ.to_le_bytes());
            d.extend(count.to_le_bytes());
            d.extend(value.to_le_bytes());
        }
        d.extend(next.to_le_bytes());
        d
    };
    let ifd_len = entries(0).len() as u32;
    for i in 0..n as u32 {
        let next = if i + 1 < n as u32 {
            first_ifd + (i + 1) * ifd_len
        } else {
            0
        };
        b.extend(entries(next));
    }
    b
}

#[test]
fn directories_sharing_a_huge_value_stop_at_the_directory_budget() {
    // 100 directories x 8 MiB would copy 800 MiB of one description.
    let file = tiff_sharing_a_description(100, 8 << 20);
    let err = match Slide::open(Cursor::new(file), "shared.tif") {
        Ok(_) => panic!("the budget must stop it"),
        Err(e) => e.to_string(),
    };
    assert!(err.starts_with("shared.tif: "), "{err}");
    assert!(err.contains("512 MiB of tag values"), "{err}");
    // A few such directories are an ordinary file.
    let file = tiff_sharing_a_description(3, 8 << 20);
    let s = Slide::open(Cursor::new(file), "three.tif").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(s.level_dimensions(0), Some((1, 1)));
}

/// A classic TIFF with one directory of the given `(tag, type, count, value)` entries (values
/// inline, SHORTs in the first two bytes).
fn one_directory(entries: &[(u16, u16, u32, u32)]) -> Vec<u8> {
    let mut b = b"II*\0".to_vec();
    b.extend(8u32.to_le_bytes());
    b.extend((entries.len() as u16).to_le_bytes());
    for &(tag, typ, count, value) in entries {
        b.extend(tag.to_le_bytes());
        b.extend(typ.to_le_bytes());
        b.extend(count.to_le_bytes());
        b.extend(value.to_le_bytes());
    }
    b.extend(0u32.to_le_bytes());
    b
}

#[test]
fn tiny_tiles_and_too_many_chunks_are_refused_before_reading_offsets() {
    let image = |side: u32, tile: u32, chunks: u32| {
        one_directory(&[
            (256, 4, 1, side),
            (257, 4, 1, side),
            (258, 3, 1, 8),
            (259, 3, 1, 1),
            (262, 3, 1, 2),
            (277, 3, 1, 3),
            (322, 4, 1, tile),
            (323, 4, 1, tile),
            (324, 4, chunks, 8),
            (325, 4, chunks, 8),
        ])
    };
    for (file, expected) in [
        (image(8000, 1, 64_000_000), "tiles of 1x1 px"),
        (
            image(1_000_000, 16, 1 << 30),
            "more than the 16777216 accepted",
        ),
    ] {
        let err = match Slide::open(Cursor::new(file), "t.tif") {
            Ok(_) => panic!("refused"),
            Err(e) => e.to_string(),
        };
        assert!(err.contains(expected), "{err}");
    }
}

#[test]
fn a_chunk_declaring_more_bytes_than_its_pixels_could_take_is_refused_unread() {
    // A 16 x 16 Deflate strip that claims 50 MB: refused before a byte of it is read (the file
    // is not even that long, and the error says which claim failed).
    let file = one_directory(&[
        (256, 4, 1, 16),
        (257, 4, 1, 16),
        (258, 3, 1, 8),
        (259, 3, 1, 8),
        (262, 3, 1, 2),
        (273, 4, 1, 8),
        (277, 3, 1, 3),
        (278, 4, 1, 16),
        (279, 4, 1, 50_000_000),
    ]);
    let mut s = Slide::open(Cursor::new(file), "claims.tif").unwrap_or_else(|e| panic!("{e}"));
    let err = s
        .read_region(0, Rect::new(0, 0, 16, 16))
        .expect_err("refused")
        .to_string();
    assert!(
        err.contains("declares 50000000 bytes for 16x16 px"),
        "{err}"
    );
}
