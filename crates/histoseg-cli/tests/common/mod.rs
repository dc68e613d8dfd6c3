//! What the CLI tests share: where the real data is and the binary under test.
// Each test file uses what it needs of this module.
#![allow(dead_code)]

use std::path::PathBuf;

use assert_cmd::Command;

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

/// The `histoseg` binary this test run built.
pub fn histoseg() -> Command {
    Command::cargo_bin("histoseg").expect("the histoseg binary is built")
}

/// Runs `cmd`, which must fail, and gives back what it said on stderr.
pub fn failure_message(cmd: &mut Command) -> String {
    let out = cmd.assert().failure().get_output().clone();
    String::from_utf8_lossy(&out.stderr).into_owned()
}
