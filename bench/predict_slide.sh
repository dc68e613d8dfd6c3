#!/usr/bin/env bash
# Whole-slide nuclei prediction with the shipped model on CMU-1's small region (6.6 megapixels):
# end to end (tissue, windows at the model's resolution, prediction, outlines, measurements,
# GeoJSON) in slide megapixels and nuclei a second; then the network alone, ours (burn) against
# the same U-Net in PyTorch on the same cores and the same tiles, and the ratio PyTorch time /
# ours (above 1: we are faster).
#
# Usage: bash bench/predict_slide.sh [SLIDE] [BATCHES]
# Sets up the PyTorch venv of bench/train_step.sh on first use.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/env.sh
SLIDE=${1:-$HISTOSEG_DATA/slides/cmu-1-small-region.svs}
BATCHES=${2:-5}
source bench/torch_venv.sh
# The dev profile builds burn and our own crates optimised (see Cargo.toml); the test command
# has already built it.
cargo build -q --workspace --examples
BIN="$CARGO_TARGET_DIR/debug/histoseg"
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
THREADS=$(nproc)

for device in cpu auto; do
  start=$(date +%s.%N)
  "$BIN" predict --quiet --device "$device" "$SLIDE" -o "$OUT/$device" > "$OUT/$device.log" 2> "$OUT/$device.err"
  end=$(date +%s.%N)
  python3 - "$device" "$start" "$end" "$OUT/$device" "$(grep '^device:' "$OUT/$device.err" || true)" <<'PY'
import glob, json, sys
device, start, end, out, said = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), sys.argv[4], sys.argv[5]
features = json.load(open(glob.glob(out + "/*.nuclei.geojson")[0]))["features"]
regions = [f for f in features if f["properties"]["objectType"] == "annotation"]
nuclei = sum(f["properties"]["objectType"] == "detection" for f in features)
def area(f):
    xs = [p[0] for p in f["geometry"]["coordinates"][0]]
    ys = [p[1] for p in f["geometry"]["coordinates"][0]]
    return (max(xs) - min(xs)) * (max(ys) - min(ys))
mp = sum(map(area, regions)) / 1e6
s = end - start
print(f"predict --device {device:<5} {s:7.1f} s  {mp:.2f} slide megapixels of tissue regions  "
      f"{mp / s:.3f} MP/s  {nuclei} nuclei  {nuclei / s:.0f} nuclei/s  ({said.removeprefix('device: ')})")
PY
done

ours=$("$CARGO_TARGET_DIR/debug/examples/infer_step" models/nuclei-default.hsm cpu 4 256 "$BATCHES")
peer=$("$TORCH_VENV/bin/python" bench/infer_step_torch.py 8 4 256 "$BATCHES" "$THREADS")
echo "  burn:    $ours" >&2
echo "  pytorch: $peer" >&2
python3 - "$ours" "$peer" <<'PY'
import json, sys
ours, peer = json.loads(sys.argv[1]), json.loads(sys.argv[2])
print(f"network, 4 x 256 x 256 tiles on the CPU: burn {ours['batch_s']:.3f} s, "
      f"PyTorch {peer['batch_s']:.3f} s, ratio {peer['batch_s'] / ours['batch_s']:.2f}x")
PY
