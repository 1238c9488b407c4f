#!/usr/bin/env bash
# Run a compiled pipeline with the plain kfp CLI and exit as `kfp-mlops submit --wait` does:
# 0 succeeded, 1 failed (or canceled), 3 succeeded but a gate rejected the model.
#
#   KFP_ENDPOINT=https://kfp.example.com PIPELINE_FILE=dist/pipelines/tabular-classification.yaml \
#   EXPERIMENT=ci RUN_NAME=ci-$GITHUB_SHA bash scripts/kfp-run-create.sh data_uri=s3://b/d.csv target_column=y
#
# Needs kfp (the kfp package, in KFP_PYTHON: python3 by default) and jq. KF_PIPELINES_TOKEN, when
# set, is the bearer token. The kfp CLI takes a token only as --existing-token (with --endpoint
# given, kfp 2.17's Client applies no other credentials: kfp/client/client.py), and a command
# line is readable by every user of the machine (ps, /proc/PID/cmdline); so the CLI runs inside
# Python, which adds the token to its own sys.argv from the environment: it is never in an argv.
# POLL_SECONDS: seconds between reads (30). DEADLINE_SECONDS: give up waiting after this long
# (21600, 6 hours) and exit 1; the run itself is left running.
set -euo pipefail
kfp_cli() {
  "${KFP_PYTHON:-python3}" -c '
import os, sys
from kfp.cli.__main__ import main
token = os.environ.get("KF_PIPELINES_TOKEN")
sys.argv = ["kfp", *(["--existing-token", token] if token else []), *sys.argv[1:]]
sys.exit(main())' --endpoint "$KFP_ENDPOINT" --output json "$@"
}
deadline=$((SECONDS + ${DEADLINE_SECONDS:-21600}))

# `run create` prints two "... details: URL" lines before the run's JSON.
created=$(kfp_cli run create --experiment-name "$EXPERIMENT" --run-name "$RUN_NAME" \
  --package-file "$PIPELINE_FILE" "$@")
run_id=$(sed -n '/^{/,$p' <<<"$created" | jq -r .run_id)
echo "run $run_id started"

while :; do
  run=$(kfp_cli run get "$run_id")
  state=$(jq -r .state <<<"$run")
  case "$state" in SUCCEEDED | FAILED | CANCELED | SKIPPED) break ;; esac
  if ((SECONDS >= deadline)); then
    echo "run $run_id still $state after ${DEADLINE_SECONDS:-21600} s (DEADLINE_SECONDS); stopped waiting, the run goes on"
    exit 1
  fi
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
