//! Makesense's CSV exports: rectangles
//! (`label_name,bbox_x,bbox_y,bbox_width,bbox_height,image_name,image_width,image_height`, with
//! that header line) and points (`label_name,point_x,point_y,image_name,image_width,image_height`,
//! no header), coordinates rounded to whole image pixels.
//!
//! Makesense joins the fields with commas and quotes nothing, while fragment names carry commas
//! (`s [d=4,x=..,y=..,w=..,h=..].jpg`). So a row is read as: the label, the numbers, the image
//! name (every field up to the last two, joined again with commas), the image width and height.
//! Quoted fields (a file saved again by a spreadsheet) are read too. A label must not contain a
//! comma followed by numbers in the coordinate positions.

use super::super::{Annotation, At, FragmentLookup, Geometry, Imported, number};
use super::{Format, OnFragment, js_number, js_round};
use crate::Result;

/// The header line of Makesense's rectangle CSV.
pub const RECTS_HEADER: &str =
    "label_name,bbox_x,bbox_y,bbox_width,bbox_height,image_name,image_width,image_height";

/// Reads Makesense's rectangle CSV.
pub fn read_rects(
    file: &str,
    text: &str,
    lookup: &FragmentLookup,
    out: &mut Imported,
) -> Result<()> {
    read_rows(file, text, lookup, out, |[x, y, w, h]| {
        (w >= 0.0 && h >= 0.0).then_some(Geometry::Rect { x, y, w, h })
    })
}

/// Reads Makesense's point CSV.
pub fn read_points(
    file: &str,
    text: &str,
    lookup: &FragmentLookup,
    out: &mut Imported,
) -> Result<()> {
    read_rows(file, text, lookup, out, |[x, y]| {
        Some(Geometry::Point { x, y })
    })
}

fn read_rows<const N: usize>(
    file: &str,
    text: &str,
    lookup: &FragmentLookup,
    out: &mut Imported,
    geometry: impl Fn([f64; N]) -> Option<Geometry>,
) -> Result<()> {
    let mut reader = ::csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    for record in reader.records() {
        let record = record.map_err(|e| {
            let line = e.position().map_or(0, |p| p.line() as usize);
            At::line(file, line).error(format!("not CSV: {e}"))
        })?;
        let at = At::line(file, record.position().map_or(0, |p| p.line() as usize));
        let fields: Vec<&str> = record.iter().collect();
        if fields.first() == Some(&"label_name") {
            continue;
        }
        let expected = || {
            if N == 4 {
                RECTS_HEADER.to_owned()
            } else {
                "label_name,point_x,point_y,image_name,image_width,image_height".to_owned()
            }
        };
        // The label ends where N numbers follow and room is left for name, width and height.
        let split = (1..fields.len().saturating_sub(N + 2)).find(|&k| {
            fields[k..k + N]
                .iter()
                .all(|f| f.trim().parse::<f64>().is_ok())
        });
        let Some(k) = split else {
            return Err(at.error(format!(
                "expected '{}', got {} field(s)",
                expected(),
                fields.len()
            )));
        };
        let class = fields[..k].join(",");
        let mut values = [0.0; N];
        for (v, text) in values.iter_mut().zip(&fields[k..k + N]) {
            *v = number(at, "coordinate", text)?;
        }
        let n = fields.len();
        let image = fields[k + N..n - 2].join(",");
        let size = (
            number(at, "image_width", fields[n - 2])?,
            number(at, "image_height", fields[n - 1])?,
        );
        let geometry = geometry(values)
            .ok_or_else(|| at.error("bbox_width and bbox_height must not be negative"))?;
        let (name, fragment) = lookup.resolve(at, &image)?;
        out.check_size(at, name, fragment, size);
        // Whole pixels: a point within half a pixel; a rectangle's x and width are rounded
        // separately, so its far edge within one.
        let slack = if N == 4 { 1.0 } else { 0.5 };
        out.add_on_fragment(
            at,
            name,
            fragment,
            Annotation::new(class, geometry),
            (slack, slack),
        )?;
    }
    Ok(())
}

