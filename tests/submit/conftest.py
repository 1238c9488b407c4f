"""Fixtures of the submit and schedule tests: the fake KFP API server, a compiled pipeline."""

from collections.abc import Iterator
from pathlib import Path

import kfp
import pytest
from support.fake_kfp import FakeKfp

from kfp_mlops.compile.compiler import compile_to_text
from kfp_mlops.components import images
from kfp_mlops.pipelines import tabular_classification


@pytest.fixture(scope="session")
def fake_server() -> Iterator[FakeKfp]:
    """One fake Kubeflow Pipelines API server on 127.0.0.1 for the whole session."""
    with FakeKfp() as server:
        yield server


@pytest.fixture
def fake_kfp(fake_server: FakeKfp, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> FakeKfp:
    """The fake server, emptied; the kfp client's context file and kube config kept out of HOME,
    and no KFP or token setting inherited from the environment."""
    fake_server.reset()
    monkeypatch.setattr(kfp.Client, "_LOCAL_KFP_CONTEXT", str(tmp_path / "context.json"))
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "no-kube-config"))
    for name in (
        "KF_PIPELINES_ENDPOINT",
        "KF_PIPELINES_UI_ENDPOINT",
        "KF_PIPELINES_TOKEN",
        "KF_PIPELINES_SA_TOKEN_PATH",
        "KF_PIPELINES_IAP_OAUTH2_CLIENT_ID",
        "KUBERNETES_SERVICE_HOST",
    ):
        monkeypatch.delenv(name, raising=False)
    return fake_server


@pytest.fixture(scope="session")
def compiled_pipeline(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """tabular-classification compiled to YAML, as ``kfp-mlops compile`` writes it."""
    path = tmp_path_factory.mktemp("compiled") / "tabular-classification.yaml"
    path.write_text(
        compile_to_text(tabular_classification, images.DEFAULT_SETTINGS), encoding="utf-8"
    )
    return path
