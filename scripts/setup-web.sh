#!/usr/bin/env bash
# Installs what the browser library needs: the wasm32 target, wasm-bindgen-cli at exactly the
# pinned wasm-bindgen version, Debian's Chromium, and the npm package's devDependencies.
# Safe to run again: it skips what is already there.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$here/env.sh"

rustup target list --installed | grep -qx wasm32-unknown-unknown \
  || rustup target add wasm32-unknown-unknown

# The CLI must match the `wasm-bindgen = "=X"` pin of the root Cargo.toml. Installed without
# --locked: with it the install fails on webpki-roots (../shared/TOOLCHAIN.md).
pinned="$(sed -n 's/^wasm-bindgen = "=\([0-9.]*\)"/\1/p' "$here/../Cargo.toml")"
if [ "$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')" != "$pinned" ]; then
  cargo install wasm-bindgen-cli --version "$pinned"
fi

if [ ! -x /usr/bin/chromium ]; then
  if ! apt-get install -y chromium; then
    apt-get update
    apt-get install -y chromium
  fi
fi

web="$here/../web"
stamp="$web/node_modules/.histoseg-lock"
if ! cmp -s "$web/package-lock.json" "$stamp"; then
  (cd "$web" && npm ci --no-audit --no-fund)
  cp "$web/package-lock.json" "$stamp"
fi
