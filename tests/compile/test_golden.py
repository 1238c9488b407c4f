"""Golden compiled YAML: a change to what we compile shows up as a reviewed diff.

The comparison ignores the KFP SDK version line and the image references. To accept a change,
run ``KFP_MLOPS_UPDATE_GOLDEN=1 pytest tests/compile/test_golden.py`` and review the diff of
tests/golden.
"""

import difflib
import os
import re
from pathlib import Path

import pytest

from kfp_mlops.compile import catalog

GOLDEN = Path(__file__).parent.parent / "golden"
_IMAGE = re.compile(r"^(\s+image: ).+$", flags=re.M)
_SDK = re.compile(r"^sdkVersion: .+$", flags=re.M)


def normalize(text: str) -> str:
    """Drops what may change without the pipeline changing: the SDK version and image references."""
    return _SDK.sub("sdkVersion: IGNORED", _IMAGE.sub(r"\1IGNORED", text))


def _cases() -> list[str]:
    return [f"pipelines/{name}" for name in catalog.pipelines()] + [
        f"components/{name}" for name in catalog.components()
    ]


@pytest.mark.parametrize("case", _cases())
def test_compiled_yaml_matches_golden(case: str, compiled_dir: Path):
    produced = normalize((compiled_dir / f"{case}.yaml").read_text(encoding="utf-8"))
    golden_path = GOLDEN / f"{case}.yaml"
    if os.environ.get("KFP_MLOPS_UPDATE_GOLDEN") == "1":
        golden_path.parent.mkdir(parents=True, exist_ok=True)
        golden_path.write_text(produced, encoding="utf-8")
    assert golden_path.exists(), f"no golden file {golden_path}; run with KFP_MLOPS_UPDATE_GOLDEN=1"
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
            f"{case} differs from its golden file; if intended, run "
            f"KFP_MLOPS_UPDATE_GOLDEN=1 pytest tests/compile/test_golden.py\n{diff[:20000]}"
        )


def test_no_stale_golden_files():
    expected = {f"{case}.yaml" for case in _cases()}
    present = {str(path.relative_to(GOLDEN)) for path in GOLDEN.rglob("*.yaml")}
    assert present <= expected, f"golden files for things no longer compiled: {present - expected}"
