#!/usr/bin/env bash
# Fuzzes every reader of untrusted bytes with cargo fuzz (libFuzzer, nightly Rust): the slide
# reader (TIFF directories, vendor layouts, DICOM, region and overview reads), each tile
# codec, the annotation readers and the fragment-name parser. Each target runs SECONDS
# (default 60) under the limits the project promises: 1 GiB of memory, 10 s an input.
# Seeds: small real files from ../shared/data, tiles encoded from a TNBC image, and the
# hand-written exports in fuzz/seeds. The corpus grows in the cache across runs.
# A finding is saved in the cache and the script fails, printing where: copy the file into
# fuzz/regressions/<target>/, where `cargo test -p histoseg-core --test fuzz_regressions`
# replays it, and fix the reader.
# Usage: bash scripts/fuzz.sh [SECONDS] [TARGET...]
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here/.."
root="$PWD"
source scripts/env.sh
seconds="${1:-60}"
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(slide tile_codecs annotations fragment_name)

tools="$HISTOSEG_CACHE/tools"
export PATH="$tools/bin:$PATH"
rustup toolchain list | grep -q '^nightly' || rustup toolchain install nightly --profile minimal
cargo fuzz --version 2>/dev/null | grep -q ' 0.13.1' \
  || cargo install cargo-fuzz --version 0.13.1 --locked --root "$tools"

export CARGO_TARGET_DIR="$HISTOSEG_CACHE/fuzz-target"
corpus="$HISTOSEG_CACHE/fuzz-corpus"
artifacts="$HISTOSEG_CACHE/fuzz-artifacts"
(cd fuzz && cargo +nightly fuzz build -s none)
"$HISTOSEG_VENV/bin/python" fuzz/make_seeds.py "$HISTOSEG_DATA" "$corpus/seeds"

failed=()
for target in "${targets[@]}"; do
  mkdir -p "$corpus/$target" "$artifacts/$target"
  seeds=()
  for dir in "$corpus/seeds/$target" "$root/fuzz/seeds/$target" "$root/fuzz/regressions/$target"; do
    [ -d "$dir" ] && seeds+=("$dir")
  done
  dict="$root/fuzz/dicts/$target.dict"
  [ -f "$dict" ] || dict="$root/fuzz/dicts/slide.dict"
  echo "== $target: ${seconds} s"
  log="$artifacts/$target.log"
  if (cd fuzz && cargo +nightly fuzz run -s none "$target" "$corpus/$target" "${seeds[@]}" -- \
      -max_total_time="$seconds" -rss_limit_mb=1024 -malloc_limit_mb=1024 -timeout=10 \
      -dict="$dict" -artifact_prefix="$artifacts/$target/" -print_final_stats=1) >"$log" 2>&1; then
    grep -E "^stat::number_of_executed_units|^stat::peak_rss_mb|^Done" "$log" | tr '\n' ' '
    echo
  else
    failed+=("$target")
    tail -40 "$log"
    echo "!! $target found something: $(ls -t "$artifacts/$target" | head -1) in $artifacts/$target (log: $log)"
  fi
done
[ ${#failed[@]} -eq 0 ] || { echo "fuzzing found problems in: ${failed[*]}"; exit 1; }
echo "fuzzing found nothing in ${#targets[@]} target(s), ${seconds} s each"
