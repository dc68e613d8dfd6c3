//! What each fuzz target does with its input, shared by the targets (`fuzz_targets/`) and by
//! the regression test that replays every saved finding (`histoseg-core/tests/fuzz_regressions.rs`,
//! which includes this file). Errors are expected; panics, hangs and memory beyond the
//! fuzzer's limits are the findings.

use std::io::Cursor;

use histoseg_core::annotations::{FragmentLookup, coco, csv, detections, geojson, makesense};
use histoseg_core::fragment::{Fragment, NameStyle};
use histoseg_core::rect::Rect;
use histoseg_core::slide::Slide;

/// Any bytes as a slide (TIFF, BigTIFF, NDPI, the vendors' TIFFs, DICOM, PNG, JPEG): open it,
/// then read what a user would: a corner and the centre of every level, an overview and the
/// associated images.
pub fn slide(data: &[u8]) {
    let Ok(mut slide) = Slide::open(Cursor::new(data), "fuzz.svs") else {
        return;
    };
    let associated = slide.info().associated.clone();
    for level in 0..slide.level_count() {
        let Some((w, h)) = slide.level_dimensions(level) else {
            continue;
        };
        let side = |n: u32| n.min(64);
        let _ = slide.read_region(level, Rect::new(0, 0, side(w), side(h)));
        let (x, y) = (w / 2, h / 2);
        let _ = slide.read_region(level, Rect::new(x, y, side(w - x), side(h - y)));
    }
    let _ = slide.overview(256);
    for image in associated {
        let _ = slide.read_associated(image.kind);
    }
}

const COMPRESSIONS: [u16; 8] = [1, 5, 8, 32773, 7, 33003, 33005, 34712];
/// (photometric interpretation, samples per pixel)
const LAYOUTS: [(u16, u16); 3] = [(2, 3), (1, 1), (6, 3)];

/// Each tile codec on any bytes: the first byte picks the compression (none, LZW, Deflate,
/// PackBits, JPEG, the JPEG 2000 flavours), the second the colour layout and the third the
/// tile's side (16, 32 or 64 px); the rest is the stored tile, wrapped in a one-tile TIFF and
/// read back.
pub fn tile_codecs(data: &[u8]) {
    let [codec, layout, side, tile @ ..] = data else {
        return;
    };
    let compression = COMPRESSIONS[usize::from(*codec) % COMPRESSIONS.len()];
    let layout = LAYOUTS[usize::from(*layout) % LAYOUTS.len()];
    let side = 16u32 << (side % 3);
    let file = one_tile_tiff(compression, layout, side, tile);
    if let Ok(mut slide) = Slide::open(Cursor::new(file), "fuzz.tif") {
        let _ = slide.read_region(0, Rect::new(0, 0, side, side));
    }
}

/// A little-endian TIFF of one `side x side` tile holding `tile`.
///
/// Written by hand: TIFF writers (the `tiff` crate among them) encode pixels themselves and
/// cannot store arbitrary bytes as a tile, which is the point here.
fn one_tile_tiff(
    compression: u16,
    (photometric, samples): (u16, u16),
    side: u32,
    tile: &[u8],
) -> Vec<u8> {
    const SHORT: u16 = 3;
    const LONG: u16 = 4;
    const TILE_OFFSETS: u16 = 324;
    let entries = [
        (256, LONG, side),
        (257, LONG, side),
        (258, SHORT, 8),
        (259, SHORT, u32::from(compression)),
        (262, SHORT, u32::from(photometric)),
        (277, SHORT, u32::from(samples)),
        (284, SHORT, 1),
        (322, LONG, side),
        (323, LONG, side),
        (TILE_OFFSETS, LONG, 0),
        (325, LONG, tile.len() as u32),
    ];
    let data_at = (8 + 2 + entries.len() * 12 + 4) as u32;
    let mut out = Vec::with_capacity(data_at as usize + tile.len());
    out.extend_from_slice(b"II");
    out.extend_from_slice(&42u16.to_le_bytes());
    out.extend_from_slice(&8u32.to_le_bytes());
    out.extend_from_slice(&(entries.len() as u16).to_le_bytes());
    for (tag, kind, value) in entries {
        let value = if tag == TILE_OFFSETS { data_at } else { value };
        out.extend_from_slice(&tag.to_le_bytes());
        out.extend_from_slice(&kind.to_le_bytes());
        out.extend_from_slice(&1u32.to_le_bytes());
        if kind == SHORT {
            out.extend_from_slice(&(value as u16).to_le_bytes());
            out.extend_from_slice(&[0, 0]);
        } else {
            out.extend_from_slice(&value.to_le_bytes());
        }
    }
    out.extend_from_slice(&0u32.to_le_bytes());
    out.extend_from_slice(tile);
    out
}

/// The fragment image the Makesense readers are given (200 x 150 px).
const FRAGMENT: &str = "slide [d=2,x=100,y=50,w=400,h=300]";

/// Any text through every annotation reader: QuPath GeoJSON (annotations and detections), the
/// slide-level COCO and CSV, the six Makesense exports on a fragment, and `manifest.json`.
pub fn annotations(text: &str) {
    let _ = geojson::read("fuzz.geojson", text);
    let _ = detections::read("fuzz.geojson", text);
    let _ = coco::read("fuzz.json", text);
    let _ = csv::read("fuzz.csv", text);
    let lookup = FragmentLookup::from_names([format!("{FRAGMENT}.jpg")]);
    let labels = ["nucleus".to_string(), "tumour".to_string()];
    for format in makesense::Format::ALL {
        let file = match format {
            makesense::Format::Yolo => format!("{FRAGMENT}.txt"),
            makesense::Format::Voc => format!("{FRAGMENT}.xml"),
            _ => "export".to_string(),
        };
        let _ = makesense::read(format, &file, text, &labels, &lookup);
    }
    let _ = FragmentLookup::new().add_manifest("manifest.json", text);
}

/// Fragment file names: any text parses or is refused, and a parsed name written back in
/// either style parses to the same fragment.
pub fn fragment_name(name: &str) {
    let Ok(fragment) = Fragment::parse(name) else {
        return;
    };
    for style in [NameStyle::Qupath, NameStyle::Safe] {
        let written = fragment.file_name(style, "jpg");
        let again = Fragment::parse(&written)
            .unwrap_or_else(|e| panic!("{written:?} (from {name:?}) does not parse: {e}"));
        assert_eq!(again, fragment, "{written:?} from {name:?}");
    }
}