/// Makesense's rectangle CSV of several fragments: the header, then one row per box.
///
/// ```
/// use histoseg_core::annotations::{Annotation, Geometry, makesense::{OnFragment, csv}};
/// use histoseg_core::fragment::Fragment;
/// let name = "s [d=2,x=10,y=0,w=100,h=100].jpg";
/// let f = Fragment::parse(name).unwrap();
/// let a = [Annotation::new("n", Geometry::Rect { x: 20.0, y: 4.0, w: 7.0, h: 8.0 })];
/// let text = csv::write_rects(&[OnFragment { name, fragment: &f, annotations: &a }]).unwrap();
/// assert_eq!(text, format!("{}\nn,5,2,4,4,{name},50,50", csv::RECTS_HEADER));
/// ```
pub fn write_rects(items: &[OnFragment<'_>]) -> Result<String> {
    let mut lines = vec![RECTS_HEADER.to_owned()];
    for item in items {
        let (iw, ih) = item.fragment.image_size();
        for a in item.in_fragment_pixels(Format::CsvRects)? {
            if let Geometry::Rect { x, y, w, h } = a.geometry {
                let [x, y, w, h] = [x, y, w, h].map(|v| js_number(js_round(v)));
                lines.push(format!(
                    "{},{x},{y},{w},{h},{},{iw},{ih}",
                    a.class, item.name
                ));
            }
        }
    }
    Ok(lines.join("\n"))
}

/// Makesense's point CSV of several fragments: one row per point, no header.
pub fn write_points(items: &[OnFragment<'_>]) -> Result<String> {
    let mut lines = Vec::new();
    for item in items {
        let (iw, ih) = item.fragment.image_size();
        for a in item.in_fragment_pixels(Format::CsvPoints)? {
            if let Geometry::Point { x, y } = a.geometry {
                let [x, y] = [x, y].map(|v| js_number(js_round(v)));
                lines.push(format!("{},{x},{y},{},{iw},{ih}", a.class, item.name));
            }
        }
    }
    Ok(lines.join("\n"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const NAME: &str = "cmu [d=4,x=400,y=800,w=400,h=200].jpg";

    fn lookup() -> FragmentLookup {
        FragmentLookup::from_names([NAME])
    }

    #[test]
    fn unquoted_names_with_commas_are_read() {
        let text = format!("nucleus,10,20,{NAME},100,50\n\"lymph, T\",0,0,\"{NAME}\",100,50");
        let mut out = Imported::default();
        read_points("p.csv", &text, &lookup(), &mut out).expect("reads");
        assert_eq!(
            out.slides["cmu"],
            [
                Annotation::new("nucleus", Geometry::Point { x: 440.0, y: 880.0 }),
                Annotation::new("lymph, T", Geometry::Point { x: 400.0, y: 800.0 }),
            ]
        );
        assert!(out.warnings.is_empty(), "{:?}", out.warnings);
    }

    #[test]
    fn rects_rounded_past_the_edge_by_a_pixel_are_inside() {
        // Makesense rounds x and width separately: 1588 + 397 = 1985 on a 1984 px image.
        let name = "s [d=1,x=0,y=0,w=1984,h=100].jpg";
        let lookup = FragmentLookup::from_names([name]);
        let mut out = Imported::default();
        let text = format!("{RECTS_HEADER}\nt,1588,0,397,100,{name},1984,100");
        read_rects("r.csv", &text, &lookup, &mut out).expect("reads");
        assert!(out.warnings.is_empty(), "{:?}", out.warnings);
        let text = format!("{RECTS_HEADER}\nt,1588,0,398,100,{name},1984,100");
        read_rects("r.csv", &text, &lookup, &mut out).expect("reads");
        assert_eq!(out.warnings.len(), 1, "two pixels past the edge");
    }

    #[test]
    fn rows_of_many_image_sizes_each_warn_once() {
        // Each row states another image size: one warning per row, checked against a set.
        let lookup = lookup();
        let mut text = RECTS_HEADER.to_owned();
        for i in 0..20_000 {
            text.push_str(&format!("\nt,1,2,3,4,{NAME},{},50", 1000 + i));
        }
        let mut out = Imported::default();
        read_rects("r.csv", &text, &lookup, &mut out).expect("reads");
        assert_eq!((out.len(), out.warnings.len()), (20_000, 20_000));
    }

    #[test]
    fn rect_rows_check_size_fragment_and_fields() {
        let mut out = Imported::default();
        let text = format!("{RECTS_HEADER}\nt,1,2,3,4,{NAME},100,60");
        read_rects("r.csv", &text, &lookup(), &mut out).expect("reads");
        assert_eq!(out.len(), 1);
        assert_eq!(out.warnings.len(), 1);
        assert_eq!(out.warnings[0].line, Some(2));
        let cases = [
            (
                "t,1,2,3,4,other.jpg,100,50".to_owned(),
                "line 1: unknown fragment 'other.jpg'",
            ),
            (
                format!("t,1,2,3,{NAME},100,50"),
                "line 1: expected 'label_name,bbox_x",
            ),
            (format!("t,1,2,-3,4,{NAME},100,50"), "must not be negative"),
            (
                format!("t,1,2,3,4,{NAME},100,wide"),
                "image_height \"wide\" is not a number",
            ),
        ];
        for (text, expected) in cases {
            let err = read_rects("r.csv", &text, &lookup(), &mut Imported::default())
                .expect_err(&text)
                .to_string();
            assert!(err.contains(expected), "{text}: {err}");
        }
    }
}
