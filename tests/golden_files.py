"""The golden compiled YAML files under tests/golden: where they are and how they are compared.

Only ``python -m tests.update_goldens`` writes them; the test run only reads them, and refuses to
start while ``KFP_MLOPS_UPDATE_GOLDEN`` is set (tests/conftest.py), so that no run can rewrite a
golden file and then compare it with itself.
"""

import re
from pathlib import Path

from kfp_mlops.compile import catalog

GOLDEN = Path(__file__).parent / "golden"
UPDATE_VARIABLE = "KFP_MLOPS_UPDATE_GOLDEN"
UPDATE_COMMAND = ".venv/bin/python -m tests.update_goldens"
_IMAGE = re.compile(r"^(\s+image: ).+$", flags=re.M)
_SDK = re.compile(r"^sdkVersion: .+$", flags=re.M)


def normalize(text: str) -> str:
    """Drops what may change without the pipeline changing: the SDK version and image references."""
    return _SDK.sub("sdkVersion: IGNORED", _IMAGE.sub(r"\1IGNORED", text))


def cases() -> list[str]:
    """``pipelines/NAME`` and ``components/NAME`` for everything compiled."""
    return [f"pipelines/{name}" for name in catalog.pipelines()] + [
        f"components/{name}" for name in catalog.components()
    ]
