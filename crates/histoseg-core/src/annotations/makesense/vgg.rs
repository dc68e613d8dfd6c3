//! Makesense's VGG (VIA) JSON polygons: an object keyed by image file name, each entry with
//! `filename` and `regions` (an object keyed `"0"`, `"1"`, ... or, as VIA 2 writes, a list),
//! each region a `shape_attributes` polygon (`all_points_x`, `all_points_y`, the first vertex
//! repeated at the end) and `region_attributes.label`.
//!
//! VIA's `rect` (`x, y, width, height`) and `point` (`cx, cy`) shapes are read too. The export
//! records no image size, so only the fragment bounds are checked.

use serde::Serialize;
use serde::ser::Serializer;
use serde_json::Value;

use super::super::{Annotation, At, FragmentLookup, Geometry, Imported};
use super::{Format, OnFragment};
use crate::Result;

/// Reads a VGG JSON file made on fragment images; each entry's `filename` (or key) names a
/// fragment.
pub fn read(file: &str, text: &str, lookup: &FragmentLookup, out: &mut Imported) -> Result<()> {
    let at = At::file(file);
    let value: Value = serde_json::from_str(text)
        .map_err(|e| At::line(file, e.line()).error(format!("not VGG JSON: {e}")))?;
    let entries = value
        .as_object()
        .ok_or_else(|| at.error("expected an object keyed by image file name"))?;
    for (key, entry) in entries {
        let image = entry["filename"].as_str().unwrap_or(key);
        let (name, fragment) = lookup.resolve(at, image)?;
        let mut regions: Vec<(String, &Value)> = match &entry["regions"] {
            Value::Object(map) => map.iter().map(|(k, v)| (k.clone(), v)).collect(),
            Value::Array(list) => list
                .iter()
                .enumerate()
                .map(|(i, v)| (i.to_string(), v))
                .collect(),
            Value::Null => Vec::new(),
            _ => return Err(at.error(format!("'{key}': regions must be an object or a list"))),
        };
        // serde_json orders keys as text; VIA numbers them.
        regions.sort_by_key(|(k, _)| (k.parse::<u64>().unwrap_or(u64::MAX), k.clone()));
        for (k, region) in regions {
            let which = format!("'{key}' region {k}");
            let label = region["region_attributes"]["label"]
                .as_str()
                .ok_or_else(|| at.error(format!("{which} has no region_attributes.label")))?;
            let geometry = shape(at, &which, &region["shape_attributes"])?;
            // Makesense writes VGG coordinates unrounded.
            out.add_on_fragment(
                at,
                name,
                fragment,
                Annotation::new(label, geometry),
                (0.0, 0.0),
            )?;
        }
    }
    Ok(())
}

fn shape(at: At<'_>, which: &str, shape: &Value) -> Result<Geometry> {
    let num = |key: &str| {
        shape[key]
            .as_f64()
            .ok_or_else(|| at.error(format!("{which}: {key} must be a number")))
    };
    let list = |key: &str| -> Result<Vec<f64>> {
        shape[key]
            .as_array()
            .and_then(|v| v.iter().map(Value::as_f64).collect::<Option<Vec<f64>>>())
            .ok_or_else(|| at.error(format!("{which}: {key} must be a list of numbers")))
    };
    match shape["name"].as_str() {
        Some("polygon") => {
            let (xs, ys) = (list("all_points_x")?, list("all_points_y")?);
            if xs.len() != ys.len() {
                return Err(at.error(format!(
                    "{which}: all_points_x has {} values but all_points_y {}",
                    xs.len(),
                    ys.len()
                )));
            }
            Ok(Geometry::from_ring(xs.into_iter().zip(ys).collect()))
        }
        Some("rect") => Ok(Geometry::Rect {
            x: num("x")?,
            y: num("y")?,
            w: num("width")?,
            h: num("height")?,
        }),
        Some("point") => Ok(Geometry::Point {
            x: num("cx")?,
            y: num("cy")?,
        }),
        other => Err(at.error(format!(
            "{which}: shape {:?} is not supported (polygon, rect, point are)",
            other.unwrap_or("")
        ))),
    }
}

