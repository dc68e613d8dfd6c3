//! Nuclei as a pathologist measures them: each instance of a label map becomes an outline
//! polygon (its outer contour, simplified) with QuPath's shape measurements (area, length of
//! the outline, circularity `4πA/L²` of the polygon) and the mean haematoxylin optical density
//! of its pixels (colour deconvolution with the slide's stain vectors).

use image::{GrayImage, Luma, RgbImage};
use imageproc::contours::{BorderType, find_contours};
use imageproc::geometry::approximate_polygon_dp;
use imageproc::point::Point;
use serde::{Deserialize, Serialize};

use crate::annotations::detections::Detection;
use crate::instances::LabelMap;
use crate::stain::StainMatrix;

/// One nucleus with its outline and measurements, in the pixels of the image it was found in.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MeasuredNucleus {
    /// The outer contour through the centres of its border pixels (pixel centres at +0.5),
    /// simplified; at least three vertices, not closed (the first vertex is not repeated).
    pub outline: Vec<(f64, f64)>,
    /// Centroid of its pixels.
    pub centroid: (f64, f64),
    /// Area: its pixel count.
    pub area: f64,
    /// Length of the outline polygon.
    pub perimeter: f64,
    /// `4π · area / length²` of the outline polygon, in (0, 1]: 1 for a circle.
    pub circularity: f64,
    /// Mean optical density of the first stain (haematoxylin) over its pixels.
    pub hematoxylin_od: f64,
}

impl MeasuredNucleus {
    /// The same nucleus in other pixels: `(x, y)` becomes `(x * scale + dx, y * scale + dy)`
    /// (from a resized window to slide coordinates, for example); areas scale by `scale²`.
    pub fn placed(mut self, scale: f64, dx: f64, dy: f64) -> Self {
        let map = |(x, y): (f64, f64)| (x * scale + dx, y * scale + dy);
        self.outline = self.outline.into_iter().map(map).collect();
        self.centroid = map(self.centroid);
        self.area *= scale * scale;
        self.perimeter *= scale;
        self
    }

    /// The nucleus as a QuPath detection of `class`, with QuPath's measurement names: in µm
    /// with the slide's microns per pixel `mpp` (x, y), else in pixels (`"Area px^2"`). As in
    /// QuPath's shape features, the perimeter is called "Length".
    ///
    /// ```
    /// use histoseg_core::nuclei::MeasuredNucleus;
    /// let n = MeasuredNucleus {
    ///     outline: vec![(0.0, 0.0), (4.0, 0.0), (4.0, 4.0)],
    ///     centroid: (2.0, 1.0),
    ///     area: 16.0,
    ///     perimeter: 12.0,
    ///     circularity: 0.5,
    ///     hematoxylin_od: 0.25,
    /// };
    /// let d = n.to_detection("Nucleus", Some((0.5, 0.5)));
    /// assert_eq!(d.measurements[0], ("Area µm^2".to_owned(), 4.0));
    /// assert_eq!(d.measurements[1], ("Length µm".to_owned(), 6.0));
    /// assert_eq!(n.to_detection("Nucleus", None).measurements[0].0, "Area px^2");
    /// ```
    pub fn to_detection(&self, class: &str, mpp: Option<(f64, f64)>) -> Detection {
        let (unit, (mx, my)) = match mpp {
            Some(m) => ("µm", m),
            None => ("px", (1.0, 1.0)),
        };
        // Lengths scale by the mean pixel side; QuPath asks for square pixels before it does.
        let side = (mx + my) / 2.0;
        Detection {
            class: class.to_owned(),
            outline: self.outline.clone(),
            measurements: vec![
                (format!("Area {unit}^2"), self.area * mx * my),
                (format!("Length {unit}"), self.perimeter * side),
                ("Circularity".to_owned(), self.circularity),
                ("Hematoxylin OD mean".to_owned(), self.hematoxylin_od),
            ],
        }
    }
}

/// Counts per class over an area of tissue, and the densities a pathologist reports.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    /// The slide (or image) counted.
    pub slide: String,
    /// Nuclei per class, in the order classes were first counted.
    pub counts: Vec<(String, u64)>,
    /// Tissue area in level-0 pixels.
    pub tissue_pixels: f64,
    /// Microns per level-0 pixel (x, y), where the slide says.
    pub mpp: Option<(f64, f64)>,
}

