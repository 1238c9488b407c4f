"""This replica's place in a multi-replica Vertex AI CustomJob, read from ``CLUSTER_SPEC``.

``kfp-mlops compile --target vertex --gpu PROFILE --nodes N`` runs ``train_pytorch`` as a Vertex
CustomJob of N replicas: google-cloud-pipeline-components 2.22.0
(``google_cloud_pipeline_components/v1/custom_job/utils.py``,
``create_custom_training_job_from_component``) puts one replica in worker pool 0 (the primary) and
N - 1 identical ones in worker pool 1, each running the same component container.

What Vertex AI gives each replica is the ``CLUSTER_SPEC`` environment variable (Vertex AI's
"Distributed training" page, https://cloud.google.com/vertex-ai/docs/training/distributed-training,
section on ``CLUSTER_SPEC``; google-cloud-aiplatform 1.165.1 reads it in
``google/cloud/aiplatform/training_utils/environment_variables.py``): JSON holding ``cluster``
(worker pool name to its replicas' ``host:port``, e.g. ``{"workerpool0":
["cmle-training-workerpool0-ab-0:2222"], "workerpool1": [...]}``) and ``task`` (this replica's
``type``, its worker pool, and ``index`` in it). That page names ``CLUSTER_SPEC`` (and TF_CONFIG)
as what training code reads; the MASTER_ADDR/RANK variables of AI Platform Training's PyTorch guide
(https://cloud.google.com/ai-platform/training/docs/distributed-pytorch) are described for its
prebuilt PyTorch containers, and our image is a custom one, so the training reads ``CLUSTER_SPEC``
alone:

- node rank: 0 for the primary (``workerpool0``), ``1 + index`` for ``workerpool1`` replicas;
- nodes: one plus the replicas of ``workerpool1``;
- master address and port: the primary's ``host:port`` (DeepMind's xmanager,
  ``xmanager/cloud/utils.py`` ``get_master_address_port``, runs PyTorch on Vertex the same way).

:func:`.torch_train.train_pytorch_to_directory` then starts torchrun on each replica with these as
``--nnodes``, ``--node-rank``, ``--master-addr`` and ``--master-port``. Only the primary's rank 0
writes the Model; KFP's executor writes the step's output metadata only on the primary (kfp 2.17.0,
``kfp/dsl/executor.py`` ``write_executor_output``: with ``CLUSTER_SPEC`` set, only a task of type
``workerpool0``, ``chief`` or ``master`` writes it). Every replica reaches the inputs, the Model
and the checkpoints under Vertex's Cloud Storage mount ``/gcs`` (kfp 2.17.0
``kfp/dsl/types/artifact_types.py`` maps ``gs://`` artifact URIs there).
"""

import dataclasses
import json
import os
from collections.abc import Mapping

from kfp_mlops.components.common.errors import ComponentInputError

PRIMARY_POOL = "workerpool0"
WORKER_POOL = "workerpool1"


@dataclasses.dataclass(frozen=True)
class ReplicaPlace:
    """Where this replica stands among the CustomJob's replicas (one training node each).

    Attributes:
        nodes: Replicas of the CustomJob (training nodes).
        node_rank: This replica's node rank: 0 for the primary.
        master_addr: The primary's host name.
        master_port: The primary's port.
    """

    nodes: int
    node_rank: int
    master_addr: str
    master_port: int

    @property
    def primary(self) -> bool:
        """True on the replica whose rank 0 writes the Model and the step's outputs."""
        return self.node_rank == 0

    def torchrun_options(self) -> list[str]:
        """The torchrun options that put this node in the job (static rendezvous at the primary)."""
        return [
            f"--nnodes={self.nodes}",
            f"--node-rank={self.node_rank}",
            f"--master-addr={self.master_addr}",
            f"--master-port={self.master_port}",
        ]


def _address(entry: object) -> tuple[str, int]:
    host, _, port = str(entry).rpartition(":")
    if not host or not port.isdigit():
        raise ComponentInputError(
            f"CLUSTER_SPEC: the primary replica's address {entry!r} is not host:port"
        )
    return host, int(port)


def replica_place(environ: Mapping[str, str] | None = None) -> ReplicaPlace | None:
    """This replica's place, or None outside a CustomJob of more than one replica.

    Args:
        environ: The environment to read; by default this process's.

    Raises:
        ComponentInputError: ``CLUSTER_SPEC`` is not what Vertex AI writes, or the job has worker
            pools a data-parallel training has no use for (parameter servers, evaluators).
    """
    text = (os.environ if environ is None else environ).get("CLUSTER_SPEC", "")
    if not text:
        return None
    try:
        spec = json.loads(text)
        cluster, task = dict(spec["cluster"]), dict(spec["task"])
        pool, index = str(task["type"]), int(task["index"])
        primaries = list(cluster[PRIMARY_POOL])
        workers = list(cluster.get(WORKER_POOL) or [])
    except (ValueError, TypeError, KeyError) as error:
        raise ComponentInputError(
            f"CLUSTER_SPEC is not Vertex AI's cluster description ({error!r} missing or wrong)"
        ) from None
    extra = sorted(set(cluster) - {PRIMARY_POOL, WORKER_POOL})
    if extra:
        raise ComponentInputError(
            f"CLUSTER_SPEC has worker pools {', '.join(extra)}: data-parallel training uses only "
            f"{PRIMARY_POOL} (one replica) and {WORKER_POOL}"
        )
    if len(primaries) != 1:
        raise ComponentInputError(
            f"CLUSTER_SPEC: {PRIMARY_POOL} has {len(primaries)} replicas; Vertex AI requires one"
        )
    if not workers:
        return None
    if pool == PRIMARY_POOL and index == 0:
        rank = 0
    elif pool == WORKER_POOL and 0 <= index < len(workers):
        rank = 1 + index
    else:
        raise ComponentInputError(
            f"CLUSTER_SPEC: this replica ({pool} #{index}) is not one of the cluster's"
        )
    host, port = _address(primaries[0])
    return ReplicaPlace(1 + len(workers), rank, host, port)
