"""Build KServe InferenceService manifests (serving.kserve.io/v1beta1) from kserve SDK classes.

The manifest is assembled from ``V1beta1InferenceService`` and friends and turned into the JSON the
API server takes with the kubernetes client's ``ApiClient.sanitize_for_serialization`` (camelCase
keys, no None values); the SDK's own ``to_dict`` keeps snake_case keys and is not a manifest
(kubernetes 30.1.0 ``client/api_client.py``, ``sanitize_for_serialization`` keyed by
``attribute_map``; kserve 0.21.0 ``models/v1beta1_inference_service.py``, ``to_dict`` keyed by
``openapi_types``).

A model format (:data:`MODEL_FORMATS`) says how a model is served: the KServe ``modelFormat`` and
protocol that select a stock ClusterServingRuntime, and the model's name in request paths.
:data:`FORMATS_BY_FRAMEWORK` says which formats a Model of each ``framework`` provides and in which
folder of its directory each one lies: an sklearn Model (``train_sklearn``) is served as its
``model.joblib`` (``sklearn``) or as the ONNX export in its ``onnx/`` folder (``onnx``); a PyTorch
Model (``train_pytorch``) is itself a Triton model repository whose ONNX export is the model
``model`` (``onnx``, the directory itself). Adding a framework means adding an entry there, and a
format to :data:`MODEL_FORMATS` if it is a new one.

Every InferenceService is created in KServe's Serverless mode (Knative), the mode in which
``canaryTrafficPercent`` splits traffic between revisions, with tag routing on so that the new
revision has its own URL for the smoke request. Only the Knative reconciler splits traffic:
kserve@aaac4e2 ``pkg/controller/v1beta1/inferenceservice/reconcilers/knative/ksvc_reconciler.go``.

Importing this module imports the kserve package, which parses ``sys.argv`` for the model server's
options on first import (unknown options are ignored): kserve 0.21.0 ``kserve/model_server.py``,
the module-level ``parser.parse_known_args()``.
"""

import dataclasses
import re
from collections.abc import Mapping

from kserve import (
    V1beta1InferenceService,
    V1beta1InferenceServiceSpec,
    V1beta1ModelFormat,
    V1beta1ModelSpec,
    V1beta1PredictorSpec,
)
from kubernetes.client import ApiClient, V1ObjectMeta, V1ResourceRequirements

from kfp_mlops.components.common.errors import ComponentInputError

API_VERSION = "serving.kserve.io/v1beta1"
KIND = "InferenceService"
MANAGED_BY = {"app.kubernetes.io/managed-by": "kfp-mlops"}
SERVERLESS_ANNOTATIONS = {
    "serving.kserve.io/deploymentMode": "Serverless",
    "serving.kserve.io/enable-tag-routing": "true",
}
"""Knative revisions and traffic splitting, with tag routing.

``Serverless`` is the only name KServe before 0.16 knows (the rename, kserve#4608, is first in tag
v0.16.0); since then it is a deprecated alias of
``Knative`` that the defaulting webhook (CREATE and UPDATE) rewrites to ``Knative``, and the
controller still accepts it: kserve@aaac4e2 ``pkg/constants/constants.go`` (``LegacyServerless``,
``ParseDeploymentMode``) and ``pkg/apis/serving/v1beta1/inference_service_defaults.go``
(``DefaultInferenceService``). We keep ``Serverless`` so that older and newer controllers both
read it. The CRD documents neither: ``status.deploymentMode`` is a free string there
(``config/crd/full/serving.kserve.io_inferenceservices.yaml``), and the shipped
``config/configmap/inferenceservice.yaml`` still sets ``"defaultDeploymentMode": "Serverless"``.
Without the annotation the mode is the cluster's default, which may be ``Standard`` (no revisions).

Tag routing gives the service two tagged URLs: ``latest`` (the latest revision) and, while
``canaryTrafficPercent`` is below 100, ``prev`` (the last rolled-out revision); kserve
``pkg/controller/v1beta1/inferenceservice/reconcilers/knative/ksvc_reconciler.go``, commit aaac4e2.
"""

CONTAINER_NAME = "kserve-container"
"""The predictor container's name, as KServe names it (the SDK would send an empty name).

kserve@aaac4e2 ``pkg/constants/constants.go``, ``InferenceServiceContainerName``.
"""