impl Summary {
    /// Counts one nucleus of `class`.
    pub fn count(&mut self, class: &str) {
        match self.counts.iter_mut().find(|(c, _)| c == class) {
            Some((_, n)) => *n += 1,
            None => self.counts.push((class.to_owned(), 1)),
        }
    }

    /// All nuclei counted.
    pub fn total(&self) -> u64 {
        self.counts.iter().map(|(_, n)| n).sum()
    }
}

/// `summary.csv` of some slides: per slide one row per class and one for all, with the
/// tissue area and the density per mm² of tissue (per megapixel of tissue for a slide without
/// `mpp`, as its `area_unit` says).
///
/// ```
/// use histoseg_core::nuclei::{Summary, summary_csv};
/// let mut s = Summary { slide: "a.svs".into(), tissue_pixels: 4e6, mpp: Some((0.5, 0.5)), ..Summary::default() };
/// (0..3).for_each(|_| s.count("Nucleus"));
/// let no_mpp = Summary { slide: "b, c.tif".into(), mpp: None, ..s.clone() };
/// let csv = summary_csv(&[s, no_mpp]);
/// let lines: Vec<&str> = csv.lines().collect();
/// assert_eq!(lines[0], "slide,class,nuclei,tissue_area,area_unit,density,density_unit");
/// assert_eq!(lines[1], "a.svs,Nucleus,3,1,mm^2,3,per mm^2");
/// assert_eq!(lines[2], "a.svs,All,3,1,mm^2,3,per mm^2");
/// assert_eq!(lines[3], "\"b, c.tif\",Nucleus,3,4,megapixels,0.75,per megapixel");
/// ```
pub fn summary_csv(summaries: &[Summary]) -> String {
    // Writing to memory cannot fail, and every field is UTF-8.
    let bytes = write_summaries(summaries).unwrap_or_default();
    String::from_utf8(bytes).unwrap_or_default()
}

fn write_summaries(summaries: &[Summary]) -> Result<Vec<u8>, Box<dyn std::error::Error>> {
    let mut out = csv::Writer::from_writer(Vec::new());
    let header = [
        "slide",
        "class",
        "nuclei",
        "tissue_area",
        "area_unit",
        "density",
        "density_unit",
    ];
    out.write_record(header)?;
    for s in summaries {
        let (area, unit, per) = match s.mpp {
            Some((mx, my)) => (s.tissue_pixels * mx * my / 1e6, "mm^2", "per mm^2"),
            None => (s.tissue_pixels / 1e6, "megapixels", "per megapixel"),
        };
        let total = ("All".to_owned(), s.total());
        for (class, n) in s.counts.iter().chain(std::iter::once(&total)) {
            let density = if area > 0.0 { *n as f64 / area } else { 0.0 };
            out.write_record([
                &s.slide,
                class,
                &n.to_string(),
                &round6(area).to_string(),
                unit,
                &round6(density).to_string(),
                per,
            ])?;
        }
    }
    Ok(out.into_inner()?)
}

/// Rounded to six decimal places.
fn round6(v: f64) -> f64 {
    (v * 1e6).round() / 1e6
}

struct Sums {
    min: (u32, u32),
    max: (u32, u32),
    count: u64,
    x: f64,
    y: f64,
    od: f64,
}

