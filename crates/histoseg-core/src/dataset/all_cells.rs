//! BreCaHAD's `all_cells.csv`: every annotated cell of all 162 BreCaHAD images (class and
//! box), read as the nucleus points of each image, so that masks and sample counts can be made
//! for the whole dataset without its images.
//!
//! Columns read (others are ignored, in any order): `filename` (the image stem, such as
//! `Case_1-01`), `class_name`, `x_center`, `y_center` (the box centre, normalised to `[0, 1]`)
//! and `x_center_abs`, `y_center_abs` (the same centre in pixels). The normalised centre is the
//! point: it is what the BreCaHAD JSON files of the shared data hold (their points were derived
//! from these box centres). Every BreCaHAD image is [`BRECAHAD_SIZE_PX`] (1360x1024); the file
//! does not name sizes, so each row's pixel centre must agree with its normalised centre on an
//! image of that size, or the row is refused as having an unknown image size.
//!
//! `class_name` values map to the JSON class names of [`CLASSES`] (`Tumor_nuclei` is `tumor`,
//! `Non_tumor_nuclei` is `non_tumor`, ...), so the same `--classes` select the same cells.

use std::collections::BTreeMap;

use image::GrayImage;

use super::points::{self, NormPoint};
use crate::{Error, Result};

/// Width and height in pixels of every BreCaHAD image.
pub const BRECAHAD_SIZE_PX: (u32, u32) = (1360, 1024);

/// The BreCaHAD JSON class names, each with the `class_name` of `all_cells.csv` it stands for
/// (`non_mitosis` has none: the JSON key exists, no cell in the CSV carries it).
pub const CLASSES: [(&str, Option<&str>); 7] = [
    ("mitosis", Some("Mitosis")),
    ("non_mitosis", None),
    ("apoptosis", Some("Apoptosis")),
    ("tumor", Some("Tumor_nuclei")),
    ("non_tumor", Some("Non_tumor_nuclei")),
    ("lumen", Some("Tubule")),
    ("non_lumen", Some("Non_tubule")),
];

/// The columns that must be present.
const COLUMNS: [&str; 6] = [
    "filename",
    "class_name",
    "x_center",
    "y_center",
    "x_center_abs",
    "y_center_abs",
];

/// How far (in pixels) a row's pixel centre may lie from its normalised centre scaled to
/// [`BRECAHAD_SIZE_PX`]: half a pixel, far above the rounding of six-decimal fractions.
const SIZE_TOLERANCE_PX: f64 = 0.5;

/// One annotated cell.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Cell {
    /// Its class, as a BreCaHAD JSON class name (`tumor`, `non_tumor`, ...).
    pub class: &'static str,
    /// The centre of its box, normalised.
    pub point: NormPoint,
}

/// The cells of `all_cells.csv`, grouped by image.
#[derive(Debug, Clone, Default)]
pub struct AllCells {
    file: String,
    images: BTreeMap<String, Vec<Cell>>,
}

fn error(file: &str, line: Option<usize>, problem: impl Into<String>) -> Error {
    Error::AnnotationInput {
        file: file.to_owned(),
        line,
        problem: problem.into(),
    }
}

