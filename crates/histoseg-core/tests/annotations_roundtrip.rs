//! Annotations placed on a slide -> fragments -> every Makesense format -> back onto the slide,
//! within one fragment pixel times the downsample; and the slide-level formats round trip.

use histoseg_core::annotations::makesense::{
    self, Format, OnFragment, assign, csv, vgg, voc, yolo,
};
use histoseg_core::annotations::{Annotation, FragmentLookup, Geometry, Shape, coco, geojson};
use histoseg_core::extract::plan_fragments;
use histoseg_core::fragment::NameStyle;
use histoseg_core::rect::Rect;
use proptest::prelude::*;

const CLASSES: [&str; 3] = ["nucleus", "tumour cell", "lymphocyte, T"];

/// Pairs every expected annotation with an unused actual one of the same class and shape whose
/// vertices lie within `tol` on both axes.
fn same_within(expected: &[Annotation], actual: &[Annotation], tol: f64) -> Result<(), String> {
    if expected.len() != actual.len() {
        return Err(format!(
            "{} expected, {} read back",
            expected.len(),
            actual.len()
        ));
    }
    let mut used = vec![false; actual.len()];
    for e in expected {
        let ev = e.geometry.vertices();
        let hit = actual.iter().enumerate().position(|(i, a)| {
            let av = a.geometry.vertices();
            !used[i]
                && a.class == e.class
                && a.geometry.shape() == e.geometry.shape()
                && av.len() == ev.len()
                && av
                    .iter()
                    .zip(&ev)
                    .all(|(p, q)| (p.0 - q.0).abs() <= tol && (p.1 - q.1).abs() <= tol)
        });
        match hit {
            Some(i) => used[i] = true,
            None => return Err(format!("{e:?} not found within {tol} in {actual:?}")),
        }
    }
    Ok(())
}

/// Annotations of every shape inside `fragments` (chosen by the fractions in `picks`).
fn annotations_in(
    lookup: &FragmentLookup,
    picks: &[(f64, u8, [f64; 4], usize)],
) -> Vec<Annotation> {
    let fragments: Vec<_> = lookup.iter().map(|(_, f)| f.clone()).collect();
    picks
        .iter()
        .map(|&(which, kind, [a, b, c, d], class)| {
            let f =
                &fragments[((which * fragments.len() as f64) as usize).min(fragments.len() - 1)];
            let (x0, y0) = (f64::from(f.x), f64::from(f.y));
            // The image holds `image_size() * d` level-0 pixels, which rounding may make a little
            // less than `w` by `h`: stay on the image.
            let (iw, ih) = f.image_size();
            let ds = f.downsample;
            let (w, h) = (
                f64::from(f.w).min(f64::from(iw) * ds),
                f64::from(f.h).min(f64::from(ih) * ds),
            );
            let (px, py) = (x0 + a * w, y0 + b * h);
            let geometry = match kind % 3 {
                0 => Geometry::Point { x: px, y: py },
                1 => Geometry::Rect {
                    x: px,
                    y: py,
                    w: c * (x0 + w - px),
                    h: d * (y0 + h - py),
                },
                _ => Geometry::Polygon(vec![
                    (px, py),
                    (px + c * (x0 + w - px), py),
                    (px + 0.5 * c * (x0 + w - px), py + d * (y0 + h - py)),
                ]),
            };
            Annotation::new(CLASSES[class % CLASSES.len()], geometry)
        })
        .collect()
}