MAX_NAME_LENGTH = 46
"""The longest InferenceService name whose Knative names all fit in a 63-character DNS label.

KServe names the predictor's Knative service ``<name>-predictor``; its revisions are
``<name>-predictor-00001`` (47 characters at most), and with tag routing the ``latest`` tag's
host is ``latest-<name>-predictor.<namespace>...`` by Knative's default tag template
``{{.Tag}}-{{.Name}}`` (knative/networking ``pkg/config/config.go``, ``DefaultTagTemplate``,
commit d306b69): 46 at most.
"""

_DNS_1035 = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
_DNS_1123 = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_DNS_1123_SUBDOMAIN = re.compile(
    r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
)
_QUANTITY = re.compile(
    r"^(\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))"
    r"(([KMGTPE]i)|[numkMGTPE]|([eE](\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))))?$"
)
"""A Kubernetes resource quantity (the pattern of the CRD's resources.requests/limits).

The same regex, byte for byte, as the CRD's ``pattern`` (kserve@aaac4e2
``config/crd/full/serving.kserve.io_inferenceservices.yaml``, copied in shared/data/kserve).
"""
_RESOURCE_NAME = re.compile(r"^([a-z0-9]([-a-z0-9.]*[a-z0-9])?/)?[A-Za-z0-9]([-A-Za-z0-9_.]*)?$")


@dataclasses.dataclass(frozen=True)
class ModelFormat:
    """How one kind of model file is served by a stock KServe runtime.

    Attributes:
        name: The InferenceService's ``modelFormat.name``.
        version: ``modelFormat.version``; a runtime lists the versions it supports.
        protocol: ``protocolVersion``: ``v1`` or ``v2``.
        stock_runtime: The stock ClusterServingRuntime that auto-selects this format and protocol.
        fixed_model_name: The model's name in request paths when the layout fixes it (a Triton
            repository's folder name); None when it is the InferenceService's name.
    """

    name: str
    version: str
    protocol: str
    stock_runtime: str
    fixed_model_name: str | None = None

    def model_name(self, service_name: str) -> str:
        """The model's name in ``/v1/models/NAME:predict`` or ``/v2/models/NAME/infer``."""
        return self.fixed_model_name or service_name


MODEL_FORMATS: dict[str, ModelFormat] = {
    # kserve@aaac4e2 config/runtimes/kserve-sklearnserver.yaml and kserve-tritonserver.yaml
    # (supportedModelFormats, protocolVersions). Protocol v1 pins the sklearnserver: with v2,
    # kserve-mlserver.yaml also auto-selects sklearn "1" (priority 2).
    # kserve-sklearnserver: exactly one .joblib/.pkl/.pickle in the model directory; V1 and V2.
    "sklearn": ModelFormat("sklearn", "1", "v1", "kserve-sklearnserver"),
    # kserve-tritonserver: a Triton model repository holding the model "model"; V2 only.
    "onnx": ModelFormat("onnx", "1", "v2", "kserve-tritonserver", "model"),
}
"""Serving format name (the deployment component's ``model_format``) to how it is served."""

FORMATS_BY_FRAMEWORK: dict[str, dict[str, str]] = {
    # train_sklearn writes model.joblib, and the ONNX export as a Triton repository in onnx/.
    "sklearn": {"sklearn": "", "onnx": "onnx"},
    # train_pytorch writes the directory as a Triton repository: model/ (the ONNX export, served)
    # and model_torchscript/ (loaded by Triton too, not requested); see training.torch_artifact.
    "pytorch": {"onnx": ""},
}
"""A Model's ``framework`` metadata to the formats its directory provides, each with the folder
(relative to the directory, "" for itself) that the format's runtime reads."""

STORAGE_SCHEMES = (
    "s3://",
    "gs://",
    "pvc://",
    "https://",
    "http://",
    "hdfs://",
    "webhdfs://",
    "oci://",
    "oci+native://",
    "oci+fetch://",
    "hf://",
)
"""The ``storageUri`` schemes KServe's controller accepts, less ``file://``.

kserve ``pkg/controller/v1beta1/inferenceservice/utils/utils.go``,
``SupportedStorageURIPrefixList`` (commit aaac4e2). ``file://`` is left out by this library: it
names a path inside the predictor's pod, while a URI given here without a scheme or with
``file://`` is a path on the machine that ran the step, which no cluster can read.
"""