impl AllCells {
    /// Reads the text of an `all_cells.csv`; `file` names it in errors, which also give the
    /// line.
    ///
    /// Refused: a missing column, a field that is not a number, a normalised centre outside
    /// `[0, 1]`, an unknown `class_name`, an empty `filename`, and a row whose pixel centre does
    /// not fit a 1360x1024 image.
    ///
    /// ```
    /// use histoseg_core::dataset::all_cells::AllCells;
    /// let text = "filename,class_name,x_center,y_center,x_center_abs,y_center_abs\n\
    ///             Case_1-01,Tumor_nuclei,0.5,0.25,680,256\n\
    ///             Case_1-01,Mitosis,0.1,0.1,136,102.4\n";
    /// let cells = AllCells::parse(text, "all_cells.csv").unwrap();
    /// assert_eq!(cells.images().collect::<Vec<_>>(), vec!["Case_1-01"]);
    /// let tumor = cells.points("Case_1-01", &["tumor".to_string()]).unwrap();
    /// assert_eq!((tumor[0].x, tumor[0].y), (0.5, 0.25));
    /// let err = AllCells::parse(&text.replace("680", "900"), "all_cells.csv").unwrap_err();
    /// assert!(err.to_string().starts_with("all_cells.csv, line 2: "));
    /// ```
    pub fn parse(text: &str, file: &str) -> Result<AllCells> {
        let mut reader = ::csv::ReaderBuilder::new()
            .has_headers(true)
            .from_reader(text.as_bytes());
        let header = reader
            .headers()
            .map_err(|e| error(file, Some(1), format!("not CSV: {e}")))?
            .clone();
        let names: Vec<&str> = header.iter().map(str::trim).collect();
        let mut index = [0usize; COLUMNS.len()];
        for (slot, column) in index.iter_mut().zip(COLUMNS) {
            *slot = names.iter().position(|n| *n == column).ok_or_else(|| {
                error(
                    file,
                    Some(1),
                    format!(
                        "no column '{column}' (the header has: {}; BreCaHAD's all_cells.csv has \
                         {})",
                        names.join(","),
                        COLUMNS.join(",")
                    ),
                )
            })?;
        }
        let (width, height) = BRECAHAD_SIZE_PX;
        let mut images: BTreeMap<String, Vec<Cell>> = BTreeMap::new();
        for record in reader.records() {
            let record = record.map_err(|e| {
                let line = e.position().map(|p| p.line() as usize);
                error(file, line, format!("not CSV: {e}"))
            })?;
            let line = record.position().map(|p| p.line() as usize);
            let field = |i: usize| record.get(index[i]).unwrap_or("").trim();
            let number = |i: usize| -> Result<f64> {
                let text = field(i);
                text.parse::<f64>()
                    .ok()
                    .filter(|v| v.is_finite())
                    .ok_or_else(|| {
                        error(
                            file,
                            line,
                            format!("{} {text:?} is not a number", COLUMNS[i]),
                        )
                    })
            };
            let name = field(0);
            if name.is_empty() {
                return Err(error(file, line, "empty filename"));
            }
            let class_name = field(1);
            let class = CLASSES
                .iter()
                .find(|(_, csv)| *csv == Some(class_name))
                .map(|(json, _)| *json)
                .ok_or_else(|| {
                    let known: Vec<&str> = CLASSES.iter().filter_map(|(_, c)| *c).collect();
                    error(
                        file,
                        line,
                        format!(
                            "unknown class_name {class_name:?} (expected one of {})",
                            known.join(", ")
                        ),
                    )
                })?;
            let point = NormPoint {
                x: number(2)?,
                y: number(3)?,
            };
            if !point.is_valid() {
                return Err(error(
                    file,
                    line,
                    format!(
                        "the centre ({}, {}) of {name} lies outside [0, 1]",
                        point.x, point.y
                    ),
                ));
            }
            for (norm, abs, len, axis, what) in [
                (point.x, number(4)?, width, 2, "width"),
                (point.y, number(5)?, height, 3, "height"),
            ] {
                if (norm * f64::from(len) - abs).abs() > SIZE_TOLERANCE_PX {
                    let implied = if norm > 0.0 {
                        format!("a {what} of {:.0} px", abs / norm)
                    } else {
                        format!("no {what}")
                    };
                    return Err(error(
                        file,
                        line,
                        format!(
                            "unknown image size for {name}: {} {norm} and {} {abs} imply {implied}, \
                             but every BreCaHAD image is {width}x{height}",
                            COLUMNS[axis],
                            COLUMNS[axis + 2],
                        ),
                    ));
                }
            }
            images
                .entry(name.to_owned())
                .or_default()
                .push(Cell { class, point });
        }
        Ok(AllCells {
            file: file.to_owned(),
            images,
        })
    }

    /// The image names (file stems), sorted.
    pub fn images(&self) -> impl Iterator<Item = &str> {
        self.images.keys().map(String::as_str)
    }

    /// How many images have at least one cell.
    pub fn len(&self) -> usize {
        self.images.len()
    }

    /// Whether no image has a cell.
    pub fn is_empty(&self) -> bool {
        self.images.is_empty()
    }

    /// How many cells there are in all.
    pub fn cells(&self) -> usize {
        self.images.values().map(Vec::len).sum()
    }

    /// The cells of one image (none for an unknown name).
    pub fn cells_of(&self, image: &str) -> &[Cell] {
        self.images.get(image).map_or(&[], Vec::as_slice)
    }

