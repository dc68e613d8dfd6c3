#!/usr/bin/env bash
# The reader against OpenSlide 4.0.1 (the venv's openslide-bin) on the vendor samples, same run:
# an overview (ours: `Slide::overview`; OpenSlide: `get_thumbnail`) and a 2048 x 2048 level-0
# region from the middle of level 0, each on a freshly opened slide, median of REPEATS; then the
# peak memory (GNU time) of a process that only opens and reads the region.
#
# Usage: bash bench/slides_vs_openslide.sh [REPEATS]   (default 7)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/env.sh
REPEATS=${1:-7}
MAX_SIDE=1024
SIDE=2048
[ -x /usr/bin/time ] || { apt-get update -qq && apt-get install -y -qq time; }
bash scripts/setup.sh > /dev/null
cargo build --release -q -p histoseg-core --example time_slide_read
OURS="$CARGO_TARGET_DIR/release/examples/time_slide_read"
PY="$HISTOSEG_VENV/bin/python"
V="$HISTOSEG_DATA/slides/vendors"
SLIDES=("$V/ndpi/hamamatsu-test3-dapi.ndpi" "$V/philips/cmu-1-small-region-philips.tiff"
        "$V/leica/cmu-1-small-region-leica.scn" "$V/ventana/cmu-1-small-region-ventana.bif"
        "$V/aperio-33003/cmu-1-small-region-jp2k-33003.svs" "$HISTOSEG_DATA/slides/cmu-1-small-region.svs")

peak_kib() { /usr/bin/time -f "%M" -o /tmp/histoseg-peak.txt "$@" > /dev/null; cat /tmp/histoseg-peak.txt; }
ratio() { awk "BEGIN{ if ($2 > 0) printf \"%.2fx\", $1 / $2; else print \"-\" }"; }

printf "%-42s %9s %9s %7s %9s %9s %7s %8s %8s\n" slide ovw_ms os_ms ratio region_ms os_ms ratio ours_MB os_MB
for s in "${SLIDES[@]}"; do
  read -r oo orr < <("$OURS" "$s" $MAX_SIDE $SIDE "$REPEATS")
  read -r po pr < <("$PY" bench/openslide_read.py "$s" $MAX_SIDE $SIDE "$REPEATS")
  om=$(peak_kib "$OURS" "$s" $MAX_SIDE $SIDE 1 region)
  pm=$(peak_kib "$PY" bench/openslide_read.py "$s" $MAX_SIDE $SIDE 1 region)
  printf "%-42s %9s %9s %7s %9s %9s %7s %8d %8d\n" "$(basename "$s")" "$oo" "$po" "$(ratio "$po" "$oo")" \
    "$orr" "$pr" "$(ratio "$pr" "$orr")" $((om / 1024)) $((pm / 1024))
done
echo "ratios = OpenSlide ms / histoseg ms (higher is faster for histoseg); overview long side $MAX_SIDE,"
echo "region ${SIDE} x ${SIDE} px at level 0 (the whole level where it is smaller); peak memory of a"
echo "process that opens the slide and reads the region once (OpenSlide's includes the Python runtime)."
