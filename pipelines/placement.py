"""Compile-time variants of our pipelines: GPU placement, and Kubeflow Pipelines or Vertex AI.

A pipeline of this library is one ``@dsl.pipeline`` function. Its GPU-capable steps are created
through :func:`gpu_step` (or :func:`tabular_training`), which reads the :class:`BuildOptions` the
pipeline is being built with (a pipeline with such steps is marked :func:`gpu_capable`):

- no GPU profile (the default, what ``kfp-mlops run`` runs and the golden YAML holds): the step is
  an ordinary task, on whatever node it lands;
- a :class:`~.hardware.HardwareProfile` on Kubeflow Pipelines: the task gets the profile's
  accelerator resource and count, node selector and tolerations (:func:`.hardware.place`); with
  ``gpu_parameters`` those four become pipeline parameters whose defaults are the profile's
  (``gpu_accelerator_type``, ``gpu_accelerator_count``, ``gpu_node_selector``,
  ``gpu_tolerations``), wired with the ``*_json`` kfp-kubernetes setters;
- a profile on Vertex AI: the step runs as a Vertex CustomJob made by google-cloud-pipeline-
  components' ``create_custom_training_job_from_component`` with the profile's machine type and
  accelerator; with ``nodes`` > 1, ``train_pytorch``'s CustomJob has that many replicas (worker
  pool 0 the primary, worker pool 1 the rest), each one node of the same DDP training. No
  kfp-kubernetes setting is added: aiplatform reads a pipeline file as one YAML document and
  rejects the two-document file those settings produce (google-cloud-aiplatform 1.165.1
  ``utils/yaml_utils.py``, ``yaml.safe_load``).

:func:`build` rebuilds a pipeline for given options (``kfp-mlops compile --gpu/--target`` calls
it); the pipeline function runs again with the options active, as ``@dsl.pipeline`` ran it once at
import time with the defaults. Parameters a variant adds are appended to the function's signature
(with their descriptions to its docstring), so they show up in the compiled YAML and the KFP UI.
"""

import contextlib
import contextvars
import dataclasses
import inspect
from collections.abc import Callable, Iterator, Mapping
from typing import Literal

from kfp import dsl
from kfp.dsl import base_component, graph_component, pipeline_task

from kfp_mlops.pipelines.hardware import (
    HardwareProfile,
    PlacementParameters,
    place,
    place_from_parameters,
)

Target = Literal["kubeflow", "vertex"]
TARGETS: tuple[Target, ...] = ("kubeflow", "vertex")


@dataclasses.dataclass(frozen=True)
class BuildOptions:
    """What a pipeline is compiled for.

    Attributes:
        gpu: Where GPU-capable steps run; None runs them as ordinary tasks.
        gpu_parameters: Make the placement pipeline parameters (Kubeflow Pipelines only).
        target: ``kubeflow`` (Kubeflow Pipelines on Kubernetes) or ``vertex`` (Vertex AI).
        nodes: Training nodes of the GPU-capable PyTorch steps; more than one trains with a
            Kubeflow Trainer TrainJob on Kubeflow Pipelines, and as a CustomJob of that many
            replicas on Vertex AI (:func:`gpu_step`).
    """

    gpu: HardwareProfile | None = None
    gpu_parameters: bool = False
    target: Target = "kubeflow"
    nodes: int = 1

    def __post_init__(self) -> None:
        if self.target not in TARGETS:
            raise ValueError(f"target {self.target!r} is not one of {', '.join(TARGETS)}")
        if self.gpu_parameters and self.gpu is None:
            raise ValueError("GPU placement parameters need a GPU profile to take defaults from")
        if isinstance(self.nodes, bool) or not isinstance(self.nodes, int) or self.nodes < 1:
            raise ValueError(f"nodes is {self.nodes!r}; it must be an integer >= 1")
        if self.nodes > 1 and self.gpu is None:
            raise ValueError("training on several nodes needs a GPU profile (--gpu) for them")
        if self.nodes > 1 and self.gpu_parameters:
            raise ValueError(
                "GPU placement parameters are not available with several nodes: the TrainJob's "
                "node placement is fixed from the profile when the pipeline is compiled"
            )
        if self.gpu_parameters and self.target == "vertex":
            raise ValueError(
                "GPU placement parameters are a Kubernetes (kfp-kubernetes) feature; on Vertex AI "
                "the CustomJob's machine and accelerator are fixed when the pipeline is compiled"
            )


