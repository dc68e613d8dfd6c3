//! Names taken from files (a manifest's slide source, a fragment name, a dataset's source) made
//! safe to use as a file name inside an output folder: never a path, never `..`, no control
//! characters.

/// The longest name kept, in bytes (file systems allow 255).
const MAX_BYTES: usize = 200;

/// `name` reduced to a plain file name: its last path component (`/` and `\` both separate),
/// control characters (NUL included) removed, cut to 200 bytes. `None` when nothing usable
/// is left (empty, `.` or `..`).
///
/// ```
/// use histoseg_core::safe_name::safe_file_name;
/// assert_eq!(safe_file_name("CMU-1.svs").as_deref(), Some("CMU-1.svs"));
/// assert_eq!(safe_file_name("../../etc/passwd").as_deref(), Some("passwd"));
/// assert_eq!(safe_file_name("/abs/slide.svs").as_deref(), Some("slide.svs"));
/// assert_eq!(safe_file_name("..").as_deref(), None);
/// ```
pub fn safe_file_name(name: &str) -> Option<String> {
    let last = name
        .split(['/', '\\'])
        .map(str::trim)
        .rfind(|part| !part.is_empty())?;
    let mut clean: String = last.chars().filter(|c| !c.is_control()).collect();
    if clean.len() > MAX_BYTES {
        let mut end = MAX_BYTES;
        while !clean.is_char_boundary(end) {
            end -= 1;
        }
        clean.truncate(end);
    }
    let clean = clean.trim().to_string();
    match clean.as_str() {
        "" | "." | ".." => None,
        _ => Some(clean),
    }
}

/// The stem of a file name given by a user or a file (a dropped file's name, a manifest's
/// source): [`safe_file_name`] without its last extension, `slide` when nothing is left. The
/// fragments' names, and so every entry of the page's zip exports, start with it.
///
/// ```
/// use histoseg_core::safe_name::safe_stem;
/// assert_eq!(safe_stem("CMU-1.svs"), "CMU-1");
/// assert_eq!(safe_stem("..\\..\\evil.svs"), "evil");
/// assert_eq!(safe_stem(".."), "slide");
/// ```
pub fn safe_stem(name: &str) -> String {
    let Some(file) = safe_file_name(name) else {
        return "slide".to_owned();
    };
    let stem = match file.rsplit_once('.') {
        Some((stem, _)) if !stem.trim().is_empty() => stem.trim(),
        _ => file.as_str(),
    };
    match stem {
        "." | ".." => "slide".to_owned(),
        _ => stem.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_names_become_plain_names_or_nothing() {
        for (name, want) in [
            ("slide", Some("slide")),
            ("H&E slide.svs", Some("H&E slide.svs")),
            ("../../x", Some("x")),
            ("a/../../b/", Some("b")),
            ("C:\\Users\\x\\..\\evil", Some("evil")),
            ("/etc/cron.d/job", Some("job")),
            ("sl\0ide", Some("slide")),
            ("..", None),
            ("../..", None),
            ("", None),
            ("/", None),
            ("\0", None),
        ] {
            assert_eq!(safe_file_name(name).as_deref(), want, "{name:?}");
        }
        let long = "é".repeat(300);
        let cut = safe_file_name(&long).expect("kept");
        assert!(cut.len() <= MAX_BYTES && cut.chars().all(|c| c == 'é'));
    }
}