@dataclasses.dataclass(frozen=True)
class Resources:
    """CPU, memory and accelerators of the predictor container.

    Attributes:
        requests: Resource name to quantity, e.g. ``{"cpu": "1", "memory": "2Gi"}``.
        limits: Resource name to quantity; the requests when empty.
        gpu_count: Accelerators per replica (0 for none), set as request and limit of
            ``gpu_resource``.
        gpu_resource: The extended resource name of the accelerator.
    """

    requests: Mapping[str, str]
    limits: Mapping[str, str] = dataclasses.field(default_factory=dict)
    gpu_count: int = 0
    gpu_resource: str = "nvidia.com/gpu"

    def requirements(self) -> V1ResourceRequirements:
        """The container's resource requirements; raises naming a malformed quantity."""
        requests = _quantities(self.requests, "requests")
        limits = _quantities(self.limits, "limits") if self.limits else dict(requests)
        if self.gpu_count < 0:
            raise ComponentInputError(f"gpu_count {self.gpu_count} is negative")
        if self.gpu_count:
            if not _RESOURCE_NAME.match(self.gpu_resource):
                raise ComponentInputError(
                    f"gpu_resource {self.gpu_resource!r} is not a Kubernetes resource name such "
                    "as nvidia.com/gpu"
                )
            requests[self.gpu_resource] = str(self.gpu_count)
            limits[self.gpu_resource] = str(self.gpu_count)
        return V1ResourceRequirements(requests=requests, limits=limits)


def _quantities(values: Mapping[str, str], what: str) -> dict[str, str]:
    checked = {}
    for name, quantity in sorted(values.items()):
        if not _RESOURCE_NAME.match(name):
            raise ComponentInputError(f"{what} names {name!r}, which is not a resource name")
        text = str(quantity)
        if not _QUANTITY.match(text):
            raise ComponentInputError(
                f"{what}[{name!r}] is {quantity!r}, not a Kubernetes quantity such as '500m', "
                "'1', '2Gi'"
            )
        checked[name] = text
    return checked


def model_format(name: str, framework: str) -> tuple[ModelFormat, str]:
    """The serving format ``name`` for a Model of ``framework``, and the folder it lies in.

    Raises:
        ComponentInputError: The format is unknown, or the framework's models do not provide it.
    """
    if name not in MODEL_FORMATS:
        raise ComponentInputError(
            f"unknown model_format {name!r}; known formats: {', '.join(MODEL_FORMATS)}"
        )
    provided = FORMATS_BY_FRAMEWORK.get(framework)
    if provided is None:
        raise ComponentInputError(
            f"the Model's framework {framework!r} has no KServe serving format; known "
            f"frameworks: {', '.join(FORMATS_BY_FRAMEWORK)}"
        )
    if name not in provided:
        raise ComponentInputError(
            f"a {framework} Model cannot be served as {name!r}; its formats are: "
            f"{', '.join(provided)}"
        )
    return MODEL_FORMATS[name], provided[name]


def check_storage_uri(uri: str) -> str:
    """``uri`` as KServe's storage initializer takes it (``minio://`` becomes ``s3://``).

    KFP's MinIO store names artifacts ``minio://<bucket>/<key>``; MinIO speaks S3, so these become
    ``s3://<bucket>/<key>`` (the predictor's service account names the S3 endpoint and keys).

    Raises:
        ComponentInputError: The URI is a local path, or its scheme is not one KServe reads.
    """
    normalized = uri.rstrip("/")
    if normalized.startswith("minio://"):
        normalized = "s3://" + normalized[len("minio://") :]
    if not normalized.startswith(STORAGE_SCHEMES) or normalized.endswith("://"):
        raise ComponentInputError(
            f"model URI {uri!r} is not one KServe can fetch: a cluster reads models from "
            f"{', '.join(STORAGE_SCHEMES)} (or KFP's minio://) URIs, never from this machine's "
            "disk; run the pipeline with an object-store pipeline root or pass storage_uri"
        )
    return normalized


def storage_uri(artifact_uri: str, subpath: str = "") -> str:
    """Where KServe fetches a Model artifact's format: its URI and the format's folder in it.

    See :func:`check_storage_uri` and :func:`model_format`.
    """
    uri = check_storage_uri(artifact_uri)
    return f"{uri}/{subpath}" if subpath else uri


def check_service_name(name: str) -> None:
    """Refuses a name the API server or Knative would refuse.

    Raises:
        ComponentInputError: Not a DNS-1035 label (lowercase letters, digits, '-', starting with a
            letter) or longer than :data:`MAX_NAME_LENGTH`.
    """
    if not _DNS_1035.match(name) or len(name) > MAX_NAME_LENGTH:
        raise ComponentInputError(
            f"InferenceService name {name!r} is invalid: use lowercase letters, digits and '-', "
            f"starting with a letter, at most {MAX_NAME_LENGTH} characters (Knative's tagged host "
            "is 'latest-<name>-predictor', one 63-character DNS label)"
        )


