"""Train on several nodes with a Kubeflow Trainer TrainJob and hand back train_pytorch's Model.

What :func:`train_distributed_to_directory` does, in order:

1. copies the two splits to ``SHARED/runs/<trainjob>/`` (storage every node reaches, see
   :mod:`.shared_storage`); checkpoints go to ``checkpoint_uri``, by default ``SHARED/checkpoints``,
   where a later TrainJob of the same training (same run key, :mod:`.torch_checkpoints`) finds them
   and resumes;
2. creates the TrainJob (:mod:`.trainjob`), whose nodes run :mod:`.distributed_node`;
3. follows it (:func:`follow`): a watch on the TrainJob with a deadline (the shared layer's
   watch loop, :meth:`~kfp_mlops.components.common.kube_api.CustomObjects.wait_for`), the nodes'
   new log lines relayed after every change or ``poll_seconds`` (rank 0 prints one line per
   epoch), until its ``Complete`` or ``Failed`` condition (the Kubeflow SDK 0.5.0 waits on the
   same two types, ``kubeflow/trainer/constants/constants.py``);
4. on success copies ``SHARED/runs/<trainjob>/model`` (written by rank 0 in train_pytorch's layout)
   into the step's Model folder and returns rank 0's metadata;
5. removes ``SHARED/runs/<trainjob>`` whatever happened (checkpoints stay).

Failure says why in one line: the node's own error when the training refused its input, else the
TrainJob's Failed condition (reason and message), the failing node pod, its exit code and last log
lines. A timeout or a cancellation (SIGTERM, which KFP and Argo send a cancelled step) deletes the
TrainJob, so no node keeps GPUs busy for a step that is gone; a Failed TrainJob is left for
``kubectl describe``.

Two steps racing: each TrainJob has a random name and its own run folder; two trainings with the
same run key share the checkpoint folder, and the later writer's checkpoints win (each file is
whole).
"""

import contextlib
import dataclasses
import json
import signal
import threading
import uuid
from collections.abc import Callable, Iterator

from kfp_mlops.components.common.errors import (
    ComponentError,
    ComponentInputError,
    ExternalSystemError,
)
from kfp_mlops.components.training import shared_storage
from kfp_mlops.components.training.distributed_node import node_arguments
from kfp_mlops.components.training.torch_train import TrainingJob, TrainingSettings
from kfp_mlops.components.training.trainjob import (
    DEFAULT_RUNTIME,
    NodeResources,
    SharedVolume,
    TrainJobRequest,
    build_trainjob,
)
from kfp_mlops.components.training.trainjob_api import NODE_INDEX_LABEL, TrainJobs

LAST_LINES = 10
"""How many of the failing node's last log lines the failure message quotes."""
COMPLETE, FAILED = "Complete", "Failed"


class StepCancelled(Exception):
    """The step received SIGTERM (cancelled in KFP, or its pod is being deleted)."""


@dataclasses.dataclass(frozen=True)
class Cluster:
    """Where and how the TrainJob runs.

    Attributes:
        shared: Storage every node and the step reach: ``s3://``/``gs://`` URI or a path on
            ``volume``.
        image: The nodes' container image.
        nodes: Training nodes.
        processes_per_node: Training processes per node.
        resources: Resources per node.
        node_selector: Node labels the node pods require.
        tolerations: Tolerations of the node pods, as Kubernetes writes them.
        runtime: The ClusterTrainingRuntime.
        volume: The ReadWriteMany PVC holding ``shared`` when it is a path.
        timeout_seconds: The most seconds to wait for the TrainJob before deleting it.
        poll_seconds: The longest pause between two relays of the nodes' logs.
    """

    shared: str
    image: str
    nodes: int = 2
    processes_per_node: int = 1
    resources: NodeResources = dataclasses.field(default_factory=NodeResources)
    node_selector: dict[str, str] = dataclasses.field(default_factory=dict)
    tolerations: tuple[dict[str, object], ...] = ()
    runtime: str = DEFAULT_RUNTIME
    volume: SharedVolume | None = None
    timeout_seconds: float = 86400.0
    poll_seconds: float = 5.0


