#!/usr/bin/env bash
# One training step (forward, BCE + Dice, backward, Adam) of each model at full width on a
# 4x3x256x256 batch: burn (ours) against PyTorch, same architecture, in the same run, and the
# ratio PyTorch time / burn time (above 1: we are faster).
#
# Usage: bash bench/train_step.sh [DEVICE] [STEPS]
#   DEVICE cpu (default): burn's CPU backend vs PyTorch CPU, both on every core.
#   DEVICE gpu: burn-wgpu vs PyTorch CUDA (on a machine with an NVIDIA GPU).
# Sets up a PyTorch venv under $HISTOSEG_CACHE on first use (about 1 GB from PyPI).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/env.sh
DEVICE=${1:-cpu}
STEPS=${2:-3}
source bench/torch_venv.sh
# The dev profile: every dependency (burn included) is built at opt-level 2 there, and the test
# command has already built it; a release build of burn costs another ~25 minutes on 2 cores.
cargo build -q --workspace --examples
BURN="$CARGO_TARGET_DIR/debug/examples/train_step"
THREADS=$(nproc)
burn_device=$([ "$DEVICE" = gpu ] && echo wgpu || echo cpu)
torch_device=$([ "$DEVICE" = gpu ] && echo cuda || echo cpu)
printf "%-15s %-8s %12s %12s %8s\n" model device "burn s/step" "torch s/step" "ratio"
for model in unet unet-resnet50; do
  ours=$("$BURN" "$model" "$burn_device" 4 256 "$STEPS")
  peer=$("$TORCH_VENV/bin/python" bench/train_step_torch.py "$model" "$torch_device" 4 256 "$STEPS" "$THREADS")
  echo "  burn:    $ours" >&2
  echo "  pytorch: $peer" >&2
  python3 - "$model" "$DEVICE" "$ours" "$peer" <<'PY'
import json, sys
model, device, ours, peer = sys.argv[1], sys.argv[2], json.loads(sys.argv[3]), json.loads(sys.argv[4])
print(f"{model:<15} {device:<8} {ours['step_s']:>12.3f} {peer['step_s']:>12.3f} {peer['step_s'] / ours['step_s']:>7.2f}x")
PY
done
