//! YOLO rectangles: one `<image stem>.txt` per image, a line `class_id x_center y_center width
//! height` per box, each number divided by the image's width or height and printed with six
//! decimals; `labels.txt` names the classes, one a line, the line index being the id.
//!
//! The export records no image size, so reading denormalises by the fragment image size that
//! the fragment's name gives ([`Fragment::image_size`](crate::fragment::Fragment::image_size),
//! `w / d` by `h / d`): annotate the fragment images as `histoseg extract` wrote them, not
//! resized copies.

use super::super::lookup::{base_name, stem};
use super::super::{Annotation, At, FragmentLookup, Geometry, Imported, number};
use super::{Format, OnFragment};
use crate::Result;

/// The class names of a `labels.txt`: one a line, trailing blank lines ignored.
///
/// ```
/// use histoseg_core::annotations::makesense::yolo;
/// assert_eq!(yolo::parse_labels("nucleus\r\ntumour\n\n"), ["nucleus", "tumour"]);
/// ```
pub fn parse_labels(text: &str) -> Vec<String> {
    let mut labels: Vec<String> = text.lines().map(|l| l.trim().to_owned()).collect();
    while labels.last().is_some_and(String::is_empty) {
        labels.pop();
    }
    labels
}

/// `labels.txt` for `labels`.
pub fn write_labels(labels: &[String]) -> String {
    labels.join("\n")
}

/// The name of the YOLO file for image `image_name`: its extension replaced by `.txt`.
pub fn file_name(image_name: &str) -> String {
    format!("{}.txt", stem(image_name))
}

/// Reads one YOLO file; `file` is its name or path, which names the fragment (`X.txt` for
/// `X.jpg`), and `labels` the classes by id.
pub fn read(
    file: &str,
    text: &str,
    labels: &[String],
    lookup: &FragmentLookup,
    out: &mut Imported,
) -> Result<()> {
    let (name, fragment) = lookup.resolve(At::file(file), base_name(file))?;
    let (iw, ih) = fragment.image_size();
    let (iw, ih) = (f64::from(iw), f64::from(ih));
    for (i, line) in text.lines().enumerate() {
        let at = At::line(file, i + 1);
        let fields: Vec<&str> = line.split_whitespace().collect();
        let [id, cx, cy, w, h] = fields[..] else {
            if fields.is_empty() {
                continue;
            }
            return Err(at.error(format!(
                "expected 'class_id x_center y_center width height', got {} field(s)",
                fields.len()
            )));
        };
        let id: usize = id
            .parse()
            .map_err(|_| at.error(format!("class id {id:?} is not a whole number")))?;
        let class = labels.get(id).ok_or_else(|| {
            at.error(format!(
                "class id {id} is unknown: the labels list names {} class(es){}",
                labels.len(),
                if labels.is_empty() {
                    String::new()
                } else {
                    format!(" (ids 0-{})", labels.len() - 1)
                }
            ))
        })?;
        let (cx, cy) = (number(at, "x_center", cx)?, number(at, "y_center", cy)?);
        let (w, h) = (number(at, "width", w)?, number(at, "height", h)?);
        if w < 0.0 || h < 0.0 {
            return Err(at.error("width and height must not be negative"));
        }
        let geometry = Geometry::Rect {
            x: (cx - w / 2.0) * iw,
            y: (cy - h / 2.0) * ih,
            w: w * iw,
            h: h * ih,
        };
        // Six decimals of the centre and the size: the far edge within a millionth.
        out.add_on_fragment(
            at,
            name,
            fragment,
            Annotation::new(class.as_str(), geometry),
            (1e-6 * iw, 1e-6 * ih),
        )?;
    }
    Ok(())
}

