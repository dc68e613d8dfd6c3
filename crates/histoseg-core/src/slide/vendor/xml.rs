//! The little XML reading the vendor formats need, over quick-xml: elements with their
//! attributes and text, in document order.

use quick_xml::events::Event;

/// One element: its name, attributes, the text directly inside it (entity references read as
/// spaces, as the quotes of Philips' number lists are), and its depth.
#[derive(Debug, Clone)]
pub(crate) struct Element {
    pub name: String,
    pub attributes: Vec<(String, String)>,
    pub text: String,
    pub depth: usize,
}

impl Element {
    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Every element of `xml` in document order; a malformed document is an error.
pub(crate) fn elements(xml: &str) -> Result<Vec<Element>, String> {
    let mut reader = quick_xml::Reader::from_str(xml);
    let mut out: Vec<Element> = Vec::new();
    let mut open: Vec<usize> = Vec::new();
    loop {
        let event = reader
            .read_event()
            .map_err(|e| format!("malformed XML metadata: {e}"))?;
        let empty = matches!(event, Event::Empty(_));
        match event {
            Event::Start(e) | Event::Empty(e) => {
                let mut attributes = Vec::new();
                for a in e.attributes() {
                    let a = a.map_err(|e| format!("malformed XML attribute: {e}"))?;
                    let value = a
                        .normalized_value(quick_xml::XmlVersion::Implicit1_0)
                        .map_err(|e| format!("malformed XML attribute: {e}"))?;
                    attributes.push((
                        a.key.local_name().into_inner().to_string(),
                        value.into_owned(),
                    ));
                }
                out.push(Element {
                    name: e.local_name().into_inner().to_string(),
                    attributes,
                    text: String::new(),
                    depth: open.len(),
                });
                if !empty {
                    open.push(out.len() - 1);
                }
            }
            Event::End(_) => {
                open.pop();
            }
            Event::Text(t) => {
                if let Some(&i) = open.last() {
                    out[i].text.push_str(&t.xml10_content());
                }
            }
            Event::GeneralRef(_) => {
                if let Some(&i) = open.last() {
                    out[i].text.push(' ');
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    Ok(out)
}
