"""Fixtures of the deployment tests: Model directories, and a fake Kubernetes API server."""

from pathlib import Path

import pytest
from deployment.fake_kube_api import FakeKubeApi
from deployment.model_dirs import fit_pipeline, write_model_dir

from kfp_mlops.components.common.tables import read_parquet


@pytest.fixture(scope="session")
def breast_cancer_model(tmp_path_factory, breast_cancer_splits) -> tuple[Path, dict]:
    """A Model directory fitted on the breast-cancer train split, and its metadata."""
    train = read_parquet(breast_cancer_splits["train"]).to_pandas()
    folder = tmp_path_factory.mktemp("model") / "model"
    return folder, write_model_dir(folder, fit_pipeline(train), train)


@pytest.fixture(scope="session")
def kube_server():
    """The fake Kubernetes API server (fake_kube_api.py) on 127.0.0.1, for the whole session."""
    fake = FakeKubeApi()
    with fake.running():
        yield fake


@pytest.fixture
def kube(kube_server, tmp_path, monkeypatch) -> FakeKubeApi:
    """The fake API server, emptied, and a kubeconfig pointing at it in ``KUBECONFIG``."""
    kube_server.reset()
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    monkeypatch.setenv("KUBECONFIG", str(kube_server.kubeconfig(tmp_path / "kubeconfig")))
    return kube_server
