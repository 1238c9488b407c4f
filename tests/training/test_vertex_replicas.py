"""train_pytorch as a multi-replica Vertex AI CustomJob: each replica one node of one DDP training.

The replicas are two processes on this machine, each running train_pytorch through KFP's own
executor (what the CustomJob's container runs) with the CLUSTER_SPEC Vertex AI sets (the format
of https://cloud.google.com/vertex-ai/docs/training/distributed-training; see
components/training/vertex_cluster.py), the primary's address being 127.0.0.1 and a free port.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from support.torch_training import digits_splits
from support.trainer_nodes import free_port

from kfp_mlops.components.common.errors import ComponentInputError
from kfp_mlops.components.common.torch_artifact import MANIFEST_FILE
from kfp_mlops.components.training.vertex_cluster import ReplicaPlace, replica_place

PRIMARY = "cmle-training-workerpool0-ab-0:2222"
WORKERS = ["cmle-training-workerpool1-ab-0:2222", "cmle-training-workerpool1-ab-1:2222"]


def cluster_spec(pool: str, index: int, cluster: dict | None = None) -> dict[str, str]:
    cluster = cluster or {"workerpool0": [PRIMARY], "workerpool1": WORKERS}
    spec = {"cluster": cluster, "environment": "cloud", "task": {"type": pool, "index": index}}
    return {"CLUSTER_SPEC": json.dumps(spec)}


def test_the_primary_is_node_0_and_the_master():
    place = replica_place(cluster_spec("workerpool0", 0))

    assert place == ReplicaPlace(3, 0, "cmle-training-workerpool0-ab-0", 2222)
    assert place.primary
    assert place.torchrun_options() == [
        "--nnodes=3",
        "--node-rank=0",
        "--master-addr=cmle-training-workerpool0-ab-0",
        "--master-port=2222",
    ]


def test_a_worker_replica_is_node_1_plus_its_index():
    place = replica_place(cluster_spec("workerpool1", 1))

    assert (place.nodes, place.node_rank, place.primary) == (3, 2, False)
    assert place.master_addr == "cmle-training-workerpool0-ab-0"


def test_no_cluster_spec_or_one_replica_trains_as_before():
    assert replica_place({}) is None
    assert replica_place(cluster_spec("workerpool0", 0, {"workerpool0": [PRIMARY]})) is None


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"CLUSTER_SPEC": "{not json"}, "CLUSTER_SPEC is not Vertex AI's cluster description"),
        ({"CLUSTER_SPEC": '{"cluster": {}}'}, "CLUSTER_SPEC is not Vertex AI's cluster"),
        (
            cluster_spec("workerpool0", 0, {"workerpool0": [PRIMARY], "workerpool2": WORKERS}),
            "CLUSTER_SPEC has worker pools workerpool2",
        ),
        (cluster_spec("workerpool1", 5), "this replica (workerpool1 #5) is not one"),
        (
            cluster_spec("workerpool0", 0, {"workerpool0": ["primary"], "workerpool1": WORKERS}),
            "address 'primary' is not host:port",
        ),
    ],
)
def test_a_cluster_spec_that_is_not_vertexs_is_refused(environ, message):
    with pytest.raises(ComponentInputError, match=message.replace("(", r"\(").replace(")", r"\)")):
        replica_place(environ)


EXECUTOR = """
import json, sys
from kfp.dsl.executor import Executor
from kfp_mlops.components.training import train_pytorch
Executor(json.loads(sys.argv[1]), train_pytorch.python_func).execute()
"""


def artifact(name: str, schema: str, uri: str) -> dict:
    entry = {"name": name, "type": {"schemaTitle": schema}, "uri": uri, "metadata": {}}
    return {"artifacts": [entry]}


def executor_input(digits: dict[str, str], model_uri: str, output_file: Path) -> dict:
    """What the CustomJob's container gets for train_pytorch (KFP's executor input)."""
    return {
        "inputs": {
            "parameterValues": {
                "target_column": "target",
                "architecture": "mlp",
                "hyperparameters": {"hidden_sizes": [32]},
                "max_epochs": 6,
                "learning_rate": 0.01,
                "checkpoint_every": 2,
            },
            "artifacts": {
                "train": artifact("train", "system.Dataset", digits["train"]),
                "validation": artifact("validation", "system.Dataset", digits["validation"]),
            },
        },
        "outputs": {
            "artifacts": {"model": artifact("model", "system.Model", model_uri)},
            "outputFile": str(output_file),
        },
    }


@pytest.mark.slow
def test_two_replicas_train_one_model_and_only_the_primary_writes_the_outputs(tmp_path):
    (tmp_path / "digits").mkdir()
    digits = digits_splits(tmp_path / "digits")
    model_uri = str(tmp_path / "gcs" / "model")  # what every replica sees under /gcs
    port = free_port()
    cluster = {"workerpool0": [f"127.0.0.1:{port}"], "workerpool1": [f"127.0.0.1:{port}"]}
    replicas = []
    for pool, folder in (("workerpool0", "primary"), ("workerpool1", "worker")):
        output_file = tmp_path / folder / "executor_output.json"
        environment = {**os.environ, "OMP_NUM_THREADS": "1", **cluster_spec(pool, 0, cluster)}
        argument = json.dumps(executor_input(digits, model_uri, output_file))
        log = (tmp_path / f"{folder}.log").open("w")
        replicas.append(
            subprocess.Popen(
                [sys.executable, "-c", EXECUTOR, argument],
                env=environment,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        )
    try:
        codes = [replica.wait(timeout=600) for replica in replicas]
    finally:
        for replica in replicas:
            replica.kill()

    primary_log = (tmp_path / "primary.log").read_text()
    assert codes == [0, 0], primary_log[-3000:] + (tmp_path / "worker.log").read_text()[-3000:]
    output = json.loads((tmp_path / "primary" / "executor_output.json").read_text())
    (model,) = output["artifacts"]["model"]["artifacts"]
    assert model["metadata"]["processes"] == 2  # one training over both replicas
    assert model["metadata"]["validation_accuracy"] >= 0.9
    assert not (tmp_path / "worker" / "executor_output.json").exists()
    manifest = json.loads((Path(model_uri) / MANIFEST_FILE).read_text())
    assert manifest["feature_columns"] == model["metadata"]["feature_columns"]
    assert "--nnodes=2 --node-rank=0" in primary_log
    assert "--nnodes=2 --node-rank=1" in (tmp_path / "worker.log").read_text()
    assert "epoch " not in (tmp_path / "worker.log").read_text()  # rank 0 logs the epochs
