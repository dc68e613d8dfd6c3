# Shared settings for the project's scripts; sourced, not run.
# Builds and the Python tools live outside the clone so fresh clones (CI) reuse them.
export HISTOSEG_CACHE="${HISTOSEG_CACHE:-$HOME/.cache/histoseg}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HISTOSEG_CACHE/target}"
export HISTOSEG_VENV="$HISTOSEG_CACHE/venv"
export HISTOSEG_DATA="${HISTOSEG_DATA:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/shared/data}"
