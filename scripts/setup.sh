#!/usr/bin/env bash
# Installs what histoseg needs on a fresh machine of the project's kind (Debian, Rust by rustup,
# Python 3): the wasm32 target and a Python venv with the reference tools (OpenCV) the tests
# and benchmarks compare against. Safe to run again: it skips what is already there.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$here/env.sh"

# Debian packages: Mesa's software Vulkan driver (lavapipe), so burn-wgpu runs without a GPU.
packages=()
compgen -G "/usr/share/vulkan/icd.d/lvp_icd*.json" >/dev/null || packages+=(mesa-vulkan-drivers libvulkan1)
if [ ${#packages[@]} -gt 0 ]; then
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${packages[@]}"
fi

rustup target list --installed | grep -qx wasm32-unknown-unknown \
  || rustup target add wasm32-unknown-unknown

requirements="$here/../tests/requirements.txt"
stamp="$HISTOSEG_VENV/.requirements"
if ! cmp -s "$requirements" "$stamp"; then
  python3 -m venv "$HISTOSEG_VENV"
  "$HISTOSEG_VENV/bin/pip" install --quiet --disable-pip-version-check -r "$requirements"
  cp "$requirements" "$stamp"
fi

# The browser library: wasm-bindgen-cli, Chromium, npm packages.
bash "$here/setup-web.sh"
