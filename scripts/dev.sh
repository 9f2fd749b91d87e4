#!/usr/bin/env bash
# One-command set-up on a fresh machine.
#   bash scripts/dev.sh serve   install, then run the service on SQLite with the bundled model and sample KB
#   bash scripts/dev.sh test    install, then run ruff, the knowledge-base check and the tests (SQLite and PostgreSQL)
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
. .venv/bin/activate
export PIP_DISABLE_PIP_VERSION_CHECK=1
# CPU-only PyTorch first: sentence-transformers would otherwise pull the CUDA build (several GB).
# On this project's machines pip finds the CPU wheel locally; elsewhere add
#   --index-url https://download.pytorch.org/whl/cpu
python -c "import torch" 2>/dev/null || pip install --quiet "torch==2.13.0"
pip install --quiet -e ".[dev]"
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1

case "${1:-serve}" in
  serve)
    shift || true
    exec bhxh-bot serve --host "${HOST:-127.0.0.1}" --port "${PORT:-8000}" "$@"
    ;;
  test)
    shift || true
    ruff check .
    bhxh-bot kb validate
    exec pytest "$@"
    ;;
  *)
    echo "usage: bash scripts/dev.sh [serve|test]" >&2
    exit 2
    ;;
esac