@contextlib.contextmanager
def sigterm_raises() -> Iterator[None]:
    """Within the block, SIGTERM raises :class:`StepCancelled` (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: object) -> None:
        raise StepCancelled("the step was cancelled (SIGTERM)")

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def condition(trainjob: dict | None, kind: str) -> dict | None:
    """The TrainJob's condition ``kind`` when its status is True."""
    for entry in ((trainjob or {}).get("status") or {}).get("conditions") or []:
        if entry.get("type") == kind and entry.get("status") == "True":
            return entry
    return None


def _node(pod: dict) -> str:
    index = (pod["metadata"].get("labels") or {}).get(NODE_INDEX_LABEL, "?")
    return f"node {index}"


class LogRelay:
    """Echoes the node pods' log lines not echoed yet."""

    def __init__(self, trainjobs: TrainJobs, name: str, echo: Callable[[str], None]) -> None:
        self.trainjobs, self.name, self.echo = trainjobs, name, echo
        self.seen: dict[str, int] = {}

    def relay(self) -> None:
        """Echoes the node pods' log lines not echoed yet, each prefixed by its node."""
        for pod in self.trainjobs.node_pods(self.name):
            if (pod.get("status") or {}).get("phase") not in ("Running", "Succeeded", "Failed"):
                continue
            pod_name = pod["metadata"]["name"]
            lines = self.trainjobs.log(pod_name).splitlines()
            for line in lines[self.seen.get(pod_name, 0) :]:
                self.echo(f"[{_node(pod)}] {line}")
            self.seen[pod_name] = len(lines)


def _exit_code(pod: dict) -> int | None:
    for status in (pod.get("status") or {}).get("containerStatuses") or []:
        terminated = (status.get("state") or {}).get("terminated")
        if terminated and terminated.get("exitCode"):
            return int(terminated["exitCode"])
    return None


def failure_message(trainjobs: TrainJobs, name: str, trainjob: dict) -> str:
    """One line: the Failed condition, the failing node pod, its exit code and last lines."""
    failed = condition(trainjob, FAILED) or {}
    message = (
        f"TrainJob {trainjobs.namespace}/{name} failed: {failed.get('reason', 'no reason')}: "
        f"{failed.get('message', '')}".rstrip(": ")
    )
    for pod in trainjobs.node_pods(name):
        code = _exit_code(pod)
        if (pod.get("status") or {}).get("phase") == "Failed" or code:
            lines = trainjobs.log(pod["metadata"]["name"], tail_lines=LAST_LINES).splitlines()
            message += (
                f"; {_node(pod)} (pod {pod['metadata']['name']}) exited with code {code}; its "
                f"last lines: {' | '.join(line.strip() for line in lines if line.strip())}"
            )
            break
    return message


def _finished(trainjob: dict) -> bool:
    return condition(trainjob, COMPLETE) is not None or condition(trainjob, FAILED) is not None


def _wait(trainjobs: TrainJobs, name: str, timeout: float, poll: float, relay: LogRelay) -> dict:
    """The TrainJob once Complete; its logs relayed after every change and every ``poll`` s."""
    current, finished = trainjobs.wait_for(
        name, _finished, timeout, poll=poll, observe=lambda _: relay.relay()
    )
    if not finished:
        raise TimeoutError
    if condition(current, FAILED):
        raise ComponentInputError(failure_message(trainjobs, name, current))
    return current


def follow(
    trainjobs: TrainJobs,
    body: dict,
    timeout_seconds: float,
    poll_seconds: float = 5.0,
    echo: Callable[[str], None] = print,
) -> dict:
    """Creates the TrainJob ``body`` and follows it to its end; returns its last version.

    Raises:
        ComponentInputError: It failed (why, in one line), was deleted by someone else, did not
            finish within ``timeout_seconds`` (then it is deleted), or the API refused a request
            as invalid (400, 422).
        ExternalSystemError: The Kubernetes API refused (credentials, permissions, Kubeflow
            Trainer missing) or kept failing; a TrainJob already created is deleted, and the
            message says whether it could be.
        StepCancelled: SIGTERM arrived (the TrainJob is deleted first).
    """
    name = body["metadata"]["name"]
    trainer = body["spec"]["trainer"]
    where = f"TrainJob {trainjobs.namespace}/{name}"
    with sigterm_raises():
        trainjobs.create(body)
        echo(
            f"created {where}: {trainer['numNodes']} node(s) x {trainer['numProcPerNode']} "
            f"process(es), runtime {body['spec']['runtimeRef']['name']}"
        )
        relay = LogRelay(trainjobs, name, echo)
        try:
            finished = _wait(trainjobs, name, timeout_seconds, poll_seconds, relay)
        except TimeoutError:
            trainjobs.delete(name)
            raise ComponentInputError(
                f"{where} did not finish within {timeout_seconds:g} s; it was deleted"
            ) from None
        except StepCancelled:
            trainjobs.delete(name)
            echo(f"{where} deleted: the step was cancelled")
            raise
        except ExternalSystemError as error:
            # The API failed while following (after its retries): the step fails and removes the
            # run's shared folder, so a TrainJob left running would train on N nodes for nothing.
            raise ExternalSystemError(f"{error}; {_removal(trainjobs, name, where)}") from None
    echo(f"{where} completed")
    return finished


