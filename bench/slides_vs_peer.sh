#!/usr/bin/env bash
# `histoseg overview` and `histoseg extract` against the peer (../shared/peers/seed2_extract.py:
# large_image + tifffile + OpenCV, the paper's own stack) on the same slides in the same run.
#
# The peer reads an overview, detects tissue and writes the fragments cut from the overview, so
# `histoseg extract` with the peer's parameters (--max-side 2048 --gap 20 --min-area 2500,
# fragments at the overview's downsample) does the same work; `histoseg overview` is the read
# step alone, compared with the peer's own timing of its read step.
#
# Usage: bash bench/slides_vs_peer.sh [RUNS]   (RUNS defaults to 3; each figure is the best run)
# Sets up what it needs: GNU time (Debian), the peer's venv (.peer, git-ignored), and a
# 100,000 x 80,000 synthetic BigTIFF under bench/out/ on first use (made by our own writer).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/env.sh
RUNS=${1:-3}
OUT=bench/out
PEER=../shared/peers/seed2_extract.py
PEER_PY=.peer/bin/python
mkdir -p "$OUT"

[ -x /usr/bin/time ] || { apt-get update -qq && apt-get install -y -qq time; }
if [ ! -x .peer/bin/python ]; then
  python3 -m venv .peer
  .peer/bin/pip install --quiet --disable-pip-version-check -r ../shared/peers/requirements.txt
fi

cargo build --release -q -p histoseg-cli
BIN="$CARGO_TARGET_DIR/release/histoseg"
SYN="$OUT/synthetic-100000x80000.tif"
if [ ! -s "$SYN" ]; then
  HISTOSEG_SYNTH_OUT="$PWD/$SYN" cargo bench -q -p histoseg-core --bench slide_overview
fi
SLIDES=("$HISTOSEG_DATA/slides/cmu-1-small-region.svs"
        "$HISTOSEG_DATA/slides/cmu1_generic_tiled_pyramid_jpeg.tif"
        "$HISTOSEG_DATA/slides/cmu1_pyramid_subifds.ome.tif"
        "$HISTOSEG_DATA/slides/kidney-48-5.tif" "$SYN")

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
ratio() { awk "BEGIN{ if ($2 > 0 && \"$1\" != \"nan\") printf \"%.1fx\", $1 / $2; else print \"-\" }"; }

printf "%-38s %8s %9s %7s %10s %11s %8s %8s %7s\n" slide extract_s peer_s ratio overview_s \
  peer_read_s ratio ours_MB peer_MB
for s in "${SLIDES[@]}"; do
  rm -rf "$OUT/ours" "$OUT/peer"
  # The synthetic tissue is pale pink: Otsu on red (ours and the peer's alike) keeps only its
  # dark specks, so both get the same fixed level there and write real fragments.
  level=0
  [ "$s" = "$SYN" ] && level=238
  threshold=(--threshold "$( [ $level = 0 ] && echo otsu || echo $level )")
  read -r et em < <(best_of "$BIN" extract "$s" -o "$OUT/ours" --quiet --max-side 2048 \
    --gap 20 --min-area 2500 "${threshold[@]}")
  read -r ot _ < <(best_of "$BIN" overview "$s" -o "$OUT/ours.jpg" --max-side 2048)
  : > "$OUT/stdout.txt"
  read -r pt pm < <(best_of "$PEER_PY" "$PEER" "$s" "$OUT/peer" --max-side 2048 --threshold $level)
  pr=$(grep -o 'read [0-9.]*s' "$OUT/stdout.txt" | tr -d 'reads ' | sort -g | head -1)
  fragments="$(ls "$OUT/ours" | grep -c -v -e '\.overview\.jpg$' -e '\.regions\.jpg$' -e manifest.json)"
  peer_fragments="$(grep -o 'fragments [0-9]*' "$OUT/stdout.txt" | tail -1 | cut -d' ' -f2)"
  echo "  $(basename "$s"): fragments ours $fragments, peer ${peer_fragments:-?}" >> "$OUT/fragments.txt"
  printf "%-38s %8s %9s %7s %10s %11s %8s %8d %7d\n" "$(basename "$s")" "$et" "$pt" \
    "$(ratio "$pt" "$et")" "$ot" "${pr:-nan}" "$(ratio "${pr:-nan}" "$ot")" $((em / 1024)) $((pm / 1024))
done
cat "$OUT/fragments.txt"; rm -f "$OUT/fragments.txt"
echo "ratios = peer seconds / histoseg seconds (whole processes, best of $RUNS, same run):"
echo "  first: extract end to end; second: the peer's own read-step timing / histoseg overview"