    /// The points of the chosen JSON classes in one image, in file order. Every class must be
    /// one of [`CLASSES`] (so a typo such as `tumour` is an error, not an empty mask).
    pub fn points(&self, image: &str, classes: &[String]) -> Result<Vec<NormPoint>> {
        if let Some(unknown) = classes
            .iter()
            .find(|c| !CLASSES.iter().any(|(json, _)| json == c))
        {
            let known: Vec<&str> = CLASSES.iter().map(|(json, _)| *json).collect();
            return Err(error(
                &self.file,
                None,
                format!(
                    "no class '{unknown}' (BreCaHAD's classes: {})",
                    known.join(", ")
                ),
            ));
        }
        Ok(self
            .cells_of(image)
            .iter()
            .filter(|c| classes.iter().any(|k| k == c.class))
            .map(|c| c.point)
            .collect())
    }

    /// The 1360x1024 source mask of one image: the chosen classes' points drawn as disks of
    /// `radius` pixels by [`points::points_to_mask`], exactly as the BreCaHAD reader draws the
    /// points of a JSON file.
    pub fn mask(&self, image: &str, classes: &[String], radius: f32) -> Result<GrayImage> {
        let (w, h) = BRECAHAD_SIZE_PX;
        points::points_to_mask(w, h, &self.points(image, classes)?, radius)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str = "filename,case_id,image_id,class_id,class_name,x_center,y_center,\
                          width,height,x_center_abs,y_center_abs,width_abs,height_abs,area_abs\n";

    fn row(name: &str, class: &str, x: f64, y: f64) -> String {
        format!(
            "{name},c,1,2,{class},{x},{y},0.02,0.03,{},{},27,31,837\n",
            x * 1360.0,
            y * 1024.0
        )
    }

    fn parse_err(text: &str) -> String {
        AllCells::parse(text, "cells.csv")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default()
    }

    #[test]
    fn classes_map_to_the_json_names_and_group_by_image() {
        let text = format!(
            "{HEADER}{}{}{}",
            row("a", "Tumor_nuclei", 0.5, 0.5),
            row("b", "Non_tumor_nuclei", 0.25, 0.75),
            row("a", "Tubule", 0.1, 0.2),
        );
        let cells = AllCells::parse(&text, "cells.csv").unwrap_or_default();
        assert_eq!((cells.len(), cells.cells()), (2, 3));
        let paper = ["tumor".to_string(), "non_tumor".to_string()];
        assert_eq!(cells.points("a", &paper).map(|p| p.len()).ok(), Some(1));
        assert_eq!(cells.points("b", &paper).map(|p| p.len()).ok(), Some(1));
        let lumen = ["lumen".to_string()];
        assert_eq!(cells.points("a", &lumen).map(|p| p.len()).ok(), Some(1));
        assert_eq!(cells.points("zzz", &paper).map(|p| p.len()).ok(), Some(0));
        let err = cells
            .points("a", &["tumour".to_string()])
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("tumour") && err.contains("non_tumor"), "{err}");
        let mask = cells.mask("a", &paper, 2.0).unwrap_or_default();
        assert_eq!(mask.dimensions(), BRECAHAD_SIZE_PX);
        assert_eq!(mask.get_pixel(680, 512)[0], 255);
    }

    #[test]
    fn bad_files_are_refused_naming_the_line() {
        let err =
            parse_err("filename,class_name,x_center,y_center,x_center_abs\na,Mitosis,0,0,0\n");
        assert!(
            err.starts_with("cells.csv, line 1: no column 'y_center_abs'"),
            "{err}"
        );
        let good = row("a", "Mitosis", 0.5, 0.5);
        let err = parse_err(&format!("{HEADER}{good}{}", good.replace("0.5,", "half,")));
        assert!(
            err.starts_with("cells.csv, line 3: x_center \"half\" is not a number"),
            "{err}"
        );
        let err = parse_err(&format!("{HEADER}{}", good.replace("Mitosis", "Mitose")));
        assert!(
            err.contains("line 2: unknown class_name \"Mitose\""),
            "{err}"
        );
        let err = parse_err(&format!("{HEADER}{}", good.replace(",512,", ",1000,")));
        assert!(
            err.contains("line 2: unknown image size for a")
                && err.contains("height of 2000 px")
                && err.contains("1360x1024"),
            "{err}"
        );
        let err = parse_err(&format!("{HEADER}{}", row("a", "Mitosis", 1.5, 0.5)));
        assert!(
            err.contains("line 2") && err.contains("outside [0, 1]"),
            "{err}"
        );
        let err = parse_err(&format!("{HEADER}{}", row("", "Mitosis", 0.5, 0.5)));
        assert!(err.contains("line 2: empty filename"), "{err}");
    }
}
