//! Pascal VOC XML rectangles: one `<image stem>.xml` per image, an `<annotation>` with the
//! image's `<filename>` and `<size>`, and an `<object>` with `<name>` and `<bndbox>` (`xmin`,
//! `ymin`, `xmax`, `ymax` in image pixels, rounded) per box. Parsed with `quick-xml`.

use quick_xml::escape::escape;
use serde::Deserialize;

use super::super::lookup::stem;
use super::super::{Annotation, At, FragmentLookup, Geometry, Imported};
use super::{Format, OnFragment, js_number, js_round};
use crate::Result;

/// The project name written in `<folder>` and `<path>`.
const PROJECT: &str = "histoseg";

#[derive(Debug, Deserialize)]
struct VocIn {
    filename: String,
    size: Option<SizeIn>,
    #[serde(default, rename = "object")]
    objects: Vec<ObjectIn>,
}

#[derive(Debug, Deserialize)]
struct SizeIn {
    width: f64,
    height: f64,
}

#[derive(Debug, Deserialize)]
struct ObjectIn {
    name: String,
    bndbox: BoxIn,
}

#[derive(Debug, Deserialize)]
struct BoxIn {
    xmin: f64,
    ymin: f64,
    xmax: f64,
    ymax: f64,
}

/// The name of the VOC file for image `image_name`: its extension replaced by `.xml`.
pub fn file_name(image_name: &str) -> String {
    format!("{}.xml", stem(image_name))
}

/// `text` with each `&` that starts no XML reference (`&amp;`, `&lt;`, `&gt;`, `&quot;`,
/// `&apos;`, `&#..;`, `&#x..;`) written as `&amp;`: Makesense writes `<filename>` and `<name>`
/// unescaped, so `H&E slide.jpg` or `T&B cell` would make its own export unreadable. Written by
/// hand because XML readers, quick-xml included, refuse such text rather than recover.
///
/// ```
/// use histoseg_core::annotations::makesense::voc::escape_bare_ampersands;
/// assert_eq!(escape_bare_ampersands("<n>T&B &amp; &#38;</n>"), "<n>T&amp;B &amp; &#38;</n>");
/// ```
pub fn escape_bare_ampersands(text: &str) -> std::borrow::Cow<'_, str> {
    fn starts_reference(rest: &str) -> bool {
        // The longest reference worth reading, `&#x10FFFF;`, ends within 9 bytes.
        let Some(end) = rest.bytes().take(9).position(|b| b == b';') else {
            return false;
        };
        match &rest[..end] {
            "amp" | "lt" | "gt" | "quot" | "apos" => true,
            name => match name.strip_prefix('#') {
                Some(hex) if hex.starts_with('x') => {
                    hex.len() > 1 && hex[1..].chars().all(|c| c.is_ascii_hexdigit())
                }
                Some(dec) => !dec.is_empty() && dec.chars().all(|c| c.is_ascii_digit()),
                None => false,
            },
        }
    }
    if !text.contains('&') {
        return text.into();
    }
    let mut out = String::with_capacity(text.len() + 16);
    let mut pieces = text.split('&');
    out.push_str(pieces.next().unwrap_or_default());
    for piece in pieces {
        out.push_str(if starts_reference(piece) {
            "&"
        } else {
            "&amp;"
        });
        out.push_str(piece);
    }
    out.into()
}

/// Reads one VOC XML file; the fragment is the one its `<filename>` names.
pub fn read(file: &str, text: &str, lookup: &FragmentLookup, out: &mut Imported) -> Result<()> {
    let at = At::file(file);
    let voc: VocIn = quick_xml::de::from_str(&escape_bare_ampersands(text))
        .map_err(|e| at.error(format!("not a Pascal VOC annotation: {e}")))?;
    let (name, fragment) = lookup.resolve(at, &voc.filename)?;
    if let Some(size) = &voc.size {
        out.check_size(at, name, fragment, (size.width, size.height));
    }
    for (i, object) in voc.objects.into_iter().enumerate() {
        let BoxIn {
            xmin,
            ymin,
            xmax,
            ymax,
        } = object.bndbox;
        if xmax < xmin || ymax < ymin {
            return Err(at.error(format!(
                "object {} ('{}'): xmax/ymax ({xmax}, {ymax}) lie before xmin/ymin ({xmin}, {ymin})",
                i + 1,
                object.name
            )));
        }
        let geometry = Geometry::Rect {
            x: xmin,
            y: ymin,
            w: xmax - xmin,
            h: ymax - ymin,
        };
        // xmin .. ymax each rounded to a whole pixel.
        out.add_on_fragment(
            at,
            name,
            fragment,
            Annotation::new(object.name, geometry),
            (0.5, 0.5),
        )?;
    }
    Ok(())
}

