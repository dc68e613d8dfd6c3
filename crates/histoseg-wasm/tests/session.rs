//! The session on real slides from `../shared/data/slides`, through the byte-counting reader:
//! opening and overviews read a small share of a pyramid, extraction matches the core's
//! pipeline, bad files are clear errors.

use std::fs::File;
use std::path::PathBuf;

use histoseg_core::extract::scale_rect;
use histoseg_core::fragment::Fragment;
use histoseg_wasm::options::{DetectOptions, ExtractOptions};
use histoseg_wasm::reader::CountingReader;
use histoseg_wasm::session::SlideSession;

fn slide(name: &str) -> PathBuf {
    let data = std::env::var_os("HISTOSEG_DATA").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"),
        PathBuf::from,
    );
    data.join("slides").join(name)
}

fn open(
    name: &str,
) -> (
    SlideSession<CountingReader<File>>,
    histoseg_wasm::reader::ByteCounter,
    u64,
) {
    let path = slide(name);
    let file = File::open(&path).expect("test slide present");
    let size = file.metadata().expect("metadata").len();
    let (reader, count) = CountingReader::new(file);
    let session = SlideSession::open(reader, name).expect("opens");
    (session, count, size)
}

#[test]
fn a_pyramid_overview_reads_a_small_share_of_the_file() {
    let (mut s, count, size) = open("cmu1_generic_tiled_pyramid_jpeg.tif");
    let opened = count.get();
    assert!(opened * 100 < size, "opening read {opened} of {size} bytes");
    let overview = s.overview(400).expect("overview").clone();
    assert_eq!(overview.width().max(overview.height()), 400);
    assert!(
        count.get() * 10 < size,
        "overview read {} of {size} bytes",
        count.get()
    );
}

#[test]
fn extraction_follows_the_detected_regions() {
    let (mut s, _, _) = open("cmu-1-small-region.svs");
    assert_eq!(s.stem(), "cmu-1-small-region");
    let detection = s.detect(&DetectOptions::default()).expect("detect");
    assert!(!detection.regions.is_empty());
    assert_eq!(
        detection.mask.len() as u32,
        detection.width * detection.height
    );
    let level0 = (s.info().levels[0].width, s.info().levels[0].height);
    let mapped: Vec<_> = detection
        .regions
        .iter()
        .map(|r| scale_rect(*r, (detection.width, detection.height), level0))
        .collect();
    assert_eq!(mapped, detection.regions_level0);

    let mut calls = Vec::new();
    let options = ExtractOptions {
        max_fragment: 512,
        ..ExtractOptions::default()
    };
    let extraction = s
        .extract(&options, |done, total| calls.push((done, total)))
        .expect("cut");
    assert_eq!(extraction.regions_level0, detection.regions_level0);
    let n = extraction.fragments.len();
    assert!(n > detection.regions.len(), "512 px limit splits regions");
    assert_eq!(calls.last(), Some(&(n, n)));
    let area: u64 = extraction
        .fragments
        .iter()
        .map(|f| f.fragment.rect().area())
        .sum();
    let regions: u64 = extraction.regions_level0.iter().map(|r| r.area()).sum();
    assert_eq!(area, regions, "fragments tile the regions");
    for f in &extraction.fragments {
        assert_eq!(Fragment::parse(&f.name).expect("codec name"), f.fragment);
        assert_eq!(&f.jpeg[..3], &[0xFF, 0xD8, 0xFF]);
        assert_eq!((f.width, f.height), f.fragment.image_size());
    }
}

#[test]
fn bad_files_are_errors_naming_the_file() {
    for name in ["broken.svs", "unreadable.svs"] {
        let file = File::open(slide(name)).expect("test slide present");
        let (reader, _) = CountingReader::new(file);
        let opened = SlideSession::open(reader, name).and_then(|mut s| {
            s.overview(512)?;
            Ok(())
        });
        let err = opened.expect_err(name).to_string();
        assert!(err.starts_with(name), "{err}");
    }
}

#[test]
fn a_joined_overview_serves_detection_like_one_made_in_place() {
    let (mut whole, _, _) = open("cmu-1-small-region.svs");
    let expected = whole.detect(&DetectOptions::default()).expect("detect");
    let side = DetectOptions::default().max_side;
    // Two helper sessions (the browser's helper workers) make two shares, the slide's own
    // session the third; it joins them and detects without reading another tile.
    let shares = (1..3)
        .map(|k| open("cmu-1-small-region.svs").0.overview_part(side, k, 3))
        .collect::<Result<Vec<_>, _>>()
        .expect("shares");
    let (mut joined, count, _) = open("cmu-1-small-region.svs");
    joined.keep_overview_part(side, 0, 3).expect("own share");
    assert!(!joined.has_overview(side));
    let before = count.get();
    joined.join_overview(side, shares).expect("join");
    assert!(joined.has_overview(side));
    let detection = joined.detect(&DetectOptions::default()).expect("detect");
    assert_eq!(count.get(), before, "joining and detecting read no tiles");
    assert!(
        joined.join_overview(side, Vec::new()).is_err(),
        "kept shares are used once"
    );
    assert_eq!(detection.regions_level0, expected.regions_level0);
    assert_eq!(detection.mask, expected.mask);
    assert!(joined.overview_part(0, 0, 1).is_err());
}

#[test]
fn a_hostile_file_name_gives_a_plain_stem() {
    // A dropped file's name, as a page gets it: it becomes the stem of every fragment's name and
    // so of every entry in the zip exports, which must stay inside the folder they unpack into.
    for (name, stem) in [
        ("..\\..\\evil.svs", "evil"),
        ("../x/CMU.svs", "CMU"),
        ("a\u{0}b.svs", "ab"),
        ("...svs", "slide"),
    ] {
        let file = File::open(slide("cmu-1-small-region.svs")).expect("test slide present");
        let s = SlideSession::open(file, name).expect("opens");
        assert_eq!(s.stem(), stem, "{name:?}");
    }
}
