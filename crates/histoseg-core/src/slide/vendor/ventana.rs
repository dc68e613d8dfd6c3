//! Ventana BIF (and Ventana TIFF): levels named `level=N mag=M` in their descriptions, the
//! `iScan` XMP packet for resolution and magnification, "Label_Image" (the macro, as OpenSlide
//! calls it) and "Thumbnail", and the level-0 `EncodeInfo` that places the tiles.

use super::super::AssociatedKind;
use super::super::Vendor;
use super::super::ifd::ImageIfd;
use super::super::pyramid::{Associated, Layout, plausible_magnification};
use super::xml::{Element, elements};

/// `level=N mag=M` from a level's description.
fn level_fields(description: &str) -> Option<(u64, f64)> {
    let field = |key: &str| {
        description
            .split(' ')
            .find_map(|pair| pair.strip_prefix(key)?.strip_prefix('='))
    };
    Some((field("level")?.parse().ok()?, field("mag")?.parse().ok()?))
}

pub(super) fn layout(chain: &[ImageIfd]) -> Result<Layout, String> {
    let mut levels: Vec<(u64, f64, &ImageIfd)> = Vec::new();
    let mut associated = Vec::new();
    for img in chain {
        let d = img.description.as_str();
        if d.contains("level=") {
            let (n, mag) = level_fields(d)
                .ok_or_else(|| format!("Ventana level description {d:?} lacks level or mag"))?;
            if !img.tiled {
                return Err(format!("Ventana level {n} is not tiled"));
            }
            levels.push((n, mag, img));
        } else if d == "Label Image" || d == "Label_Image" {
            associated.push((
                AssociatedKind::Macro,
                Associated::Ifd(Box::new(img.clone())),
            ));
        } else if d == "Thumbnail" {
            associated.push((
                AssociatedKind::Thumbnail,
                Associated::Ifd(Box::new(img.clone())),
            ));
        }
    }
    for (i, &(n, mag, _)) in levels.iter().enumerate() {
        if n != i as u64 || mag.is_nan() || mag <= 0.0 || (i > 0 && mag >= levels[i - 1].1) {
            return Err(format!(
                "Ventana levels out of order: level {n} (magnification {mag}) found in place {i}"
            ));
        }
    }
    let Some(&(_, mag0, base)) = levels.first() else {
        return Err("Ventana slide without a level=0 image".into());
    };
    let downsamples: Vec<f64> = levels.iter().map(|(_, mag, _)| mag0 / mag).collect();
    let images: Vec<ImageIfd> = levels.iter().map(|(_, _, img)| (*img).clone()).collect();
    let sizes = match base.xmp.as_deref().filter(|x| x.contains("EncodeInfo")) {
        Some(xmp) => {
            let (w, h) = tiled_extent(&elements(xmp)?, base)?;
            let mut full = images[0].clone();
            (full.width, full.height) = (w.min(base.width), h.min(base.height));
            let mut with_extent = images.clone();
            with_extent[0] = full;
            super::clipped_sizes(&with_extent, &downsamples, true)
        }
        None => images.iter().map(|l| (l.width, l.height)).collect(),
    };
    let iscan = chain
        .first()
        .and_then(|img| img.xmp.as_deref())
        .map(elements)
        .transpose()?
        .and_then(|all| all.into_iter().find(|e| e.name == "iScan"));
    let number = |key: &str| {
        iscan
            .as_ref()
            .and_then(|e| e.attr(key))
            .and_then(|v| v.trim().parse::<f64>().ok())
    };
    let mpp = number("ScanRes").filter(|m| *m > 0.0 && m.is_finite());
    let origins = vec![(0, 0); images.len()];
    Ok(Layout {
        origins,
        vendor: Vendor::Ventana,
        levels: images,
        sizes,
        downsamples: None,
        associated,
        mpp: mpp.map(|m| (m, m)),
        objective_power: number("Magnification")
            .map(f64::trunc)
            .filter(plausible_magnification),
    })
}

/// The level-0 extent the scanned areas cover, from `EncodeInfo`. Areas must sit where the
/// TIFF stores their tiles and no joint may overlap: stitched tiles (non-zero overlaps, which
/// OpenSlide places by their joints) are refused rather than shown misplaced.
fn tiled_extent(xml: &[Element], base: &ImageIfd) -> Result<(u32, u32), String> {
    let unsupported = |what: String| {
        format!("Ventana BIF with {what} is not supported yet (OpenSlide stitches these tiles)")
    };
    let (tw, th) = (f64::from(base.chunk_w), f64::from(base.chunk_h));
    let number = |e: &Element, key: &str| -> Result<f64, String> {
        e.attr(key)
            .and_then(|v| v.trim().parse::<f64>().ok())
            .ok_or_else(|| format!("Ventana EncodeInfo: {} without a numeric {key}", e.name))
    };
    let infos: Vec<&Element> = xml.iter().filter(|e| e.name == "ImageInfo").collect();
    let origins: Vec<&Element> = xml
        .iter()
        .filter(|e| e.name.starts_with("AOI") && e.attr("OriginX").is_some())
        .collect();
    if infos.len() != origins.len() {
        return Err("Ventana EncodeInfo: missing or inconsistent region metadata".into());
    }
    for joint in xml.iter().filter(|e| e.name == "TileJointInfo") {
        let (ox, oy) = (number(joint, "OverlapX")?, number(joint, "OverlapY")?);
        if (ox != 0.0 || oy != 0.0) && number(joint, "Confidence")? > 0.0 {
            return Err(unsupported(format!("tile overlaps ({ox}, {oy})")));
        }
    }
    let (mut w, mut h) = (0f64, 0f64);
    for (info, origin) in infos.iter().zip(&origins) {
        if number(info, "AOIScanned")? == 0.0 {
            continue;
        }
        if number(info, "Width")? != tw || number(info, "Height")? != th {
            return Err("Ventana EncodeInfo: tile size differs from the TIFF's".into());
        }
        let (x0, y0) = (number(origin, "OriginX")?, number(origin, "OriginY")?);
        let (cols, rows) = (number(info, "NumCols")?, number(info, "NumRows")?);
        if !(1.0..=1e6).contains(&cols) || !(1.0..=1e6).contains(&rows) {
            return Err(format!(
                "Ventana EncodeInfo: an area of {cols}x{rows} tiles"
            ));
        }
        if number(info, "Pos-X")? != x0 {
            return Err(unsupported("an area placed apart from its tiles".into()));
        }
        w = w.max(x0 + cols * tw);
        h = h.max(y0 + rows * th);
    }
    if w == 0.0 || h == 0.0 {
        return Err("Ventana EncodeInfo: no scanned area".into());
    }
    Ok((
        w.min(f64::from(u32::MAX)) as u32,
        h.min(f64::from(u32::MAX)) as u32,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn level_descriptions_give_level_and_magnification() {
        assert_eq!(level_fields("level=2 mag=5 quality=90"), Some((2, 5.0)));
        assert_eq!(level_fields("level=0 mag=40"), Some((0, 40.0)));
        assert_eq!(level_fields("level=x mag=40"), None);
        assert_eq!(level_fields("Thumbnail"), None);
    }
}
