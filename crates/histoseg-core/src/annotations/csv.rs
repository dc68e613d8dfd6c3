//! One CSV row per annotation, in level-0 slide pixels, for spreadsheets and scripts.
//!
//! Columns: `class,shape,x,y,width,height,vertices`. `shape` is `point`, `rectangle` or
//! `polygon`; `x, y` are the point, or the top-left corner of the rectangle or of the polygon's
//! bounding box; `width, height` are the rectangle's or the bounding box's size (0 for a
//! point); `vertices` lists a polygon's vertices as `x y` pairs separated by `;` (empty
//! otherwise). Fields are quoted where needed (RFC 4180).

use super::{Annotation, At, Geometry, number};
use crate::Result;

const HEADER: [&str; 7] = ["class", "shape", "x", "y", "width", "height", "vertices"];

/// The CSV of `annotations`, with a header row.
///
/// ```
/// use histoseg_core::annotations::{Annotation, Geometry, csv};
/// let a = [
///     Annotation::new("nucleus", Geometry::Point { x: 1.5, y: 2.0 }),
///     Annotation::new("a, b", Geometry::Polygon(vec![(0.0, 0.0), (4.0, 0.0), (0.0, 3.0)])),
/// ];
/// let text = csv::write(&a);
/// assert_eq!(text, "class,shape,x,y,width,height,vertices\n\
///                   nucleus,point,1.5,2,0,0,\n\
///                   \"a, b\",polygon,0,0,4,3,0 0;4 0;0 3\n");
/// assert_eq!(csv::read("a.csv", &text).unwrap(), a);
/// ```
pub fn write(annotations: &[Annotation]) -> String {
    let mut writer = ::csv::Writer::from_writer(Vec::new());
    let mut rows = vec![HEADER.map(str::to_owned)];
    for a in annotations {
        let (x0, y0, x1, y1) = a.geometry.bounds().unwrap_or_default();
        let (w, h) = match a.geometry {
            Geometry::Rect { w, h, .. } => (w, h),
            _ => (x1 - x0, y1 - y0),
        };
        let (shape, vertices) = match &a.geometry {
            Geometry::Point { .. } => ("point", String::new()),
            Geometry::Rect { .. } => ("rectangle", String::new()),
            Geometry::Polygon(v) => (
                "polygon",
                v.iter()
                    .map(|(x, y)| format!("{x} {y}"))
                    .collect::<Vec<_>>()
                    .join(";"),
            ),
        };
        rows.push([
            a.class.clone(),
            shape.to_owned(),
            x0.to_string(),
            y0.to_string(),
            w.to_string(),
            h.to_string(),
            vertices,
        ]);
    }
    for row in rows {
        // Writing to a Vec cannot fail, and every row has the same length.
        let _ = writer.write_record(&row);
    }
    writer
        .into_inner()
        .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
        .unwrap_or_default()
}

/// The annotations of a CSV file written by [`write()`]; `file` names it in errors.
pub fn read(file: &str, text: &str) -> Result<Vec<Annotation>> {
    let mut reader = ::csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    let mut out = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| {
            let line = e.position().map_or(0, |p| p.line() as usize);
            At::line(file, line).error(format!("not CSV: {e}"))
        })?;
        let line = record.position().map_or(0, |p| p.line() as usize);
        let at = At::line(file, line);
        let fields: Vec<&str> = record.iter().collect();
        if fields == HEADER {
            continue;
        }
        let [class, shape, x, y, w, h, vertices] = fields[..] else {
            return Err(at.error(format!(
                "expected 7 fields ({}), got {}",
                HEADER.join(","),
                fields.len()
            )));
        };
        let (x, y) = (number(at, "x", x)?, number(at, "y", y)?);
        let geometry = match shape {
            "point" => Geometry::Point { x, y },
            "rectangle" => Geometry::Rect {
                x,
                y,
                w: number(at, "width", w)?,
                h: number(at, "height", h)?,
            },
            "polygon" => {
                let vertices = vertices
                    .split(';')
                    .map(
                        |pair| match pair.split_whitespace().collect::<Vec<_>>()[..] {
                            [vx, vy] => {
                                Ok((number(at, "vertex x", vx)?, number(at, "vertex y", vy)?))
                            }
                            _ => Err(at.error(format!("vertex {pair:?} is not 'x y'"))),
                        },
                    )
                    .collect::<Result<Vec<_>>>()?;
                if vertices.len() < 3 {
                    return Err(at.error("a polygon needs at least 3 vertices"));
                }
                Geometry::Polygon(vertices)
            }
            other => {
                return Err(at.error(format!(
                    "shape {other:?} is not point, rectangle or polygon"
                )));
            }
        };
        out.push(Annotation::new(class, geometry));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rectangles_round_trip_and_errors_name_the_line() {
        let a = vec![Annotation::new(
            "t",
            Geometry::Rect {
                x: 1.0,
                y: 2.0,
                w: 3.25,
                h: 4.0,
            },
        )];
        assert_eq!(read("r.csv", &write(&a)).expect("reads"), a);
        let bad = "class,shape,x,y,width,height,vertices\nt,circle,1,2,3,4,\n";
        let err = read("r.csv", bad).expect_err("circle").to_string();
        assert_eq!(
            err,
            "r.csv, line 2: shape \"circle\" is not point, rectangle or polygon"
        );
        let err = read("r.csv", "t,point,one,2,0,0,\n")
            .expect_err("x")
            .to_string();
        assert_eq!(err, "r.csv, line 1: x \"one\" is not a number");
    }
}