/// The YOLO file of one fragment, exactly as Makesense writes it (values clipped to `[0, 1]`,
/// six decimals, lines joined by `\n`); a class not in `labels`, or a shape other than a
/// rectangle, is an error.
///
/// ```
/// use histoseg_core::annotations::{Annotation, Geometry, makesense::{OnFragment, yolo}};
/// use histoseg_core::fragment::Fragment;
/// let name = "s [d=2,x=100,y=0,w=400,h=200].jpg";
/// let f = Fragment::parse(name).unwrap(); // a 200 x 100 image
/// let a = [Annotation::new("n", Geometry::Rect { x: 120.0, y: 20.0, w: 40.0, h: 20.0 })];
/// let text = yolo::write(OnFragment { name, fragment: &f, annotations: &a }, &["n".into()]).unwrap();
/// assert_eq!(text, "0 0.100000 0.150000 0.100000 0.100000");
/// ```
pub fn write(item: OnFragment<'_>, labels: &[String]) -> Result<String> {
    let (iw, ih) = item.fragment.image_size();
    let (iw, ih) = (f64::from(iw), f64::from(ih));
    let fix = |v: f64| (v.clamp(0.0, 1.0) * 1e6).round() / 1e6;
    let mut lines = Vec::new();
    for a in item.in_fragment_pixels(Format::Yolo)? {
        let id = labels.iter().position(|l| *l == a.class).ok_or_else(|| {
            At::file(item.name).error(format!("class '{}' is not in the labels list", a.class))
        })?;
        let Geometry::Rect { x, y, w, h } = a.geometry else {
            continue;
        };
        let (cx, cy) = (fix((x + w / 2.0) / iw), fix((y + h / 2.0) / ih));
        let (mut w, mut h) = (fix(w / iw), fix(h / ih));
        if cx + w / 2.0 > 1.0 {
            w = 2.0 * (1.0 - cx);
        }
        if cx - w / 2.0 < 0.0 {
            w = 2.0 * cx;
        }
        if cy + h / 2.0 > 1.0 {
            h = 2.0 * (1.0 - cy);
        }
        if cy - h / 2.0 < 0.0 {
            h = 2.0 * cy;
        }
        let [cx, cy, w, h] = [cx, cy, w, h].map(|v| format!("{:.6}", fix(v)));
        lines.push(format!("{id} {cx} {cy} {w} {h}"));
    }
    Ok(lines.join("\n"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lookup() -> FragmentLookup {
        FragmentLookup::from_names(["s [d=2,x=100,y=0,w=400,h=200].jpg"])
    }

    #[test]
    fn boxes_land_on_the_slide() {
        let mut out = Imported::default();
        let labels = parse_labels("a\nb\n");
        read(
            "dir/s [d=2,x=100,y=0,w=400,h=200].txt",
            "1 0.5 0.5 0.1 0.2\n\n0 0.25 0.5 0.5 1\n",
            &labels,
            &lookup(),
            &mut out,
        )
        .expect("valid");
        assert_eq!(
            out.slides["s"],
            [
                Annotation::new(
                    "b",
                    Geometry::Rect {
                        x: 280.0,
                        y: 80.0,
                        w: 40.0,
                        h: 40.0
                    }
                ),
                Annotation::new(
                    "a",
                    Geometry::Rect {
                        x: 100.0,
                        y: 0.0,
                        w: 200.0,
                        h: 200.0
                    }
                ),
            ]
        );
        assert!(out.warnings.is_empty(), "{:?}", out.warnings);
    }

    #[test]
    fn boxes_clamped_to_the_edge_are_inside() {
        // A box Makesense clamped to the bottom right of a 460 x 719 image: its far edges
        // denormalise to 460.00000000000006 and 719.0000000000001.
        let name = "s [d=1,x=0,y=0,w=460,h=719].jpg";
        let lookup = FragmentLookup::from_names([name]);
        let mut out = Imported::default();
        let labels = parse_labels("a");
        let clamped = "0 0.850217 0.900209 0.299565 0.199582";
        read(
            "s [d=1,x=0,y=0,w=460,h=719].txt",
            clamped,
            &labels,
            &lookup,
            &mut out,
        )
        .expect("valid");
        assert!(out.warnings.is_empty(), "{:?}", out.warnings);
        // Two pixels past the edge is more than six decimals explain.
        let past = "0 0.850217 0.901600 0.299565 0.199582";
        read(
            "s [d=1,x=0,y=0,w=460,h=719].txt",
            past,
            &labels,
            &lookup,
            &mut out,
        )
        .expect("kept");
        assert_eq!(out.warnings.len(), 1);
    }

    #[test]
    fn bad_lines_are_errors_and_outside_boxes_warnings() {
        let labels = parse_labels("a");
        let file = "s [d=2,x=100,y=0,w=400,h=200].txt";
        let cases = [
            ("0 0.5 0.5 0.1", "line 1: expected 'class_id"),
            (
                "\n3 0.5 0.5 0.1 0.1",
                "line 2: class id 3 is unknown: the labels list names 1 class(es) (ids 0-0)",
            ),
            (
                "0 0.5 half 0.1 0.1",
                "line 1: y_center \"half\" is not a number",
            ),
            ("0 0.5 0.5 -0.1 0.1", "must not be negative"),
        ];
        for (text, expected) in cases {
            let err = read(file, text, &labels, &lookup(), &mut Imported::default())
                .expect_err(text)
                .to_string();
            assert!(err.contains(expected), "{text}: {err}");
        }
        let err = read(
            "t.txt",
            "0 0.5 0.5 0.1 0.1",
            &labels,
            &lookup(),
            &mut Imported::default(),
        )
        .expect_err("unknown fragment")
        .to_string();
        assert!(err.starts_with("t.txt: unknown fragment 't.txt'"), "{err}");
        let mut out = Imported::default();
        read(file, "0 0.99 0.5 0.1 0.1", &labels, &lookup(), &mut out).expect("kept");
        assert_eq!((out.len(), out.warnings.len()), (1, 1));
    }
}
