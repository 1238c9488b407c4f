#!/usr/bin/env bash
# The tests: set up, lint and format check, then the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -n "${KFP_MLOPS_UPDATE_GOLDEN+set}" ]; then
    echo "KFP_MLOPS_UPDATE_GOLDEN is set: goldens are updated only by" \
        "'.venv/bin/python -m tests.update_goldens', never by a test run; unset it" >&2
    exit 2
fi
bash scripts/setup.sh
bash scripts/system-packages.sh
export PATH="$PWD/.venv/bin:$PATH"

ruff check .
ruff format --check .
pytest "$@"
