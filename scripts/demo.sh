#!/usr/bin/env bash
# Sets up (scripts/setup.sh), builds the CLI in release mode and runs it on real data from
# ../shared/data: the paper's preprocessing chain on BreCaHAD and TNBC images, and the pixel
# scores table on TNBC masks. Output: out/demo/.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here/.."
bash scripts/setup.sh
source scripts/env.sh
cargo build --release -p histoseg-cli
histoseg="$CARGO_TARGET_DIR/release/histoseg"
out=out/demo
mkdir -p "$out"

for image in "$HISTOSEG_DATA/brecahad/images/Case_1-01.jpg" "$HISTOSEG_DATA/tnbc/Slide_01/01_1.png"; do
  name="$(basename "${image%.*}")"
  "$histoseg" preprocess "$image" -o "$out/$name.preprocessed.png"
  echo "preprocessed $image -> $out/$name.preprocessed.png"
done

echo
echo "Pixel scores of the TNBC Slide_01 ground truth against itself and against Slide_02's:"
"$histoseg" metrics --pred "$HISTOSEG_DATA"/tnbc/GT_01/01_1.png "$HISTOSEG_DATA"/tnbc/GT_02/02_1.png \
  --truth "$HISTOSEG_DATA"/tnbc/GT_01/01_1.png "$HISTOSEG_DATA"/tnbc/GT_01/01_1.png
