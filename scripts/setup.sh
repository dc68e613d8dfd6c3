#!/usr/bin/env bash
# Installs what histoseg needs on a fresh machine of the project's kind (Debian, Rust by rustup,
# Python 3): the wasm32 target and a Python venv with the reference tools (OpenCV) the tests
# and benchmarks compare against. Safe to run again: it skips what is already there.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$here/env.sh"

rustup target list --installed | grep -qx wasm32-unknown-unknown \
  || rustup target add wasm32-unknown-unknown

requirements="$here/../tests/requirements.txt"
stamp="$HISTOSEG_VENV/.requirements"
if ! cmp -s "$requirements" "$stamp"; then
  python3 -m venv "$HISTOSEG_VENV"
  "$HISTOSEG_VENV/bin/pip" install --quiet --disable-pip-version-check -r "$requirements"
  cp "$requirements" "$stamp"
fi