/// Outlines and measures every instance of `labels` (1..n) on `image` (same size), in label
/// order; labels without pixels are skipped. `tolerance` is the Douglas-Peucker tolerance of
/// the outline in pixels (0 keeps every contour point).
///
/// ```
/// use histoseg_core::{instances::LabelMap, nuclei::measure_nuclei, stain::StainMatrix};
/// let mut labels = LabelMap::new(20, 20);
/// for y in 5..15 {
///     for x in 5..15 {
///         labels.put_pixel(x, y, image::Luma([1]));
///     }
/// }
/// let image = image::RgbImage::from_pixel(20, 20, image::Rgb([80, 40, 160]));
/// let n = &measure_nuclei(&labels, &image, &StainMatrix::hematoxylin_eosin(), 0.5)[0];
/// assert_eq!((n.area, n.centroid), (100.0, (10.0, 10.0)));
/// assert_eq!(n.outline, vec![(5.5, 5.5), (5.5, 14.5), (14.5, 14.5), (14.5, 5.5)]);
/// assert_eq!(n.perimeter, 36.0);
/// assert!((n.circularity - std::f64::consts::PI / 4.0).abs() < 1e-9);
/// assert!(n.hematoxylin_od > 0.3);
/// ```
pub fn measure_nuclei(
    labels: &LabelMap,
    image: &RgbImage,
    stains: &StainMatrix,
    tolerance: f64,
) -> Vec<MeasuredNucleus> {
    let hematoxylin = hematoxylin_table(stains);
    let mut sums: Vec<Option<Sums>> = Vec::new();
    for (x, y, l) in labels.enumerate_pixels() {
        let l = l[0] as usize;
        if l == 0 || x >= image.width() || y >= image.height() {
            continue;
        }
        if sums.len() < l {
            sums.resize_with(l, || None);
        }
        let p = image.get_pixel(x, y).0;
        let od = hematoxylin[0][usize::from(p[0])]
            + hematoxylin[1][usize::from(p[1])]
            + hematoxylin[2][usize::from(p[2])];
        let s = sums[l - 1].get_or_insert(Sums {
            min: (x, y),
            max: (x, y),
            count: 0,
            x: 0.0,
            y: 0.0,
            od: 0.0,
        });
        s.min = (s.min.0.min(x), s.min.1.min(y));
        s.max = (s.max.0.max(x), s.max.1.max(y));
        s.count += 1;
        s.x += f64::from(x) + 0.5;
        s.y += f64::from(y) + 0.5;
        s.od += od;
    }
    sums.iter()
        .enumerate()
        .filter_map(|(i, s)| {
            let s = s.as_ref()?;
            let outline = outline_of(labels, i as u32 + 1, s.min, s.max, tolerance);
            let (perimeter, polygon_area) = length_and_area(&outline);
            let n = s.count as f64;
            Some(MeasuredNucleus {
                centroid: (s.x / n, s.y / n),
                area: n,
                perimeter,
                circularity: (4.0 * std::f64::consts::PI * polygon_area / (perimeter * perimeter))
                    .min(1.0),
                hematoxylin_od: s.od / n,
                outline,
            })
        })
        .collect()
}

/// Per channel and value, that channel's share of the first stain's amount: the haematoxylin
/// of a pixel is the sum of three lookups (deconvolution is linear in optical density).
fn hematoxylin_table(stains: &StainMatrix) -> [[f64; 256]; 3] {
    let unit = |c: usize| {
        let mut rgb = [255u8; 3];
        std::array::from_fn(|v| {
            rgb[c] = v as u8;
            stains.deconvolve(rgb)[0]
        })
    };
    [unit(0), unit(1), unit(2)]
}

/// The simplified outer contour of `label` within its bounding box `min..=max`. A nucleus of
/// one row or column, whose contour is not a polygon, gets its pixels' box.
fn outline_of(
    labels: &LabelMap,
    label: u32,
    min: (u32, u32),
    max: (u32, u32),
    tolerance: f64,
) -> Vec<(f64, f64)> {
    // One pixel of background around the box, so the border is traced on every side.
    let (w, h) = (max.0 - min.0 + 3, max.1 - min.1 + 3);
    let crop = GrayImage::from_fn(w, h, |x, y| {
        let inside = x >= 1
            && y >= 1
            && x <= w - 2
            && y <= h - 2
            && labels.get_pixel(min.0 + x - 1, min.1 + y - 1)[0] == label;
        Luma([if inside { 255 } else { 0 }])
    });
    let outer = find_contours::<i32>(&crop)
        .into_iter()
        .filter(|c| c.border_type == BorderType::Outer)
        .max_by_key(|c| c.points.len());
    let points: Vec<Point<i32>> = match outer {
        Some(c) if tolerance > 0.0 => approximate_polygon_dp(&c.points, tolerance, true),
        Some(c) => c.points,
        None => Vec::new(),
    };
    let shift = |p: &Point<i32>| {
        (
            f64::from(min.0) + f64::from(p.x) - 0.5,
            f64::from(min.1) + f64::from(p.y) - 0.5,
        )
    };
    let outline: Vec<(f64, f64)> = points.iter().map(shift).collect();
    if outline.len() >= 3 && length_and_area(&outline).1 > 0.0 {
        return outline;
    }
    let (x0, y0) = (f64::from(min.0), f64::from(min.1));
    let (x1, y1) = (f64::from(max.0) + 1.0, f64::from(max.1) + 1.0);
    vec![(x0, y0), (x1, y0), (x1, y1), (x0, y1)]
}

