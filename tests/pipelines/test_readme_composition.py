"""The README's composition example (the data scientist's), run exactly as written.

It ends in a metric gate and a lone ``dsl.If`` on its ``approved`` output, which kfp.local 2.17
alone skips; run through ``run_locally``, as the README shows, the branch runs.
"""

import ast
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

README = Path(__file__).resolve().parents[2] / "README.md"


def _composition_example() -> str:
    text = README.read_text(encoding="utf-8")
    start = text.index("**A data scientist**")
    return re.search(r"```python\n(.*?)```", text[start:], flags=re.S).group(1)


def test_the_readme_composition_runs_its_gated_branch(tmp_path: Path, breast_cancer_csv: Path):
    example = _composition_example()
    assert "dsl.Else" not in example and 'dsl.If(gate.outputs["approved"]' in example
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "breast_cancer.csv").write_bytes(breast_cancer_csv.read_bytes())
    (tmp_path / "example.py").write_text(example, encoding="utf-8")
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"
    finished = subprocess.run(
        [sys.executable, "example.py"],
        cwd=tmp_path,
        env={**os.environ, "PATH": path},
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert finished.returncode == 0, finished.stderr[-3000:]
    status, steps = finished.stdout.strip().splitlines()[-1].split(" ", 1)
    assert status == "succeeded"
    assert ast.literal_eval(steps) == {
        "resolve-data-version": "succeeded",
        "ingest-dataset": "succeeded",
        "validate-dataset": "succeeded",
        "split-dataset": "succeeded",
        "train-sklearn": "succeeded",
        "evaluate-classifier": "succeeded",
        "metric-gate": "succeeded",
        "serve-check": "succeeded",
    }
