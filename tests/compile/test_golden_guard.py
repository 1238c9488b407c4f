"""A test run cannot rewrite the golden files: the variable that once made it do so stops it."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from golden_files import UPDATE_VARIABLE
from update_goldens import update

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("value", ["1", "0", ""])
def test_a_run_with_the_update_variable_set_fails_before_any_test(value, tmp_path):
    golden = ROOT / "tests" / "golden" / "pipelines" / "tabular-classification.yaml"
    before = golden.read_bytes()
    env = {**os.environ, UPDATE_VARIABLE: value}

    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "tests/compile/test_golden.py",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode == 4  # pytest's usage error: nothing ran
    assert f"{UPDATE_VARIABLE} is set: golden files are updated only by" in result.stderr
    assert golden.read_bytes() == before


@pytest.mark.parametrize("script", ["scripts/test.sh", ".ci/run"])
def test_the_ci_entry_points_refuse_the_update_variable(script):
    result = subprocess.run(
        ["bash", script, "--collect-only"],
        cwd=ROOT,
        env={**os.environ, UPDATE_VARIABLE: "1"},
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.returncode == 2
    assert "goldens are updated only by" in result.stderr
    assert "setup" not in result.stdout.lower()  # refused before setting anything up


def test_the_update_command_writes_the_golden_files(tmp_path):
    first = update(tmp_path)
    assert f"wrote {tmp_path.name}/pipelines/tabular-classification.yaml" in first
    (tmp_path / "pipelines" / "gone.yaml").write_text("stale", encoding="utf-8")
    again = update(tmp_path)
    assert again == [f"removed {tmp_path.name}/pipelines/gone.yaml"]
    repository = ROOT / "tests" / "golden" / "pipelines" / "tabular-classification.yaml"
    assert (tmp_path / "pipelines" / "tabular-classification.yaml").read_text(
        encoding="utf-8"
    ) == repository.read_text(encoding="utf-8")
