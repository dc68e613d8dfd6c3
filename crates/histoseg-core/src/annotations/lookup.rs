//! Finding the fragment an export names: by file name, or by file stem (YOLO and VOC exports
//! are named after the image with another extension).

use std::collections::{BTreeMap, HashMap};

use super::At;
use crate::fragment::{Fragment, check_downsample};
use crate::manifest::Manifest;
use crate::rect::Rect;
use crate::{Error, Result};

/// The fragments annotations may refer to, by file name, and the slides' sizes where known.
#[derive(Debug, Clone, Default)]
pub struct FragmentLookup {
    by_name: BTreeMap<String, Fragment>,
    by_stem: HashMap<String, Vec<String>>,
    slide_sizes: BTreeMap<String, (u32, u32)>,
}

/// `name` without a directory part.
pub(crate) fn base_name(name: &str) -> &str {
    name.rsplit(['/', '\\']).next().unwrap_or(name)
}

/// `name` without directory and without its last extension, as Makesense derives the names of
/// YOLO and VOC files (`/\.[^/.]+$/` replaced).
pub(crate) fn stem(name: &str) -> &str {
    let base = base_name(name);
    match base.rsplit_once('.') {
        Some((stem, ext)) if !ext.is_empty() => stem,
        _ => base,
    }
}

impl FragmentLookup {
    /// An empty lookup.
    pub fn new() -> Self {
        Self::default()
    }

    /// Fragments from file names; names that carry no fragment codec (the overview, the
    /// manifest, ...) are skipped, since a folder of fragments holds those too.
    ///
    /// ```
    /// use histoseg_core::annotations::FragmentLookup;
    /// let lookup = FragmentLookup::from_names(["s [d=2,x=10,y=20,w=30,h=40].jpg", "s.overview.jpg"]);
    /// assert_eq!(lookup.len(), 1);
    /// let (name, f) = lookup.find("s [d=2,x=10,y=20,w=30,h=40].txt").unwrap();
    /// assert_eq!((name, f.x, f.y), ("s [d=2,x=10,y=20,w=30,h=40].jpg", 10, 20));
    /// ```
    pub fn from_names<S: AsRef<str>>(names: impl IntoIterator<Item = S>) -> Self {
        let mut lookup = Self::new();
        for name in names {
            let name = base_name(name.as_ref());
            if let Ok(fragment) = Fragment::parse(name) {
                lookup.insert(name, fragment);
            }
        }
        lookup
    }

    /// Adds the fragments (and slide sizes) recorded in the `manifest.json` that
    /// `histoseg extract` writes; `file` names it in errors.
    pub fn add_manifest(&mut self, file: &str, json: &str) -> Result<()> {
        let manifest = Manifest::parse(file, json)?;
        let invalid = |problem: String| Error::AnnotationInput {
            file: file.to_owned(),
            line: None,
            problem,
        };
        for slide in manifest.slides {
            let size = (slide.width, slide.height);
            for entry in slide.fragments {
                check_downsample(entry.fragment.downsample, &entry.file)
                    .map_err(|e| invalid(e.to_string()))?;
                self.slide_sizes.insert(entry.fragment.source.clone(), size);
                self.insert(base_name(&entry.file), entry.fragment);
            }
            if let (Some(name), Some(downsample)) = (slide.overview, slide.overview_downsample) {
                let source = stem(base_name(&slide.slide)).to_owned();
                let whole = Rect::new(0, 0, slide.width, slide.height);
                let overview = Fragment::new(source.clone(), whole, downsample)
                    .map_err(|e| invalid(format!("overview '{name}': {e}")))?;
                self.slide_sizes.insert(source, size);
                self.insert(base_name(&name), overview);
            }
        }
        Ok(())
    }

    /// Adds (or replaces) one fragment under its file name.
    pub fn insert(&mut self, name: &str, fragment: Fragment) {
        if self.by_name.insert(name.to_owned(), fragment).is_none() {
            self.by_stem
                .entry(stem(name).to_owned())
                .or_default()
                .push(name.to_owned());
        }
    }

    /// How many fragments are known.
    pub fn len(&self) -> usize {
        self.by_name.len()
    }

    /// Whether no fragment is known.
    pub fn is_empty(&self) -> bool {
        self.by_name.is_empty()
    }