@dataclasses.dataclass(frozen=True)
class BuildParameter:
    """A pipeline parameter that a build variant adds to a pipeline's signature."""

    name: str
    annotation: type
    default: object
    description: str


GPU_PLACEMENT_PARAMETERS = (
    "gpu_accelerator_type",
    "gpu_accelerator_count",
    "gpu_node_selector",
    "gpu_tolerations",
)


def placement_parameters(profile: HardwareProfile) -> tuple[BuildParameter, ...]:
    """The run-time placement parameters, their defaults taken from ``profile``."""
    return (
        BuildParameter(
            "gpu_accelerator_type",
            str,
            profile.accelerator_type,
            "Kubernetes resource of the GPU steps' accelerator, e.g. nvidia.com/gpu.",
        ),
        BuildParameter(
            "gpu_accelerator_count",
            int,
            profile.accelerator_count,
            "How many accelerators each GPU step gets (more than one: DDP training).",
        ),
        BuildParameter(
            "gpu_node_selector",
            dict,
            dict(profile.node_selector),
            "Node labels the GPU steps require (Kubernetes nodeSelector).",
        ),
        BuildParameter(
            "gpu_tolerations",
            list,
            profile.tolerations_json(),
            "Kubernetes tolerations of the GPU steps, as Kubernetes writes them.",
        ),
    )


@dataclasses.dataclass(frozen=True)
class _Build:
    options: BuildOptions
    channels: Mapping[str, object] = dataclasses.field(default_factory=dict)


_DEFAULT_BUILD = _Build(BuildOptions())
_CURRENT: contextvars.ContextVar[_Build | None] = contextvars.ContextVar(
    "kfp_mlops_build", default=None
)


def _state() -> _Build:
    return _CURRENT.get() or _DEFAULT_BUILD


def current_options() -> BuildOptions:
    """The options of the build in progress (the defaults outside :func:`build`)."""
    return _state().options


def build_parameter(name: str) -> object:
    """The pipeline channel of a parameter the current build variant added.

    Raises:
        KeyError: The current build did not add ``name``.
    """
    return _state().channels[name]


@contextlib.contextmanager
def _active(state: _Build) -> Iterator[None]:
    token = _CURRENT.set(state)
    try:
        yield
    finally:
        _CURRENT.reset(token)


GPU_CAPABLE = "__kfp_mlops_gpu_capable__"


def gpu_capable(
    *parameters: BuildParameter,
) -> Callable[[Callable[..., object]], Callable[..., object]]:
    """Marks a pipeline function as having GPU steps, and the parameters a GPU build adds to it.

    Put it under ``@dsl.pipeline``; the function itself is left as it is. :func:`build` rebuilds
    only pipelines marked so.
    """

    def declare(func: Callable[..., object]) -> Callable[..., object]:
        setattr(func, GPU_CAPABLE, tuple(parameters))
        return func

    return declare


def _docstring_with(doc: str, parameters: tuple[BuildParameter, ...]) -> str:
    """``doc`` with ``parameters`` described at the end of its ``Args:`` section."""
    lines = inspect.cleandoc(doc).splitlines()
    if "Args:" not in lines:
        lines += ["", "Args:"]
    end = lines.index("Args:") + 1
    while end < len(lines) and (lines[end].startswith(" ") or not lines[end].strip()):
        end += 1
    while end > 0 and not lines[end - 1].strip():
        end -= 1
    added = [f"    {parameter.name}: {parameter.description}" for parameter in parameters]
    return "\n".join([*lines[:end], *added, *lines[end:]])