#[derive(Serialize)]
struct FileOut {
    fileref: &'static str,
    size: u64,
    filename: String,
    base64_img_data: &'static str,
    file_attributes: Value,
    regions: Numbered<RegionOut>,
}

#[derive(Serialize)]
struct RegionOut {
    shape_attributes: PolygonOut,
    region_attributes: LabelOut,
}

#[derive(Serialize)]
struct PolygonOut {
    name: &'static str,
    all_points_x: Vec<f64>,
    all_points_y: Vec<f64>,
}

#[derive(Serialize)]
struct LabelOut {
    label: String,
}

/// A list written as a JSON object keyed `"0"`, `"1"`, ... in order.
struct Numbered<T>(Vec<T>);

impl<T: Serialize> Serialize for Numbered<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(self.0.iter().enumerate().map(|(i, v)| (i.to_string(), v)))
    }
}

/// A map written in the given order.
struct Ordered<T>(Vec<(String, T)>);

impl<T: Serialize> Serialize for Ordered<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(self.0.iter().map(|(k, v)| (k, v)))
    }
}

/// Makesense's VGG JSON of several fragments (those with annotations), compact as Makesense
/// writes it; rectangles become 4-vertex polygons, points are an error. `size` (the image file's
/// size in bytes, which Makesense records) is written as 0: it is not known here.
pub fn write(items: &[OnFragment<'_>]) -> Result<String> {
    let mut files = Vec::new();
    for item in items.iter().filter(|i| !i.annotations.is_empty()) {
        let regions = item
            .in_fragment_pixels(Format::Vgg)?
            .into_iter()
            .map(|a| {
                let mut v = a.geometry.vertices();
                if let Some(&first) = v.first() {
                    v.push(first);
                }
                RegionOut {
                    shape_attributes: PolygonOut {
                        name: "polygon",
                        all_points_x: v.iter().map(|p| p.0).collect(),
                        all_points_y: v.iter().map(|p| p.1).collect(),
                    },
                    region_attributes: LabelOut { label: a.class },
                }
            })
            .collect();
        files.push((
            item.name.to_owned(),
            FileOut {
                fileref: "",
                size: 0,
                filename: item.name.to_owned(),
                base64_img_data: "",
                file_attributes: Value::Object(Default::default()),
                regions: Numbered(regions),
            },
        ));
    }
    Ok(serde_json::to_string(&Ordered(files)).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    const NAME: &str = "s [d=2,x=0,y=0,w=200,h=200].png";

    #[test]
    fn makesense_layout_reads_back() {
        let text = format!(
            r#"{{"{NAME}":{{"fileref":"","size":1234,"filename":"{NAME}","base64_img_data":"",
            "file_attributes":{{}},"regions":{{"0":{{"shape_attributes":{{"name":"polygon",
            "all_points_x":[10,20,10,10],"all_points_y":[10,10,30,10]}},"region_attributes":
            {{"label":"tumour"}}}}}}}}}}"#
        );
        let lookup = FragmentLookup::from_names([NAME]);
        let mut out = Imported::default();
        read("v.json", &text, &lookup, &mut out).expect("reads");
        assert_eq!(
            out.slides["s"],
            [Annotation::new(
                "tumour",
                Geometry::Polygon(vec![(20.0, 20.0), (40.0, 20.0), (20.0, 60.0)])
            )]
        );
        let missing = text.replace("\"label\"", "\"kind\"");
        let err = read("v.json", &missing, &lookup, &mut Imported::default())
            .expect_err("no label")
            .to_string();
        assert!(
            err.contains("region 0 has no region_attributes.label"),
            "{err}"
        );
        let circle = text.replace("\"polygon\"", "\"circle\"");
        let err = read("v.json", &circle, &lookup, &mut Imported::default())
            .expect_err("circle")
            .to_string();
        assert!(err.contains("shape \"circle\" is not supported"), "{err}");
    }
}
