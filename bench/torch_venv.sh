# The PyTorch peer's venv, made under $HISTOSEG_CACHE on first use (about 1 GB from PyPI);
# sourced by the benchmarks after scripts/env.sh. Sets TORCH_VENV.
TORCH_VENV="$HISTOSEG_CACHE/torch-venv"
if [ ! -x "$TORCH_VENV/bin/python" ] || ! "$TORCH_VENV/bin/python" -c "import torch" 2>/dev/null; then
  python3 -m venv "$TORCH_VENV"
  "$TORCH_VENV/bin/pip" install --quiet --disable-pip-version-check torch==2.9.1 numpy==2.4.6
fi