/// The VOC XML of one fragment, laid out as Makesense writes it (tab-indented, coordinates
/// rounded), with names XML-escaped; a shape other than a rectangle is an error.
///
/// ```
/// use histoseg_core::annotations::{Annotation, Geometry, makesense::{OnFragment, voc}};
/// use histoseg_core::fragment::Fragment;
/// let name = "s [d=1,x=0,y=0,w=64,h=32].jpg";
/// let f = Fragment::parse(name).unwrap();
/// let a = [Annotation::new("n", Geometry::Rect { x: 1.4, y: 2.0, w: 3.0, h: 4.0 })];
/// let xml = voc::write(OnFragment { name, fragment: &f, annotations: &a }).unwrap();
/// assert!(xml.contains("\t\t<width>64</width>\n\t\t<height>32</height>"));
/// assert!(xml.contains("\t\t\t<xmin>1</xmin>\n\t\t\t<ymin>2</ymin>\n\t\t\t<xmax>4</xmax>"));
/// ```
pub fn write(item: OnFragment<'_>) -> Result<String> {
    let (iw, ih) = item.fragment.image_size();
    let name = escape(item.name);
    let mut lines = vec![
        "<annotation>".to_owned(),
        format!("\t<folder>{PROJECT}</folder>"),
        format!("\t<filename>{name}</filename>"),
        format!("\t<path>/{PROJECT}/{name}</path>"),
        "\t<source>".to_owned(),
        "\t\t<database>Unspecified</database>".to_owned(),
        "\t</source>".to_owned(),
        "\t<size>".to_owned(),
        format!("\t\t<width>{iw}</width>"),
        format!("\t\t<height>{ih}</height>"),
        "\t\t<depth>3</depth>".to_owned(),
        "\t</size>".to_owned(),
    ];
    for a in item.in_fragment_pixels(Format::Voc)? {
        let Geometry::Rect { x, y, w, h } = a.geometry else {
            continue;
        };
        let n = |v: f64| js_number(js_round(v));
        lines.extend([
            "\t<object>".to_owned(),
            format!("\t\t<name>{}</name>", escape(&a.class)),
            "\t\t<pose>Unspecified</pose>".to_owned(),
            "\t\t<truncated>0</truncated>".to_owned(),
            "\t\t<difficult>0</difficult>".to_owned(),
            "\t\t<bndbox>".to_owned(),
            format!("\t\t\t<xmin>{}</xmin>", n(x)),
            format!("\t\t\t<ymin>{}</ymin>", n(y)),
            format!("\t\t\t<xmax>{}</xmax>", n(x + w)),
            format!("\t\t\t<ymax>{}</ymax>", n(y + h)),
            "\t\t</bndbox>".to_owned(),
            "\t</object>".to_owned(),
        ]);
    }
    lines.push("</annotation>".to_owned());
    Ok(lines.join("\n"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const NAME: &str = "s & t [d=4,x=40,y=80,w=400,h=400].jpg";

    #[test]
    fn written_files_read_back_on_the_slide() {
        let lookup = FragmentLookup::from_names([NAME]);
        let (_, f) = lookup.find(NAME).expect("known");
        let a = [Annotation::new(
            "<tumour>",
            Geometry::Rect {
                x: 80.0,
                y: 120.0,
                w: 40.0,
                h: 8.0,
            },
        )];
        let xml = write(OnFragment {
            name: NAME,
            fragment: f,
            annotations: &a,
        })
        .expect("rectangles");
        assert!(xml.contains("<name>&lt;tumour&gt;</name>"), "{xml}");
        let mut out = Imported::default();
        read(&file_name(NAME), &xml, &lookup, &mut out).expect("reads");
        assert_eq!(out.slides["s & t"], a);
        assert!(out.warnings.is_empty());
    }

    #[test]
    fn size_mismatch_warns_and_bad_xml_is_an_error() {
        let lookup = FragmentLookup::from_names([NAME]);
        let xml = "<annotation><filename>s &amp; t [d=4,x=40,y=80,w=400,h=400].jpg</filename>\
                   <size><width>200</width><height>100</height></size><object><name>n</name>\
                   <bndbox><xmin>1</xmin><ymin>1</ymin><xmax>2</xmax><ymax>2</ymax></bndbox>\
                   </object></annotation>";
        let mut out = Imported::default();
        read("a.xml", xml, &lookup, &mut out).expect("reads");
        assert_eq!(out.len(), 1);
        assert!(
            out.warnings[0]
                .to_string()
                .contains("as 200x100 but the fragment image is 100x100")
        );
        let err = read(
            "a.xml",
            "<annotation><filename>x",
            &lookup,
            &mut Imported::default(),
        )
        .expect_err("truncated")
        .to_string();
        assert!(
            err.starts_with("a.xml: not a Pascal VOC annotation"),
            "{err}"
        );
        let bad = xml.replace("<xmax>2</xmax>", "<xmax>two</xmax>");
        assert!(read("a.xml", &bad, &lookup, &mut Imported::default()).is_err());
    }

    #[test]
    fn makesense_unescaped_ampersands_read() {
        // As Makesense writes them: `<filename>` and `<name>` without escaping.
        let lookup = FragmentLookup::from_names([NAME]);
        let xml = "<annotation><filename>s & t [d=4,x=40,y=80,w=400,h=400].jpg</filename>\
                   <object><name>T&B cell</name><bndbox><xmin>1</xmin><ymin>1</ymin>\
                   <xmax>2</xmax><ymax>2</ymax></bndbox></object>\
                   <object><name>a &lt; b &#38; c</name><bndbox><xmin>1</xmin><ymin>1</ymin>\
                   <xmax>2</xmax><ymax>2</ymax></bndbox></object></annotation>";
        let mut out = Imported::default();
        read("a.xml", xml, &lookup, &mut out).expect("reads");
        let classes: Vec<&str> = out.slides["s & t"]
            .iter()
            .map(|a| a.class.as_str())
            .collect();
        assert_eq!(classes, ["T&B cell", "a < b & c"]);
    }
}