def _with_parameters(
    func: Callable[..., object], parameters: tuple[BuildParameter, ...], options: BuildOptions
) -> Callable[..., object]:
    """``func`` with ``parameters`` appended to its signature; their channels reach the build."""
    signature = inspect.signature(func)
    original = list(signature.parameters)
    added = [
        inspect.Parameter(
            parameter.name,
            inspect.Parameter.POSITIONAL_OR_KEYWORD,
            default=parameter.default,
            annotation=parameter.annotation,
        )
        for parameter in parameters
    ]

    def pipeline_function(*args: object) -> object:
        values = dict(zip([*original, *(p.name for p in parameters)], args, strict=True))
        channels = {parameter.name: values.pop(parameter.name) for parameter in parameters}
        with _active(_Build(options, channels)):
            return func(**values)

    pipeline_function.__signature__ = signature.replace(
        parameters=[*signature.parameters.values(), *added]
    )
    pipeline_function.__name__ = func.__name__
    pipeline_function.__qualname__ = func.__qualname__
    pipeline_function.__module__ = func.__module__
    pipeline_function.__doc__ = _docstring_with(func.__doc__ or "", parameters)
    return pipeline_function


def build(
    pipeline: graph_component.GraphComponent, options: BuildOptions
) -> graph_component.GraphComponent:
    """``pipeline`` built for ``options``.

    Without a GPU profile, or for a pipeline not marked :func:`gpu_capable`, that is ``pipeline``
    itself (on Vertex AI too: only GPU steps are wrapped there).
    """
    func = pipeline.pipeline_func
    declared = getattr(func, GPU_CAPABLE, None)
    if options.gpu is None or declared is None:
        return pipeline
    parameters = declared
    if options.gpu_parameters:
        parameters += placement_parameters(options.gpu)
    if options.nodes > 1 and options.target == "kubeflow":
        parameters += DISTRIBUTED_PARAMETERS
    if parameters:
        func = _with_parameters(func, parameters, options)
    with _active(_Build(options)):
        return dsl.pipeline(name=pipeline.name)(func)


def gpu_step(
    component: base_component.BaseComponent, **arguments: object
) -> pipeline_task.PipelineTask:
    """Creates the task of a GPU-capable step, placed as the current build says.

    Args:
        component: A container component (e.g. ``training.train_pytorch``).
        **arguments: Its arguments.

    Returns:
        The task: ``component``'s own outside GPU builds and on Kubeflow Pipelines (placed on the
        profile there); on Vertex AI with a profile, a CustomJob task with the same inputs and
        outputs (plus ``gcp_resources``). With several nodes, ``train_pytorch`` becomes
        ``train_pytorch_distributed`` (a TrainJob) on Kubeflow Pipelines, and a CustomJob of that
        many replicas on Vertex AI (one training node each, :mod:`.vertex_cluster` of the
        training stage).
    """
    state = _state()
    profile = state.options.gpu
    if profile is None:
        return component(**arguments)
    name = component.component_spec.name
    nodes = state.options.nodes if name in MULTI_NODE_COMPONENTS else 1
    if state.options.target == "vertex":
        from google_cloud_pipeline_components.v1.custom_job import (
            create_custom_training_job_from_component,
        )

        # google-cloud-pipeline-components 2.22.0, v1/custom_job/utils.py: replica_count N puts
        # one replica in worker pool 0 and N - 1 in worker pool 1, all with this machine spec.
        custom_job = create_custom_training_job_from_component(
            component,
            display_name=name,
            replica_count=nodes,
            machine_type=profile.vertex_machine_type,
            accelerator_type=profile.vertex_accelerator_type,
            accelerator_count=profile.accelerator_count,
        )
        custom_job.component_spec.name = f"{name}-custom-job"
        return custom_job(**arguments)
    if nodes > 1:
        return _distributed(profile, nodes, arguments)
    task = component(**arguments)
    if state.options.gpu_parameters:
        channels = [state.channels[name] for name in GPU_PLACEMENT_PARAMETERS]
        return place_from_parameters(task, PlacementParameters(*channels))
    return place(task, profile)


