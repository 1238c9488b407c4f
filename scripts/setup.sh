#!/usr/bin/env bash
# Creates .venv and installs kfp-mlops with every extra and the pinned versions of constraints.txt.
# Re-running it is cheap: it reinstalls only when pyproject.toml or constraints.txt changed.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
"$PYTHON" - <<'PY'
import sys
if sys.version_info[:2] != (3, 11):
    sys.exit(f"kfp-mlops is pinned and tested on Python 3.11; {sys.executable} is {sys.version.split()[0]}")
PY

stamp=.venv/.kfp-mlops-installed
wanted=$(cat pyproject.toml constraints.txt | sha256sum | cut -d' ' -f1)
if [[ -f $stamp && $(cat "$stamp") == "$wanted" ]]; then
  exit 0
fi
[[ -x .venv/bin/python ]] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[all,dev]'
echo "$wanted" > "$stamp"
