#!/usr/bin/env bash
# Mutation testing of the modules that decide (MUTATION.md says what it found and why).
#
#   bash scripts/mutation.sh MODULE [MODULE...]   e.g. bash scripts/mutation.sh gate champion
#   bash scripts/mutation.sh all
#
# For each module: cosmic-ray (pinned in pyproject.toml's `mutation` extra and constraints.txt)
# writes every mutant of the module's file in place, runs the module's tests against it (the
# TESTS entry below, quick tests only, stopping at the first failure), and puts the file back.
# Sessions and reports go to mutation/ (not committed): mutation/MODULE.sqlite and
# mutation/MODULE.txt (the surviving mutants, as diffs). OPERATORS limits the mutation operators
# (a regular expression of operators to skip; MUTATION.md gives the one each recorded score used).
#
# Slow (one pytest process per mutant: minutes to hours per module); not run in CI. Runs at the
# lowest CPU priority, one mutant at a time. Do not edit the module, or run tests that import it,
# while it runs: the file on disk is the mutant. To keep working meanwhile, run it in a copy of
# the clone whose own environment has the copy installed (PYTHON=copy-env/bin/python).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-.venv/bin/python}"  # runs the tests (another environment may be given)
TOOLS="${TOOLS:-.venv/bin}"  # where cosmic-ray is installed
if [ ! -x "$TOOLS/cosmic-ray" ]; then
    "$TOOLS/python" -m pip install -q -c constraints.txt "cosmic-ray==8.7.0"
fi

declare -A FILES=(
    [gate]=components/evaluation/gate.py
    [champion]=components/evaluation/champion.py
    [drift]=components/monitoring/drift.py
    [split]=components/data/split.py
    [validate]=components/data/validate.py
    [rollout]=components/deployment/rollout.py
    [promotion]=components/registry/promotion.py
)
declare -A TESTS=(
    [gate]="tests/evaluation/test_gate.py tests/evaluation/test_champion_bounds.py"
    [champion]="tests/evaluation/test_champion_bounds.py tests/evaluation/test_champion.py"
    [drift]="tests/monitoring/test_psi_values.py tests/monitoring/test_drift.py"
    [split]="tests/data/test_split.py tests/data/test_split_bounds.py"
    [validate]="tests/data/test_validate.py tests/data/test_validate_bounds.py"
    [rollout]="tests/deployment/test_rollout.py tests/deployment/test_rollout_failures.py tests/deployment/test_rollout_bounds.py"
    [promotion]="tests/registry/test_promotion.py"
)
# Skipped everywhere: removing a decorator (dataclass, property) breaks every import at once.
DEFAULT_SKIP='core/RemoveDecorator'
OPERATORS="${OPERATORS:-$DEFAULT_SKIP}"

modules=("$@")
if [ "${#modules[@]}" -eq 0 ]; then
    echo "usage: bash scripts/mutation.sh MODULE... (${!FILES[*]}) | all" >&2
    exit 2
fi
if [ "${modules[0]}" = all ]; then
    modules=(gate champion promotion drift split validate rollout)
fi
mkdir -p mutation
for module in "${modules[@]}"; do
    file="${FILES[$module]:-}"
    if [ -z "$file" ]; then
        echo "unknown module $module; one of: ${!FILES[*]}" >&2
        exit 2
    fi
    config="mutation/$module.toml"
    session="mutation/$module.sqlite"
    cat >"$config" <<TOML
[cosmic-ray]
module-path = "$file"
timeout = 180.0
excluded-modules = []
test-command = "env PYTHONDONTWRITEBYTECODE=1 $PYTHON -m pytest -x -q -p no:cacheprovider -m 'not slow' ${TESTS[$module]}"

[cosmic-ray.distributor]
name = "local"

[cosmic-ray.filters.operators-filter]
exclude-operators = ["$OPERATORS"]
TOML
    rm -f "$session"
    cp "$file" "mutation/$module.original.py"
    find "$(dirname "$file")" -name '__pycache__' -prune -exec rm -rf {} +
    "$TOOLS/cosmic-ray" init "$config" "$session"
    "$TOOLS/cr-filter-operators" "$session" "$config"
    nice -n 19 "$TOOLS/cosmic-ray" exec "$config" "$session"
    cmp -s "$file" "mutation/$module.original.py" || {
        echo "$file was left mutated: the original is mutation/$module.original.py" >&2
        exit 1
    }
    "$TOOLS/cr-report" "$session" | tail -n 3
    "$TOOLS/python" scripts/mutation_survivors.py "$session" >"mutation/$module.txt"
    echo "$module: surviving mutants in mutation/$module.txt"
done
