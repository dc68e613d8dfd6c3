//! Makesense's COCO JSON polygons: `images` (`id`, `width`, `height`, `file_name`),
//! `categories` numbered from 1 in label order, and `annotations` numbered from 0 with one
//! polygon `segmentation`, its `bbox` and `area`. Read with the general COCO reader
//! ([`annotations::coco`](crate::annotations::coco)), each image being a fragment.

use super::super::coco::{AnnotationOut, CategoryOut, CocoOut, ImageOut, InfoOut, parse, to_json};
use super::super::{At, FragmentLookup, Imported, classes_in_order};
use super::{Format, OnFragment};
use crate::Result;

/// Reads a COCO file made on fragment images; each `file_name` names a fragment.
pub fn read(file: &str, text: &str, lookup: &FragmentLookup, out: &mut Imported) -> Result<()> {
    let at = At::file(file);
    for item in parse(file, text, &mut out.warnings)? {
        let (name, fragment) = lookup.resolve(at, &item.image).map_err(|e| match e {
            crate::Error::AnnotationInput {
                file,
                line,
                problem,
            } => crate::Error::AnnotationInput {
                file,
                line,
                problem: format!("annotations[{}]: {problem}", item.index),
            },
            other => other,
        })?;
        if let Some(size) = item.size {
            out.check_size(at, name, fragment, size);
        }
        // Makesense writes COCO coordinates unrounded.
        out.add_on_fragment(at, name, fragment, item.annotation, (0.0, 0.0))?;
    }
    Ok(())
}

/// Makesense's COCO JSON of several fragments (those with annotations), with categories from
/// `labels` followed by any other class met; rectangles become 4-vertex polygons, points are an
/// error.
pub fn write(items: &[OnFragment<'_>], labels: &[String]) -> Result<String> {
    let mut images = Vec::new();
    let mut annotations = Vec::new();
    let mut classes = labels.to_vec();
    let mut per_image = Vec::new();
    for item in items.iter().filter(|i| !i.annotations.is_empty()) {
        let on_fragment = item.in_fragment_pixels(Format::Coco)?;
        for class in classes_in_order(&on_fragment) {
            if !classes.contains(&class) {
                classes.push(class);
            }
        }
        per_image.push((item, on_fragment));
    }
    for ((item, on_fragment), image_id) in per_image.into_iter().zip(1..) {
        let (width, height) = item.fragment.image_size();
        images.push(ImageOut {
            id: image_id,
            width,
            height,
            file_name: item.name.to_owned(),
        });
        for a in on_fragment {
            let category = classes
                .iter()
                .position(|c| *c == a.class)
                .map_or(0, |i| i + 1);
            let id = annotations.len() as u64;
            annotations.push(AnnotationOut::new(
                id,
                image_id,
                category as u64,
                &a.geometry,
            ));
        }
    }
    Ok(to_json(&CocoOut {
        info: InfoOut {
            description: "histoseg".to_owned(),
        },
        images,
        annotations,
        categories: classes
            .into_iter()
            .zip(1..)
            .map(|(name, id)| CategoryOut { id, name })
            .collect(),
    }))
}
