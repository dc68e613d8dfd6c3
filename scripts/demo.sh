#!/usr/bin/env bash
# Sets up (scripts/setup.sh), builds the CLI in release mode and runs the main job on real data
# from ../shared/data: reads the slides' pyramids (SVS with JPEG and JPEG 2000 tiles, TIFF,
# OME-TIFF), finds the tissue and writes the fragments with their level-0 coordinates in their
# names, then runs the paper's preprocessing chain on a BreCaHAD image. Output: out/demo/.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here/.."
bash scripts/setup.sh
source scripts/env.sh
cargo build --release -p histoseg-cli
histoseg="$CARGO_TARGET_DIR/release/histoseg"
out=out/demo
mkdir -p "$out"

slides=("$HISTOSEG_DATA/slides/cmu-1-small-region.svs" "$HISTOSEG_DATA/slides/kidney-48-5.tif"
        "$HISTOSEG_DATA/slides/cmu1_pyramid_subifds.ome.tif"
        "$HISTOSEG_DATA/slides/tcga-cr-7395-01a-01-ts1.svs")
for slide in "${slides[@]}"; do
  "$histoseg" info "$slide"
  echo
done
"$histoseg" extract "${slides[@]}" -o "$out/fragments"
echo "overviews with the tissue regions drawn: $out/fragments/*.regions.jpg"
echo "fragments and manifest.json:             $out/fragments/"

image="$HISTOSEG_DATA/brecahad/images/Case_1-01.jpg"
"$histoseg" preprocess "$image" -o "$out/Case_1-01.preprocessed.png"
echo "paper's preprocessing chain:             $out/Case_1-01.preprocessed.png"
