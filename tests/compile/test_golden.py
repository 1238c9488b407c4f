"""Golden compiled YAML: a change to what we compile shows up as a reviewed diff.

The comparison ignores the KFP SDK version line and the image references. To accept a change,
run ``.venv/bin/python -m tests.update_goldens`` (its own command: this test only reads the files)
and review the diff of tests/golden.
"""

import difflib
from pathlib import Path

import pytest
from golden_files import GOLDEN, UPDATE_COMMAND, cases, normalize


@pytest.mark.parametrize("case", cases())
def test_compiled_yaml_matches_golden(case: str, compiled_dir: Path):
    produced = normalize((compiled_dir / f"{case}.yaml").read_text(encoding="utf-8"))
    golden_path = GOLDEN / f"{case}.yaml"
    assert golden_path.exists(), f"no golden file {golden_path}; run {UPDATE_COMMAND}"
    expected = golden_path.read_text(encoding="utf-8")
    if produced != expected:
        diff = "".join(
            difflib.unified_diff(
                expected.splitlines(keepends=True),
                produced.splitlines(keepends=True),
                f"golden/{case}.yaml",
                "compiled",
            )
        )
        pytest.fail(
            f"{case} differs from its golden file; if intended, run {UPDATE_COMMAND}\n"
            f"{diff[:20000]}"
        )


def test_no_stale_golden_files():
    expected = {f"{case}.yaml" for case in cases()}
    present = {str(path.relative_to(GOLDEN)) for path in GOLDEN.rglob("*.yaml")}
    assert present <= expected, f"golden files for things no longer compiled: {present - expected}"
