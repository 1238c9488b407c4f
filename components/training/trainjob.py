"""The Kubeflow Trainer TrainJob that trains a PyTorch classifier on several nodes.

Built from the generated models of ``kubeflow-trainer-api`` 2.3.0 (``TrainerV1alpha1TrainJob``
and the classes it holds), never from hand-written dicts; :func:`build_trainjob` returns the object
as the API server takes it (``to_dict()``, camelCase).

What the Trainer does with it (kubeflow/trainer at 8c0f5059, ``pkg/runtime/framework/plugins/
torch/torch.go``; the ``torch-distributed`` ClusterTrainingRuntime,
``manifests/base/runtimes/torch_distributed.yaml``):

- ``spec.trainer.numNodes`` node pods of the runtime's ``node`` replicated job are created; the
  container runs ``spec.trainer.command`` + ``args`` in ``spec.trainer.image``;
- each node's container gets ``PET_NNODES``, ``PET_NPROC_PER_NODE`` (``numProcPerNode``),
  ``PET_NODE_RANK`` (the Job completion index), ``PET_MASTER_ADDR`` (``<trainjob>-node-0-0.
  <trainjob>``) and ``PET_MASTER_PORT`` (29500): the environment variables ``torchrun`` reads for
  its options. Our command is therefore ``python3 -m torch.distributed.run -m`` :data:`NODE_MODULE`;
  torchrun starts ``numProcPerNode`` processes per node and sets their RANK/WORLD_SIZE;
- ``resourcesPerNode`` becomes each node container's resources (GPUs included); node selector,
  tolerations, volumes and volume mounts are pod-level settings, given as a ``runtimePatches``
  entry (``trainingRuntimeSpec.template.spec.replicatedJobs[node].template.spec.template.spec``)
  owned by :data:`PATCH_MANAGER`.
"""

import dataclasses
import re

from kubeflow_trainer_api import models

from kfp_mlops.components.common.errors import ComponentInputError

API_VERSION = "trainer.kubeflow.org/v1alpha1"
KIND = "TrainJob"
DEFAULT_RUNTIME = "torch-distributed"
NODE_JOB = "node"
"""The replicated job and its container in the torch-distributed runtime (and the torch plugin's
``constants.Node``)."""
NODE_MODULE = "kfp_mlops.components.training.distributed_node"
PATCH_MANAGER = "kfp-mlops.io/train-pytorch-distributed"
SHARED_VOLUME = "kfp-mlops-shared"
_NAME = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
_MAX_LABEL = 63
_POD_SUFFIX = len("-abcde")
"""The random suffix the Job controller adds to a pod's name."""


def max_name_length(nodes: int) -> int:
    """The longest TrainJob name whose node pods on ``nodes`` nodes still have valid names.

    The Trainer names the JobSet after the TrainJob, and the torch runtime's one replicated job
    ``node`` runs the nodes as the indexed pods of one Job (``PET_MASTER_ADDR`` is
    ``<trainjob>-node-0-0.<trainjob>``, see tests/training/trainer_data/SOURCE.md). JobSet's
    webhook refuses a JobSet whose longest pod name (``<jobset>-<replicated job>-<job
    index>-<pod index>`` plus the Job controller's 5-character suffix) exceeds 63 characters
    (kubernetes-sigs/jobset ``pkg/webhooks/jobset_webhook.go`` and
    ``pkg/util/placement/placement.go``, commit 08dfbdf); the Trainer's own webhook does not
    check, so a longer name would fail later, in the controller.
    """
    return _MAX_LABEL - len("-node-0-") - len(str(nodes - 1)) - _POD_SUFFIX


@dataclasses.dataclass(frozen=True)
class NodeResources:
    """What each training node gets.

    Attributes:
        gpus: GPUs per node (0 trains on the CPU).
        gpu_resource: The extended resource the GPUs are counted in.
        cpu: CPU request and limit per node, e.g. ``"4"``; None leaves it to the cluster.
        memory: Memory request and limit per node, e.g. ``"16Gi"``; None leaves it to the cluster.
    """

    gpus: int = 0
    gpu_resource: str = "nvidia.com/gpu"
    cpu: str | None = None
    memory: str | None = None

    def quantities(self) -> dict[str, str]:
        """Resource name to quantity, for both requests and limits."""
        found = {}
        if self.cpu:
            found["cpu"] = self.cpu
        if self.memory:
            found["memory"] = self.memory
        if self.gpus:
            found[self.gpu_resource] = str(self.gpus)
        return found


@dataclasses.dataclass(frozen=True)
class SharedVolume:
    """A PersistentVolumeClaim mounted in every node at the same path the step sees it at.

    Attributes:
        claim: The PersistentVolumeClaim's name (ReadWriteMany, in the TrainJob's namespace).
        mount_path: Where it is mounted in the node containers.
    """

    claim: str
    mount_path: str


