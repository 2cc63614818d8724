#!/usr/bin/env bash
# The Python parts the ONNX, PyTorch and third-party-server tests use, on a bare Debian machine:
#   - Debian's python3-torch (CPU) and python3-sklearn (its handwritten digits data set), and
#     python3-venv, from Debian's packages (apt; as root);
#   - a virtual environment at .venv (seeing those system packages) with onnxruntime, the
#     reference the server's answers are compared with (not the onnx package: its releases need
#     numpy 2, and Debian's torch and scipy are built for numpy 1), and fastapi, uvicorn, gunicorn and
#     prometheus-client for the Python serving images, from the package index pip is set up with.
# Idempotent: when everything imports, it only checks (well under a second or two).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=/usr/bin/python3
VENV=.venv
PIP_PACKAGES=(onnxruntime fastapi uvicorn gunicorn prometheus-client)
MODULES="onnxruntime fastapi uvicorn gunicorn prometheus_client torch sklearn"
# Finds the modules without importing them (importing torch takes seconds).
have_all() { "$1" -c "import importlib.util as u, sys; sys.exit(any(u.find_spec(m) is None for m in sys.argv[1:]))" $MODULES; }

if [ -x "$VENV/bin/python" ] && have_all "$VENV/bin/python" 2>/dev/null; then
  exit 0
fi

need=()
"$PY" -c 'import torch' >/dev/null 2>&1 || need+=(python3-torch)
"$PY" -c 'import sklearn' >/dev/null 2>&1 || need+=(python3-sklearn)
"$PY" -c 'import ensurepip, venv' >/dev/null 2>&1 || need+=(python3-venv)
if ((${#need[@]})); then
  if [ "$(id -u)" != 0 ]; then
    echo "python-env: missing ${need[*]}: install them with 'sudo apt-get install -y ${need[*]}' (or run as root)" >&2
    exit 1
  fi
  echo "python-env: installing ${need[*]} from Debian's packages (a few minutes the first time)"
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi

[ -x "$VENV/bin/python" ] || "$PY" -m venv --system-site-packages "$VENV"
echo "python-env: installing ${PIP_PACKAGES[*]} into $VENV"
# numpy stays Debian's (pinned to the version installed): a numpy 2 from pip breaks Debian's torch and scipy.
# No retries: where the default index cannot be reached, pip goes on with the mirrors it is set up with at once.
numpy=$("$PY" -c 'import numpy; print(numpy.__version__)')
"$VENV/bin/python" -m pip install -q --retries 0 --timeout 10 "${PIP_PACKAGES[@]}" "numpy==$numpy"
"$VENV/bin/python" -c "import onnxruntime, torch, sklearn.datasets, fastapi"