def check_namespace(namespace: str) -> None:
    """Refuses a namespace that is not a DNS-1123 label."""
    if not _DNS_1123.match(namespace) or len(namespace) > 63:
        raise ComponentInputError(
            f"namespace {namespace!r} is invalid: use lowercase letters, digits and '-'"
        )


@dataclasses.dataclass(frozen=True)
class ServiceSpec:
    """Everything an InferenceService manifest is built from.

    Attributes:
        name: The InferenceService's name.
        namespace: Its namespace.
        storage_uri: Where the runtime fetches the model (see :func:`storage_uri`).
        serving_format: How it is served.
        resources: The predictor container's resources.
        min_replicas: Fewest replicas (0 lets Knative scale to zero).
        max_replicas: Most replicas.
        service_account: The predictor's service account (holds the storage credentials); None
            for the namespace's default.
        runtime: A ServingRuntime or ClusterServingRuntime name; None lets KServe choose one
            supporting the format and protocol.
        annotations: Extra metadata annotations, e.g. the model version deployed.
    """

    name: str
    namespace: str
    storage_uri: str
    serving_format: ModelFormat
    resources: Resources
    min_replicas: int = 1
    max_replicas: int = 1
    service_account: str | None = None
    runtime: str | None = None
    annotations: Mapping[str, str] = dataclasses.field(default_factory=dict)

    def __post_init__(self) -> None:
        check_service_name(self.name)
        check_namespace(self.namespace)
        if self.min_replicas < 0:
            raise ComponentInputError(f"min_replicas {self.min_replicas} is negative")
        if self.max_replicas < 1 or self.max_replicas < self.min_replicas:
            raise ComponentInputError(
                f"max_replicas {self.max_replicas} must be at least 1 and at least min_replicas "
                f"{self.min_replicas}"
            )
        if self.service_account is not None and not _DNS_1123_SUBDOMAIN.match(self.service_account):
            raise ComponentInputError(
                f"service account name {self.service_account!r} is not a valid Kubernetes name"
            )


def predictor(spec: ServiceSpec, canary_traffic_percent: int | None = None) -> V1beta1PredictorSpec:
    """The predictor: model format, storage URI, protocol, resources, replicas, service account."""
    if canary_traffic_percent is not None and not 0 <= canary_traffic_percent <= 100:
        raise ComponentInputError(
            f"canary_traffic_percent {canary_traffic_percent} is not between 0 and 100"
        )
    return V1beta1PredictorSpec(
        model=V1beta1ModelSpec(
            name=CONTAINER_NAME,
            model_format=V1beta1ModelFormat(
                name=spec.serving_format.name, version=spec.serving_format.version
            ),
            storage_uri=spec.storage_uri,
            protocol_version=spec.serving_format.protocol,
            runtime=spec.runtime,
            resources=spec.resources.requirements(),
        ),
        min_replicas=spec.min_replicas,
        max_replicas=spec.max_replicas,
        service_account_name=spec.service_account,
        canary_traffic_percent=canary_traffic_percent,
    )


def inference_service(
    spec: ServiceSpec, canary_traffic_percent: int | None = None
) -> V1beta1InferenceService:
    """The whole InferenceService as the kserve SDK's model object."""
    return V1beta1InferenceService(
        api_version=API_VERSION,
        kind=KIND,
        metadata=V1ObjectMeta(
            name=spec.name,
            namespace=spec.namespace,
            labels=dict(MANAGED_BY),
            annotations={**SERVERLESS_ANNOTATIONS, **spec.annotations},
        ),
        spec=V1beta1InferenceServiceSpec(predictor=predictor(spec, canary_traffic_percent)),
    )


def to_manifest(model: object) -> dict[str, object]:
    """A kserve or kubernetes model object as the JSON the API server takes (camelCase, no None)."""
    return ApiClient().sanitize_for_serialization(model)


def manifest(spec: ServiceSpec, canary_traffic_percent: int | None = None) -> dict[str, object]:
    """The InferenceService manifest as a dict, ready for the API server or ``kubectl apply``."""
    return to_manifest(inference_service(spec, canary_traffic_percent))
