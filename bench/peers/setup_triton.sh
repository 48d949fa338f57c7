#!/usr/bin/env bash
# The Triton peer's environment (issue 17): a Python 3.12 venv with a shared libpython (PyTriton's Python
# backend embeds it) holding nvidia-pytriton, which bundles tritonserver and runs on the CPU here, plus
# ONNX Runtime, numpy and pydantic for the callable (sketchprep comes from the checkout via PYTHONPATH).
# Idempotent: a venv that already imports everything is left as it is. Prints the venv's python at the end.
#
#   bash bench/peers/setup_triton.sh                 # -> bench/.venv-triton (git-ignored)
#   SKETCHQ_TRITON_VENV=/tmp/vt PY312=/usr/bin/python3.12 bash bench/peers/setup_triton.sh
#
# ONNX Runtime is pinned to the version of the service's venv (ORT_VERSION, else that of $SKETCHQ_PYTHON,
# default .venv/bin/python of the checkout) so that both run the same kernels and their answers can be
# compared to 1e-6.
set -euo pipefail
BENCH=$(cd "$(dirname "$0")/.." && pwd)
REPO=$(dirname "$BENCH")
VENV=${SKETCHQ_TRITON_VENV:-$BENCH/.venv-triton}  # bench/stacks.py reads the same variable
PY312=${PY312:-/root/.pyenv/versions/3.12.1/bin/python3.12}
PYTRITON_VERSION=${PYTRITON_VERSION:-0.7.0}
SKETCHQ_PYTHON=${SKETCHQ_PYTHON:-$REPO/.venv/bin/python}

if [ -z "${ORT_VERSION:-}" ] && [ -x "$SKETCHQ_PYTHON" ]; then
  ORT_VERSION=$("$SKETCHQ_PYTHON" -c 'import onnxruntime; print(onnxruntime.__version__)' 2>/dev/null || true)
fi
ORT_SPEC="onnxruntime${ORT_VERSION:+==$ORT_VERSION}"

if [ ! -x "$PY312" ]; then
  echo "setup_triton: no Python 3.12 at $PY312 (set PY312 to one built with --enable-shared)" >&2
  exit 2
fi
LIBDIR=$("$PY312" -c 'import sysconfig; print(sysconfig.get_config_var("LIBDIR"))')
if [ "$("$PY312" -c 'import sysconfig; print(sysconfig.get_config_var("Py_ENABLE_SHARED"))')" != 1 ]; then
  echo "setup_triton: $PY312 has no shared libpython (PyTriton's Python backend needs one)" >&2
  exit 2
fi

check() {
  LD_LIBRARY_PATH="$LIBDIR${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" "$VENV/bin/python" -c \
    'import pytriton, onnxruntime, numpy, pydantic; from importlib.metadata import version as v; print("pytriton", v("nvidia-pytriton"), "onnxruntime", onnxruntime.__version__)' 2>/dev/null
}

if [ -x "$VENV/bin/python" ] && found=$(check) && [[ "$found" == "pytriton $PYTRITON_VERSION onnxruntime ${ORT_VERSION:-}"* ]]; then
  echo "setup_triton: $VENV is ready ($found)" >&2
else
  [ -x "$VENV/bin/python" ] || "$PY312" -m venv "$VENV"
  "$VENV/bin/python" -m pip install -q --upgrade pip
  "$VENV/bin/python" -m pip install -q "nvidia-pytriton==$PYTRITON_VERSION" "$ORT_SPEC" numpy "pydantic>=2.7"
  found=$(check) || { echo "setup_triton: the venv at $VENV does not import pytriton/onnxruntime" >&2; exit 1; }
  echo "setup_triton: installed into $VENV ($found)" >&2
fi
echo "$VENV/bin/python"
