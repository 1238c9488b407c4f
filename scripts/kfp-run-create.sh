#!/usr/bin/env bash
# Run a compiled pipeline with the plain kfp CLI and exit as `kfp-mlops submit --wait` does:
# 0 succeeded, 1 failed (or canceled), 3 succeeded but a gate rejected the model.
#
#   KFP_ENDPOINT=https://kfp.example.com PIPELINE_FILE=dist/pipelines/tabular-classification.yaml \
#   EXPERIMENT=ci RUN_NAME=ci-$GITHUB_SHA bash scripts/kfp-run-create.sh data_uri=s3://b/d.csv target_column=y
#
# Needs kfp (the `kfp` command) and jq. KF_PIPELINES_TOKEN, when set, is passed as the kfp CLI's
# --existing-token (its only way to take a token). POLL_SECONDS: seconds between reads (30).
set -euo pipefail
kfp_cli=(kfp --endpoint "$KFP_ENDPOINT" --output json)
if [[ -n "${KF_PIPELINES_TOKEN:-}" ]]; then
  kfp_cli+=(--existing-token "$KF_PIPELINES_TOKEN")
fi

# `run create` prints two "... details: URL" lines before the run's JSON.
created=$("${kfp_cli[@]}" run create --experiment-name "$EXPERIMENT" --run-name "$RUN_NAME" \
  --package-file "$PIPELINE_FILE" "$@")
run_id=$(sed -n '/^{/,$p' <<<"$created" | jq -r .run_id)
echo "run $run_id started"

while :; do
  run=$("${kfp_cli[@]}" run get "$run_id")
  state=$(jq -r .state <<<"$run")
  case "$state" in SUCCEEDED | FAILED | CANCELED | SKIPPED) break ;; esac
  sleep "${POLL_SECONDS:-30}"
done
jq -r '.run_details.task_details[]? | "  \(.state)  \(.display_name)"' <<<"$run"

if [[ "$state" != SUCCEEDED ]]; then
  echo "run $run_id $state: $(jq -r '.error.message // "no message"' <<<"$run")"
  exit 1
fi
rejected='[.run_details.task_details[]?
  | select((.display_name | test("^record-rejection(-[0-9]+)?$")) and .state == "SUCCEEDED")]
  | length > 0'
if jq -e "$rejected" <<<"$run" >/dev/null; then
  echo "run $run_id succeeded, but a gate rejected the model"
  exit 3
fi
echo "run $run_id succeeded"
