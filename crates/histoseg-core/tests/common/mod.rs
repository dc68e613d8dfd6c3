//! What the core's tests on real data share: where that data is.

use std::path::PathBuf;

/// `path` inside the shared data: `$HISTOSEG_DATA` (as the browser tests read it), else
/// `../shared/data` beside the project.
pub fn shared(path: &str) -> PathBuf {
    std::env::var_os("HISTOSEG_DATA")
        .map_or_else(
            || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"),
            PathBuf::from,
        )
        .join(path)
}
