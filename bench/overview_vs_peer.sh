#!/usr/bin/env bash
# Times `histoseg overview` against the peer (../shared/peers/seed2_extract.py, large_image +
# tifffile) on the same slides in the same run, and prints the ratio and peak memory.
#
# Usage: bench/overview_vs_peer.sh [RUNS]   (from the repository root; RUNS defaults to 3)
# Needs: the peer venv (.peer, see ../shared/peers/README.md) and GNU time (/usr/bin/time).
# Makes a 100,000 x 80,000 synthetic slide under bench/out/ on first use (not committed).
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-3}
MAX_SIDE=2048
TARGET=${CARGO_TARGET_DIR:-target}
OUT=bench/out
PEER_PY=${PEER_PY:-.peer/bin/python}
PEER=${PEER:-../shared/peers/seed2_extract.py}
DATA=${DATA:-../shared/data/slides}
mkdir -p "$OUT"

cargo build --release -q -p histoseg-cli
BIN="$TARGET/release/histoseg"

SYN="$OUT/synthetic-100000x80000.tif"
if [ ! -s "$SYN" ]; then
  HISTOSEG_SYNTH_OUT="$PWD/$SYN" cargo bench -q -p histoseg-core --bench slide_overview
fi

SLIDES=("$DATA/cmu-1-small-region.svs" "$DATA/cmu1_generic_tiled_pyramid_jpeg.tif"
        "$DATA/cmu1_pyramid_subifds.ome.tif" "$DATA/kidney-48-5.tif" "$SYN")

# best_of CMD...: prints "seconds peak_kib" of the fastest of $RUNS runs.
best_of() {
  local best="" mem=0
  for _ in $(seq "$RUNS"); do
    /usr/bin/time -f "%e %M" -o "$OUT/time.txt" "$@" >> "$OUT/stdout.txt" 2> "$OUT/stderr.txt" || {
      echo "FAILED: $*" >&2; cat "$OUT/stderr.txt" >&2; echo "nan 0"; return; }
    read -r t m < "$OUT/time.txt"
    if [ -z "$best" ] || awk "BEGIN{exit !($t < $best)}"; then best=$t; fi
    [ "$m" -gt "$mem" ] && mem=$m
  done
  echo "$best $mem"
}

printf "%-40s %8s %8s %7s %11s %7s %7s %7s\n" \
  slide ours_s peer_s ratio peer_read_s ratio2 ours_MB peer_MB
for s in "${SLIDES[@]}"; do
  : > "$OUT/stdout.txt"
  read -r ht hm < <(best_of "$BIN" overview "$s" -o "$OUT/ours.jpg" --max-side "$MAX_SIDE")
  : > "$OUT/stdout.txt"
  read -r pt pm < <(best_of "$PEER_PY" "$PEER" "$s" "$OUT/peer" --max-side "$MAX_SIDE")
  # The peer's own timing of its overview step (after Python imports), best run.
  pr=$(grep -o 'read [0-9.]*s' "$OUT/stdout.txt" | tr -d 'reads ' | sort -g | head -1)
  pr=${pr:-nan}
  ratio=$(awk "BEGIN{ if ($ht > 0) printf \"%.1fx\", $pt / $ht; else print \"-\" }")
  ratio2=$(awk "BEGIN{ if ($ht > 0 && \"$pr\" != \"nan\") printf \"%.1fx\", $pr / $ht; else print \"-\" }")
  printf "%-40s %8s %8s %7s %11s %7s %7d %7d\n" "$(basename "$s")" "$ht" "$pt" "$ratio" \
    "$pr" "$ratio2" $((hm / 1024)) $((pm / 1024))
done
echo "ratio  = peer wall time / histoseg wall time (whole processes, best of $RUNS, same run)"
echo "ratio2 = peer's own 'read' time (overview only, Python imports excluded) / histoseg wall time"