    /// Every fragment with its file name, in name order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Fragment)> {
        self.by_name.iter().map(|(n, f)| (n.as_str(), f))
    }

    /// The size of the slide `source` (a fragment's `source`), where a manifest gave it.
    pub fn slide_size(&self, source: &str) -> Option<(u32, u32)> {
        self.slide_sizes.get(source).copied()
    }

    /// The fragment an export names: the same file name (directory ignored), or else the only
    /// fragment with the same name up to the extension.
    pub fn find(&self, name: &str) -> Option<(&str, &Fragment)> {
        let base = base_name(name);
        if let Some((n, f)) = self.by_name.get_key_value(base) {
            return Some((n.as_str(), f));
        }
        match self.by_stem.get(stem(base)).map(Vec::as_slice) {
            Some([only]) => self
                .by_name
                .get_key_value(only)
                .map(|(n, f)| (n.as_str(), f)),
            _ => None,
        }
    }

    /// Like [`find`](Self::find), but an error naming the export when no fragment matches.
    pub(crate) fn resolve(&self, at: At<'_>, name: &str) -> Result<(&str, &Fragment)> {
        self.find(name).ok_or_else(|| {
            let hint = match self.by_stem.get(stem(name)) {
                Some(names) if names.len() > 1 => {
                    format!("it is ambiguous between {}", names.join(", "))
                }
                _ if self.is_empty() => "no fragments are known".to_owned(),
                _ => format!(
                    "none of the {} known fragments has that name (e.g. '{}')",
                    self.len(),
                    self.by_name.keys().next().map_or("", String::as_str)
                ),
            };
            at.error(format!("unknown fragment '{name}': {hint}"))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stems_follow_makesense() {
        assert_eq!(
            stem("a/b [d=4,x=1,y=2,w=3,h=4].jpg"),
            "b [d=4,x=1,y=2,w=3,h=4]"
        );
        assert_eq!(stem("noext"), "noext");
    }

    #[test]
    fn manifest_entries_are_found_and_unknown_names_explained() {
        let json = r#"{"slides":[{"slide":"x/s.svs","width":100,"height":50,"fragments":[
            {"file":"s [d=1,x=0,y=0,w=10,h=10].jpg","source":"s","x":0,"y":0,"w":10,"h":10,"downsample":1.0}]}]}"#;
        let mut lookup = FragmentLookup::new();
        lookup.add_manifest("manifest.json", json).expect("valid");
        assert_eq!(lookup.slide_size("s"), Some((100, 50)));
        assert!(lookup.find("s [d=1,x=0,y=0,w=10,h=10].xml").is_some());
        let err = lookup
            .resolve(At::line("e.csv", 2), "other.jpg")
            .expect_err("unknown");
        assert_eq!(
            err.to_string(),
            "e.csv, line 2: unknown fragment 'other.jpg': none of the 1 known fragments has \
             that name (e.g. 's [d=1,x=0,y=0,w=10,h=10].jpg')"
        );
        assert!(lookup.add_manifest("m.json", "{").is_err());
    }

    #[test]
    fn the_overview_maps_back_like_a_fragment() {
        let json = r#"{"slides":[{"slide":"x/s.svs","width":1000,"height":500,
            "overview":"s.overview.jpg","overview_downsample":10.0,"fragments":[]}]}"#;
        let mut lookup = FragmentLookup::new();
        lookup.add_manifest("manifest.json", json).expect("valid");
        let (name, overview) = lookup.find("s.overview.txt").expect("the overview");
        assert_eq!(name, "s.overview.jpg");
        assert_eq!(
            (overview.source.as_str(), overview.image_size()),
            ("s", (100, 50))
        );
        assert_eq!(lookup.slide_size("s"), Some((1000, 500)));
    }

    #[test]
    fn manifest_downsamples_are_checked() {
        for d in ["0.0", "-4.0", "1e308"] {
            let json = format!(
                r#"{{"slides":[{{"slide":"s.svs","width":10,"height":10,"fragments":[
                {{"file":"f.jpg","source":"s","x":0,"y":0,"w":10,"h":10,"downsample":{d}}}]}}]}}"#
            );
            let err = FragmentLookup::new()
                .add_manifest("manifest.json", &json)
                .expect_err(d);
            assert!(err.to_string().starts_with("manifest.json: "), "{err}");
            assert!(err.to_string().contains("downsample"), "{err}");
            let json = format!(
                r#"{{"slides":[{{"slide":"s.svs","width":10,"height":10,
                "overview":"s.overview.jpg","overview_downsample":{d},"fragments":[]}}]}}"#
            );
            assert!(FragmentLookup::new().add_manifest("m.json", &json).is_err());
        }
    }
}
