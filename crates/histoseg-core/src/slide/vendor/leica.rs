//! Leica SCN: an XML `scn` document in the first ImageDescription describes a collection (the
//! glass, in nanometres) holding images, each with its pixel dimensions (one TIFF directory a
//! level) and its place in the collection. As in OpenSlide the macro is the image that fills
//! the collection, the main image is the brightfield one, and the levels span the whole
//! collection, white around the main image.

use super::super::ifd::ImageIfd;
use super::super::pyramid::{Associated, Layout, plausible_magnification};
use super::super::{AssociatedKind, Vendor};
use super::xml::{Element, elements};

/// The namespaces of the SCN documents OpenSlide reads.
const NAMESPACES: [&str; 2] = [
    "http://www.leica-microsystems.com/scn/2010/03/10",
    "http://www.leica-microsystems.com/scn/2010/10/01",
];

/// Whether `description` is a Leica SCN document.
pub(super) fn is_scn(description: &str) -> bool {
    description.contains("<scn") && NAMESPACES.iter().any(|ns| description.contains(ns))
}

/// One `image` of the collection.
#[derive(Debug)]
struct ScnImage {
    /// (directory, width, height) of each level in focal plane 0, largest first.
    dimensions: Vec<(usize, u32, u32)>,
    /// The view: size and offset in the collection, in nm.
    view: [f64; 4],
    brightfield: bool,
    objective: Option<f64>,
}

fn number(e: &Element, key: &str) -> Result<f64, String> {
    e.attr(key)
        .and_then(|v| v.trim().parse::<f64>().ok())
        .filter(|v| v.is_finite() && *v >= 0.0)
        .ok_or_else(|| format!("Leica XML: <{}> without a usable {key}", e.name))
}

fn images(xml: &[Element]) -> Result<Vec<ScnImage>, String> {
    let mut out = Vec::new();
    for (i, e) in xml.iter().enumerate().filter(|(_, e)| e.name == "image") {
        let inside: Vec<&Element> = xml[i + 1..]
            .iter()
            .take_while(|c| c.depth > e.depth)
            .collect();
        let mut dimensions = Vec::new();
        for d in inside.iter().filter(|c| c.name == "dimension") {
            if d.attr("z").is_some_and(|z| z.trim() != "0") {
                continue;
            }
            let side = |key| number(d, key).map(|v| v.min(f64::from(u32::MAX)) as u32);
            dimensions.push((number(d, "ifd")? as usize, side("sizeX")?, side("sizeY")?));
        }
        dimensions.sort_by_key(|d| std::cmp::Reverse(d.1));
        let view = inside
            .iter()
            .find(|c| c.name == "view")
            .ok_or("Leica XML: an image without a view")?;
        let text = |name: &str| {
            inside
                .iter()
                .find(|c| c.name == name)
                .map(|c| c.text.trim())
        };
        out.push(ScnImage {
            dimensions,
            view: [
                number(view, "sizeX")?,
                number(view, "sizeY")?,
                number(view, "offsetX")?,
                number(view, "offsetY")?,
            ],
            brightfield: text("illuminationSource") == Some("brightfield"),
            objective: text("objective").and_then(|o| o.parse::<f64>().ok()),
        });
    }
    Ok(out)
}

pub(super) fn layout(chain: &[ImageIfd]) -> Result<Layout, String> {
    let xml = elements(&chain[0].description)?;
    let collection = xml
        .iter()
        .find(|e| e.name == "collection")
        .ok_or("Leica XML without a collection")?;
    let (across, down) = (number(collection, "sizeX")?, number(collection, "sizeY")?);
    let images = images(&xml)?;
    let is_macro = |i: &ScnImage| i.view == [across, down, 0.0, 0.0];
    let directory = |n: usize| {
        chain.get(n).ok_or_else(|| {
            format!(
                "Leica XML names directory {n}; the file has {}",
                chain.len()
            )
        })
    };
    let mains: Vec<&ScnImage> = images
        .iter()
        .filter(|i| !is_macro(i) && i.brightfield)
        .collect();
    let main = match mains[..] {
        [main] => main,
        [] => return Err("Leica SCN without a brightfield main image".into()),
        _ => {
            return Err(format!(
                "Leica SCN with {} main images is not supported yet (OpenSlide composites \
                 them)",
                mains.len()
            ));
        }
    };
    let mut levels = Vec::new();
    let mut sizes = Vec::new();
    let mut origins = Vec::new();
    for &(n, w, h) in &main.dimensions {
        let img = directory(n)?;
        if (img.width, img.height) != (w, h) {
            return Err(format!(
                "Leica XML says directory {n} is {w}x{h} px; it is {}x{}",
                img.width, img.height
            ));
        }
        // Nanometres per pixel of this level; the level spans the collection.
        let nm = main.view[0] / f64::from(w.max(1));
        if nm.is_nan() || nm <= 0.0 {
            return Err("Leica XML: an image of zero size".into());
        }
        let side = |s: f64| (s / nm).ceil().clamp(1.0, 1e6) as u32;
        sizes.push((side(across).max(w), side(down).max(h)));
        // Whole pixels, rounded down as OpenSlide stores them (and states them as bounds).
        let at = |o: f64| ((o / nm).floor().min(1e6)) as u32;
        origins.push((at(main.view[2]), at(main.view[3])));
        levels.push(img.clone());
    }
    if levels.is_empty() {
        return Err("Leica main image without levels".into());
    }
    let mut associated = Vec::new();
    if let Some(m) = images.iter().find(|i| is_macro(i) && i.brightfield)
        && let Some(&(n, _, _)) = m.dimensions.first()
    {
        associated.push((
            AssociatedKind::Macro,
            Associated::Ifd(Box::new(directory(n)?.clone())),
        ));
    }
    let mpp = levels[0].resolution_mpp();
    Ok(Layout {
        vendor: Vendor::Leica,
        levels,
        sizes,
        origins,
        downsamples: None,
        associated,
        mpp,
        objective_power: main
            .objective
            .map(f64::trunc)
            .filter(plausible_magnification),
    })
}