MULTI_NODE_COMPONENTS = frozenset({"train-pytorch"})
"""The GPU steps that train on several nodes when the build asks for them."""

DISTRIBUTED_PARAMETERS = (
    BuildParameter(
        "shared_storage",
        str,
        "",
        "With several training nodes, storage the training step and every node reach: an s3:// "
        "or gs:// URI, or a path on shared_volume_claim.",
    ),
    BuildParameter(
        "shared_volume_claim",
        str,
        "",
        "With several training nodes, a ReadWriteMany PVC mounted in the nodes at shared_storage; "
        "empty when shared_storage is an object-store URI.",
    ),
)
"""What the distributed training step needs besides train_pytorch's inputs."""


def _distributed(
    profile: HardwareProfile, nodes: int, arguments: dict[str, object]
) -> pipeline_task.PipelineTask:
    """train_pytorch's arguments given to train_pytorch_distributed.

    A TrainJob on ``nodes`` nodes of ``profile`` (its GPUs, node selector and tolerations on every
    node pod).

    The step itself only follows the TrainJob: it gets no GPU and no placement.
    """
    from kfp_mlops.components import training

    return training.train_pytorch_distributed(
        **arguments,
        shared_storage=build_parameter("shared_storage"),
        shared_volume_claim=build_parameter("shared_volume_claim"),
        nodes=nodes,
        processes_per_node=profile.accelerator_count,
        gpus_per_node=profile.accelerator_count,
        gpu_resource=profile.accelerator_type,
        node_selector=dict(profile.node_selector),
        tolerations=profile.tolerations_json(),
    )


MLP_TRAINING_PARAMETERS = (
    BuildParameter(
        "mlp_hyperparameters",
        dict,
        {},
        "With a GPU profile, the PyTorch MLP's hyperparameters (hidden_sizes, dropout); the "
        "scikit-learn estimator, hyperparameters and tuning parameters do not apply then.",
    ),
    BuildParameter("mlp_max_epochs", int, 100, "With a GPU profile, the MLP's most epochs."),
    BuildParameter(
        "checkpoint_uri",
        str,
        "",
        "With a GPU profile, where the MLP's checkpoints go (s3://, gs://, a folder); empty for "
        "inside the Model artifact.",
    ),
)
"""What ``tabular_training`` needs besides the sklearn step's inputs when built for a GPU."""


def tabular_training(
    train: object,
    validation: object,
    target_column: object,
    estimator: object,
    hyperparameters: object,
    seed: object,
    task: str = "classification",
) -> pipeline_task.PipelineTask:
    """The tabular pipelines' training step: scikit-learn, or the PyTorch MLP on a GPU build.

    Outside GPU builds it is ``training.train_sklearn`` (``train_sklearn_regressor`` for ``task``
    regression) with these arguments. Built with a GPU profile, it is ``training.train_pytorch``
    (architecture ``mlp``; for regression with ``task="regression"``, an MSE loss and one output)
    placed by :func:`gpu_step`, taking the pipeline parameters :data:`MLP_TRAINING_PARAMETERS`
    (the pipeline declares them with :func:`gpu_capable`). Its output is ``model`` either way.
    """
    from kfp_mlops.components import training

    if task not in ("classification", "regression"):
        raise ValueError(f"task {task!r} is not classification or regression")
    if current_options().gpu is None:
        component = (
            training.train_sklearn_regressor if task == "regression" else training.train_sklearn
        )
        return component(
            train=train,
            validation=validation,
            target_column=target_column,
            estimator=estimator,
            hyperparameters=hyperparameters,
            seed=seed,
        )
    # The classifier's task is train_pytorch's default: left out, its compiled YAML stays as it was.
    task_argument = {"task": task} if task == "regression" else {}
    return gpu_step(
        training.train_pytorch,
        train=train,
        validation=validation,
        target_column=target_column,
        architecture="mlp",
        hyperparameters=build_parameter("mlp_hyperparameters"),
        max_epochs=build_parameter("mlp_max_epochs"),
        checkpoint_uri=build_parameter("checkpoint_uri"),
        seed=seed,
        **task_argument,
    )