def _removal(trainjobs: TrainJobs, name: str, where: str) -> str:
    """Deletes the TrainJob ``name`` if it can; says what became of it."""
    try:
        trainjobs.delete(name)
    except ComponentError as error:
        return (
            f"{where} could not be deleted ({error}); delete it with kubectl delete trainjob "
            f"{name} -n {trainjobs.namespace}"
        )
    return f"{where} was deleted"


def trainjob_name() -> str:
    """A fresh TrainJob name (an RFC 1035 label)."""
    return f"kfp-mlops-train-{uuid.uuid4().hex[:12]}"


def train_distributed_to_directory(
    train_path: str,
    validation_path: str,
    model_dir: str,
    target_column: str,
    settings: TrainingSettings,
    cluster: Cluster,
    trainjobs: TrainJobs,
    checkpoint_uri: str | None = None,
    echo: Callable[[str], None] = print,
) -> dict[str, object]:
    """Trains on ``cluster.nodes`` nodes and writes the Model directory; returns its metadata.

    Raises:
        ComponentInputError: Bad settings or storage, the training refused its input, the TrainJob
            failed or timed out, or the API refused a request as invalid.
        ExternalSystemError: The Kubernetes API refused or kept failing (see :func:`follow`).
        StepCancelled: SIGTERM arrived.
    """
    settings.check()
    if not cluster.shared:
        raise ComponentInputError(
            "shared_storage is empty: give an s3:// or gs:// URI, or a path on a ReadWriteMany "
            "volume (shared_volume_claim), that the step and every training node reach"
        )
    name = trainjob_name()
    run = shared_storage.join(cluster.shared, "runs", name)
    job = TrainingJob(
        shared_storage.join(run, "train.parquet"),
        shared_storage.join(run, "validation.parquet"),
        shared_storage.join(run, "model"),
        target_column,
        settings,
        checkpoint_uri or shared_storage.join(cluster.shared, "checkpoints"),
    )
    result_uri = shared_storage.join(run, "result.json")
    request = TrainJobRequest(
        name=name,
        namespace=trainjobs.namespace,
        image=cluster.image,
        node_args=tuple(node_arguments(job, result_uri)),
        nodes=cluster.nodes,
        processes_per_node=cluster.processes_per_node,
        resources=cluster.resources,
        node_selector=dict(cluster.node_selector),
        tolerations=tuple(cluster.tolerations),
        runtime=cluster.runtime,
        volume=cluster.volume,
        labels={"app.kubernetes.io/managed-by": "kfp-mlops"},
    )
    body = build_trainjob(request)
    try:
        shared_storage.upload_file(train_path, job.train_path)
        shared_storage.upload_file(validation_path, job.validation_path)
        try:
            follow(trainjobs, body, cluster.timeout_seconds, cluster.poll_seconds, echo)
        except ComponentInputError as error:
            refused = json.loads(shared_storage.read_text(result_uri) or "{}").get("error")
            if refused:
                raise ComponentInputError(f"{refused} ({error})") from None
            raise
        result = json.loads(shared_storage.read_text(result_uri) or "{}")
        if "metadata" not in result:
            raise ComponentInputError(
                f"TrainJob {trainjobs.namespace}/{name} completed but rank 0 wrote no result at "
                f"{result_uri}"
            )
        shared_storage.download_directory(job.model_dir, model_dir)
    finally:
        shared_storage.delete_directory(run)
    metadata = dict(result["metadata"])
    metadata.update(
        trainjob=f"{trainjobs.namespace}/{name}",
        nodes=cluster.nodes,
        processes_per_node=cluster.processes_per_node,
        checkpoint_location=job.checkpoint_uri,
    )
    return metadata
