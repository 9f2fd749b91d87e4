#!/usr/bin/env bash
# One-command set-up on a fresh machine.
#   bash scripts/dev.sh serve   install, then run the service on SQLite with the bundled model and sample KB
#   bash scripts/dev.sh test    install, then run ruff, mypy, the import contract, the knowledge-base check and every
#                               tier of tests (SQLite and PostgreSQL, two workers); plain `pytest` runs only the fast
#                               in-process tier
#   bash scripts/dev.sh demo    install, then run the fake Zalo/Meta platforms on :9000 and the service on :8000
#                               wired to them; chat with: .venv/bin/python scripts/fake_platforms.py citizen
#   bash scripts/dev.sh audit   install, then check every installed dependency against the PyPI/OSV advisory
#                               databases (pip-audit; needs access to PyPI's JSON API or to the OSV service,
#                               fails if it has neither)
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
. .venv/bin/activate
export PIP_DISABLE_PIP_VERSION_CHECK=1
# CPU-only PyTorch first: sentence-transformers would otherwise pull the CUDA build (several GB).
# On this project's machines pip finds the CPU wheel locally (its own configuration); on a machine without
# a local CPU wheel, point pip at PyTorch's CPU wheel index (its --index-url, or PIP_INDEX_URL).
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
    # the console's browser tests drive Debian's chromium (never a browser downloaded at run time)
    if [ ! -x /usr/bin/chromium ] && command -v apt-get >/dev/null; then
      SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo -n"
      $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
      $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null
    fi
    ruff check .
    # the type check of app/ and webhooks/ and the import contract (pyproject.toml; docs/testing.md)
    mypy
    lint-imports
    bhxh-bot kb validate
    # every tier (docs/testing-tiers.md): in-process, e2e, browser, fuzz and slow, on SQLite and PostgreSQL,
    # in two pytest-xdist workers (most of an e2e test is waiting for a process); PYTEST_WORKERS=0 runs them in one
    exec pytest -m "" -n "${PYTEST_WORKERS:-2}" "$@"
    ;;
  demo)
    python scripts/fake_platforms.py serve --port 9000 \
      --echo-zalo-to http://127.0.0.1:8000/webhooks/zalo --echo-messenger-to http://127.0.0.1:8000/webhooks/facebook &
    fake=$!
    trap 'kill $fake 2>/dev/null' EXIT
    # a fresh demo database: the fake platforms start from their initial tokens every time
    rm -f data/demo.db data/demo.db-wal data/demo.db-shm
    export DATABASE_URL=sqlite:///data/demo.db
    export ZALO_APP_ID=1234567890123456789 ZALO_OA_SECRET_KEY=test_oa_secret_key ZALO_APP_SECRET=test_app_secret_zalo \
      ZALO_ACCESS_TOKEN=zalo-at-0 ZALO_REFRESH_TOKEN=zalo-rt-0 \
      ZALO_API_BASE=http://127.0.0.1:9000 ZALO_OAUTH_BASE=http://127.0.0.1:9000 \
      FB_APP_ID=555000111 FB_APP_SECRET=test_app_secret FB_PAGE_ACCESS_TOKEN=fb-page-token FB_VERIFY_TOKEN=demo \
      FB_GRAPH_BASE=http://127.0.0.1:9000
    bhxh-bot serve --host 127.0.0.1 --port 8000
    ;;
  audit)
    # --strict: a dependency that could not be checked (no access to the advisory database) is a failure,
    # not a silent pass; --skip-editable: this project itself is not on PyPI
    exec pip-audit --strict --skip-editable --progress-spinner off "${@:2}"
    ;;
  *)
    echo "usage: bash scripts/dev.sh [serve|test|demo|audit]" >&2
    exit 2
    ;;
esac