/// Length and (unsigned) area of a closed polygon.
fn length_and_area(polygon: &[(f64, f64)]) -> (f64, f64) {
    let mut length = 0.0;
    let mut twice_area = 0.0;
    for (i, &(x0, y0)) in polygon.iter().enumerate() {
        let (x1, y1) = polygon[(i + 1) % polygon.len()];
        length += (x1 - x0).hypot(y1 - y0);
        twice_area += x0 * y1 - x1 * y0;
    }
    (length, twice_area.abs() / 2.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn disk(labels: &mut LabelMap, cx: i32, cy: i32, r: i32, label: u32) {
        for y in cy - r..=cy + r {
            for x in cx - r..=cx + r {
                if (x - cx).pow(2) + (y - cy).pow(2) <= r * r {
                    labels.put_pixel(x as u32, y as u32, Luma([label]));
                }
            }
        }
    }

    #[test]
    fn disks_are_round_and_their_outlines_surround_their_pixels() {
        let mut labels = LabelMap::new(80, 40);
        disk(&mut labels, 20, 20, 12, 1);
        disk(&mut labels, 60, 20, 6, 3);
        let image = RgbImage::from_pixel(80, 40, image::Rgb([255, 255, 255]));
        let nuclei = measure_nuclei(&labels, &image, &StainMatrix::hematoxylin_eosin(), 0.5);
        assert_eq!(nuclei.len(), 2, "label 2 has no pixels and is skipped");
        for (n, (cx, r)) in nuclei.iter().zip([(20.5, 12.0), (60.5, 6.0)]) {
            assert!((n.centroid.0 - cx).abs() < 1e-9 && (n.centroid.1 - 20.5).abs() < 1e-9);
            let circle = std::f64::consts::PI * r * r;
            assert!(
                (n.area - circle).abs() / circle < 0.08,
                "{} vs {circle}",
                n.area
            );
            assert!(
                n.circularity > 0.8 && n.circularity <= 1.0,
                "{}",
                n.circularity
            );
            for &(x, y) in &n.outline {
                let d = (x - cx).hypot(y - 20.5);
                assert!(
                    (d - r).abs() < 1.0,
                    "vertex ({x}, {y}) is {d} from the centre"
                );
            }
            assert_eq!(n.hematoxylin_od, 0.0, "white glass holds no stain");
        }
    }

    #[test]
    fn thin_and_single_pixel_nuclei_get_a_box() {
        let mut labels = LabelMap::new(10, 10);
        labels.put_pixel(2, 2, Luma([1]));
        for x in 4..9 {
            labels.put_pixel(x, 7, Luma([2]));
        }
        let image = RgbImage::new(10, 10);
        let nuclei = measure_nuclei(&labels, &image, &StainMatrix::hematoxylin_eosin(), 0.5);
        assert_eq!(
            nuclei[0].outline,
            vec![(2.0, 2.0), (3.0, 2.0), (3.0, 3.0), (2.0, 3.0)]
        );
        assert_eq!(
            nuclei[1].outline,
            vec![(4.0, 7.0), (9.0, 7.0), (9.0, 8.0), (4.0, 8.0)]
        );
        assert_eq!((nuclei[0].area, nuclei[1].area), (1.0, 5.0));
        assert!(
            nuclei
                .iter()
                .all(|n| n.circularity > 0.0 && n.perimeter > 0.0)
        );
    }

    #[test]
    fn darker_haematoxylin_reads_higher() {
        let mut labels = LabelMap::new(20, 10);
        disk(&mut labels, 4, 4, 3, 1);
        disk(&mut labels, 14, 4, 3, 2);
        let image = RgbImage::from_fn(20, 10, |x, _| {
            if x < 10 {
                image::Rgb([160, 120, 200])
            } else {
                image::Rgb([60, 30, 130])
            }
        });
        let n = measure_nuclei(&labels, &image, &StainMatrix::hematoxylin_eosin(), 0.0);
        let stains = StainMatrix::hematoxylin_eosin();
        assert!((n[0].hematoxylin_od - stains.deconvolve([160, 120, 200])[0]).abs() < 1e-9);
        assert!(n[1].hematoxylin_od > n[0].hematoxylin_od);
    }
}
