#!/usr/bin/env bash
# The main job: set up, compile every pipeline and component, then run tabular-classification on this
# machine on scikit-learn's breast-cancer data and print what happened.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export PATH="$PWD/.venv/bin:$PATH"

kfp-mlops compile --out dist
kfp-mlops sample-data breast-cancer data/breast_cancer.csv
kfp-mlops run tabular-classification \
  --param data_uri="$PWD/data/breast_cancer.csv" \
  --param target_column=target "$@"