/// Writes `placed` in `format` as the files Makesense would give, reads them back onto the
/// slide, and returns what was read with the warnings.
fn through_makesense(
    format: Format,
    lookup: &FragmentLookup,
    placed: &[(String, Vec<Annotation>)],
) -> (Vec<Annotation>, usize) {
    let labels: Vec<String> = CLASSES.map(str::to_owned).to_vec();
    let items: Vec<OnFragment<'_>> = placed
        .iter()
        .map(|(name, annotations)| OnFragment {
            name,
            fragment: lookup.find(name).expect("placed on a known fragment").1,
            annotations,
        })
        .collect();
    let files: Vec<(String, String)> = match format {
        Format::Yolo => items
            .iter()
            .map(|i| {
                (
                    yolo::file_name(i.name),
                    yolo::write(*i, &labels).expect("writes"),
                )
            })
            .collect(),
        Format::Voc => items
            .iter()
            .map(|i| (voc::file_name(i.name), voc::write(*i).expect("writes")))
            .collect(),
        Format::CsvRects => vec![("r.csv".into(), csv::write_rects(&items).expect("writes"))],
        Format::CsvPoints => vec![("p.csv".into(), csv::write_points(&items).expect("writes"))],
        Format::Coco => vec![(
            "c.json".into(),
            makesense::coco::write(&items, &labels).expect("writes"),
        )],
        Format::Vgg => vec![("v.json".into(), vgg::write(&items).expect("writes"))],
    };
    let mut read = Vec::new();
    let mut warnings = 0;
    for (file, text) in files {
        let imported = makesense::read(format, &file, &text, &labels, lookup)
            .unwrap_or_else(|e| panic!("{format}: {e}\n{text}"));
        warnings += imported.warnings.len();
        read.extend(imported.slides.into_values().flatten());
    }
    (read, warnings)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn slide_to_every_makesense_format_and_back(
        x in 0u32..50_000, y in 0u32..50_000, w in 50u32..6_000, h in 50u32..6_000,
        downsample in prop_oneof![Just(1.0), Just(2.5), Just(4.0), Just(16.000_812_3)],
        safe in any::<bool>(),
        picks in prop::collection::vec(
            (0.0f64..1.0, any::<u8>(), [0.0f64..1.0, 0.0f64..1.0, 0.05f64..1.0, 0.05f64..1.0], 0usize..3),
            1..30,
        ),
    ) {
        let style = if safe { NameStyle::Safe } else { NameStyle::Qupath };
        let fragments = plan_fragments("CMU-1 (small)", Rect::new(x, y, w, h), downsample, 400)
            .expect("valid plan");
        let lookup = FragmentLookup::from_names(fragments.iter().map(|f| f.file_name(style, "jpg")));
        prop_assert_eq!(lookup.len(), fragments.len());
        let annotations = annotations_in(&lookup, &picks);
        let (placed, left) = assign(&annotations, &lookup);
        prop_assert!(left.is_empty(), "every annotation was made inside a fragment: {:?} {:?}", left, lookup);
        for format in Format::ALL {
            let wanted: Vec<(String, Vec<Annotation>)> = placed
                .iter()
                .map(|(name, list)| {
                    let keep = list
                        .iter()
                        .filter(|a| format.shapes().contains(&a.geometry.shape()))
                        .cloned()
                        .collect();
                    (name.clone(), keep)
                })
                .collect();
            let expected: Vec<Annotation> = wanted.iter().flat_map(|(_, l)| l.clone()).collect();
            let (read, warnings) = through_makesense(format, &lookup, &wanted);
            // Rounded formats may move a coordinate by half a fragment pixel; a box's size is
            // rounded twice in YOLO's normalised form, hence one pixel.
            let tol = downsample * 1.0 + 1e-6;
            if let Err(problem) = same_within(&expected, &read, tol) {
                prop_assert!(false, "{}: {}", format, problem);
            }
            prop_assert_eq!(warnings, 0, "{}: nothing lies outside a fragment", format);
        }
    }

    #[test]
    fn slide_formats_round_trip(
        picks in prop::collection::vec(
            (0.0f64..1.0, any::<u8>(), [0.0f64..1.0, 0.0f64..1.0, 0.05f64..1.0, 0.05f64..1.0], 0usize..3),
            0..30,
        ),
    ) {
        let lookup = FragmentLookup::from_names(["s [d=1,x=1000,y=2000,w=5000,h=3000].jpg"]);
        let annotations = annotations_in(&lookup, &picks);
        let tol = 1e-9;
        let back = geojson::read("a.geojson", &geojson::write(&annotations)).expect("geojson");
        prop_assert!(same_within(&annotations, &back, tol).is_ok());
        let (back, _) = coco::read("a.json", &coco::write("s.svs", (9000, 9000), &annotations))
            .expect("coco");
        prop_assert!(same_within(&annotations, &back, tol).is_ok());
        let back = histoseg_core::annotations::csv::read(
            "a.csv",
            &histoseg_core::annotations::csv::write(&annotations),
        )
        .expect("csv");
        prop_assert_eq!(back, annotations);
    }
}

#[test]
fn shapes_a_format_cannot_carry_are_refused_when_writing() {
    let name = "s [d=1,x=0,y=0,w=100,h=100].jpg";
    let lookup = FragmentLookup::from_names([name]);
    let fragment = lookup.find(name).expect("known").1;
    let points = [Annotation::new("n", Geometry::Point { x: 1.0, y: 1.0 })];
    let item = OnFragment {
        name,
        fragment,
        annotations: &points,
    };
    let err = voc::write(item)
        .expect_err("points are not VOC")
        .to_string();
    assert_eq!(
        err,
        format!("{name}: a point ('n') cannot be written as Makesense voc")
    );
    assert!(vgg::write(&[item]).is_err());
    assert!(Format::CsvPoints.shapes() == [Shape::Point]);
}
