#!/usr/bin/env bash
# Reproduces the shipped nuclei model (models/nuclei-default.hsm) from ../shared/data with the
# project's own CLI: builds the training sets (TNBC slides 01-06 and MoNuSeg training images,
# without the held-out test images), trains, exports f16, and evaluates on the held-out images.
# Long: run it in the background (nohup bash scripts/train-default.sh &). A run stopped part
# way continues from its last checkpoint when the script is started again.
#
# Environment: HISTOSEG (the CLI; default: the dev build of the test command), OUT (work
# folder, default out/default-model), EPOCHS (default 40), DEVICE (cpu or wgpu, default cpu),
# SLIM (width divisor, default 8).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here/.."
source scripts/env.sh
histoseg="${HISTOSEG:-$CARGO_TARGET_DIR/debug/histoseg}"
out="${OUT:-out/default-model}"
epochs="${EPOCHS:-40}"
device="${DEVICE:-cpu}"
data="$HISTOSEG_DATA"

# Held out: TNBC slides 07 and 08, and five MoNuSeg images that have instance masks (two
# breast, one each of lung, kidney and prostate). Never trained on, never used for selection.
monuseg_test="TCGA-A7-A13E-01Z-00-DX1,TCGA-E2-A1B5-01Z-00-DX1,TCGA-21-5784-01Z-00-DX1,TCGA-B0-5698-01Z-00-DX1,TCGA-G9-6362-01Z-00-DX1"

mkdir -p "$out"
[ -f "$out/tnbc/dataset.json" ] || "$histoseg" dataset build "$data/tnbc" --layout tnbc \
  --scheme 256p128s --test-groups Slide_07,Slide_08 -o "$out/tnbc"
[ -f "$out/monuseg/dataset.json" ] || "$histoseg" dataset build "$data/monuseg/train" \
  --layout monuseg --scheme 256p128s --test-groups "$monuseg_test" -o "$out/monuseg"

run="$out/run"
# The shipped model's run is committed (models/default-run/: options, state, metrics, last
# checkpoint), so a fresh clone continues it rather than starting over.
if [ ! -f "$run/state.json" ] && [ -f models/default-run/state.json ] && [ "$out" = out/default-model ]; then
  mkdir -p "$run" && cp models/default-run/* "$run/"
fi
if [ -f "$run/state.json" ]; then
  "$histoseg" train --resume --epochs "$epochs" --device "$device" -o "$run"
else
  "$histoseg" train --data "$out/tnbc" --data "$out/monuseg" --model unet --slim "${SLIM:-8}" \
    --device "$device" --batch 8 --lr 2e-3 --weight-map --stain-jitter 1 --epochs "$epochs" \
    --early-stop 12 --seed 1 -o "$run"
fi
"$histoseg" export "$run" -o "$out/nuclei-default.hsm"

"$histoseg" evaluate --device "$device" --model "$out/nuclei-default.hsm" \
  --images "$data/tnbc/Slide_07" --masks "$data/tnbc/GT_07" \
  --images "$data/tnbc/Slide_08" --masks "$data/tnbc/GT_08" | tee "$out/eval-tnbc.txt"
"$histoseg" evaluate --device "$device" --model "$out/nuclei-default.hsm" \
  --images "$data/monuseg/train/Tissue_Images" --masks "$data/monuseg/train/Instance_masks" \
  --only "$monuseg_test" | tee "$out/eval-monuseg.txt"
echo "model: $out/nuclei-default.hsm (copy it to models/ to ship it)"
