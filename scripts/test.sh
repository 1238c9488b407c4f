#!/usr/bin/env bash
# The tests: set up, lint and format check, then the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/system-packages.sh
export PATH="$PWD/.venv/bin:$PATH"

ruff check .
ruff format --check .
pytest "$@"
