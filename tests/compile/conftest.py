"""Everything compiled once per test session."""

from pathlib import Path

import pytest

from kfp_mlops.compile.compiler import compile_all


@pytest.fixture(scope="session")
def compiled_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder holding pipelines/NAME.yaml and components/NAME.yaml for everything we ship."""
    out = tmp_path_factory.mktemp("dist")
    compile_all(out)
    return out