@dataclasses.dataclass(frozen=True)
class TrainJobRequest:
    """Everything the TrainJob says.

    Attributes:
        name: The TrainJob's name (RFC 1035 label, at most 63 characters).
        namespace: Its namespace.
        image: The node containers' image (one that has this package and torch installed).
        node_args: Arguments of :data:`NODE_MODULE` (see :mod:`.distributed_node`).
        nodes: Training nodes (pods).
        processes_per_node: Training processes per node (one per GPU on GPU nodes).
        resources: Resources per node.
        node_selector: Node labels the node pods require.
        tolerations: Tolerations of the node pods, as Kubernetes writes them.
        runtime: The ClusterTrainingRuntime's name.
        volume: A shared PVC to mount in the nodes, or None (object-store URIs).
        labels: Labels of the TrainJob.
    """

    name: str
    namespace: str
    image: str
    node_args: tuple[str, ...]
    nodes: int = 2
    processes_per_node: int = 1
    resources: NodeResources = dataclasses.field(default_factory=NodeResources)
    node_selector: dict[str, str] = dataclasses.field(default_factory=dict)
    tolerations: tuple[dict[str, object], ...] = ()
    runtime: str = DEFAULT_RUNTIME
    volume: SharedVolume | None = None
    labels: dict[str, str] = dataclasses.field(default_factory=dict)

    def check(self) -> None:
        """Raises :class:`ComponentInputError` naming the first value out of its range."""
        for field in ("nodes", "processes_per_node"):
            value = getattr(self, field)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ComponentInputError(f"{field} is {value!r}; it must be an integer >= 1")
        longest = max_name_length(self.nodes)
        if not _NAME.match(self.name) or len(self.name) > longest:
            raise ComponentInputError(
                f"TrainJob name {self.name!r} must be a lowercase RFC 1035 label of at most "
                f"{longest} characters (its node pods on {self.nodes} node(s) are named "
                f"NAME-node-0-<index>-<5 characters>, at most {_MAX_LABEL})"
            )
        gpus = self.resources.gpus
        if isinstance(gpus, bool) or not isinstance(gpus, int) or gpus < 0:
            raise ComponentInputError(f"gpus_per_node is {gpus!r}; it must be an integer >= 0")
        if gpus and self.processes_per_node > gpus:
            raise ComponentInputError(
                f"processes_per_node is {self.processes_per_node} but each node has {gpus} "
                "GPU(s); use at most one process per GPU"
            )
        if not self.runtime:
            raise ComponentInputError("runtime is empty; name a ClusterTrainingRuntime")
        if not self.image:
            raise ComponentInputError("the node image is empty")


def node_command() -> list[str]:
    """The node containers' command: torchrun (reading the PET_* variables) and our module."""
    return ["python3", "-m", "torch.distributed.run", "-m", NODE_MODULE]


def _pod_patch(request: TrainJobRequest) -> models.TrainerV1alpha1PodSpecPatch | None:
    tolerations = [models.IoK8sApiCoreV1Toleration.from_dict(item) for item in request.tolerations]
    volumes, containers = None, None
    if request.volume is not None:
        volumes = [
            models.IoK8sApiCoreV1Volume(
                name=SHARED_VOLUME,
                persistent_volume_claim=models.IoK8sApiCoreV1PersistentVolumeClaimVolumeSource(
                    claim_name=request.volume.claim
                ),
            )
        ]
        containers = [
            models.TrainerV1alpha1ContainerPatch(
                name=NODE_JOB,
                volume_mounts=[
                    models.IoK8sApiCoreV1VolumeMount(
                        name=SHARED_VOLUME, mount_path=request.volume.mount_path
                    )
                ],
            )
        ]
    if not (request.node_selector or tolerations or volumes):
        return None
    return models.TrainerV1alpha1PodSpecPatch(
        node_selector=dict(request.node_selector) or None,
        tolerations=tolerations or None,
        volumes=volumes,
        containers=containers,
    )


def build_trainjob(request: TrainJobRequest) -> dict:
    """The TrainJob for ``request``, as the API server takes it.

    Raises:
        ComponentInputError: A value out of its range (see :meth:`TrainJobRequest.check`).
    """
    request.check()
    quantities = request.resources.quantities()
    resources = None
    if quantities:
        amounts = {
            key: models.IoK8sApimachineryPkgApiResourceQuantity(value)
            for key, value in quantities.items()
        }
        resources = models.IoK8sApiCoreV1ResourceRequirements(
            requests=dict(amounts), limits=dict(amounts)
        )
    patch = _pod_patch(request)
    runtime_patches = None
    if patch is not None:
        runtime_patches = [
            models.TrainerV1alpha1RuntimePatch(
                manager=PATCH_MANAGER,
                training_runtime_spec=models.TrainerV1alpha1TrainingRuntimeSpecPatch(
                    template=models.TrainerV1alpha1JobSetTemplatePatch(
                        spec=models.TrainerV1alpha1JobSetSpecPatch(
                            replicated_jobs=[
                                models.TrainerV1alpha1ReplicatedJobPatch(
                                    name=NODE_JOB,
                                    template=models.TrainerV1alpha1JobTemplatePatch(
                                        spec=models.TrainerV1alpha1JobSpecPatch(
                                            template=models.TrainerV1alpha1PodTemplatePatch(
                                                spec=patch
                                            )
                                        )
                                    ),
                                )
                            ]
                        )
                    )
                ),
            )
        ]
    trainjob = models.TrainerV1alpha1TrainJob(
        api_version=API_VERSION,
        kind=KIND,
        metadata=models.IoK8sApimachineryPkgApisMetaV1ObjectMeta(
            name=request.name,
            namespace=request.namespace,
            labels=dict(request.labels) or None,
        ),
        spec=models.TrainerV1alpha1TrainJobSpec(
            runtime_ref=models.TrainerV1alpha1RuntimeRef(
                name=request.runtime,
                kind="ClusterTrainingRuntime",
                api_group="trainer.kubeflow.org",
            ),
            trainer=models.TrainerV1alpha1Trainer(
                image=request.image,
                command=node_command(),
                args=list(request.node_args),
                num_nodes=request.nodes,
                num_proc_per_node=request.processes_per_node,
                resources_per_node=resources,
            ),
            runtime_patches=runtime_patches,
        ),
    )
    return trainjob.to_dict()
