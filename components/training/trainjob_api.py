"""Create, watch and delete TrainJobs, and read their node pods and logs, in one namespace.

Through the official kubernetes client: :class:`TrainJobs` is a
:class:`~kfp_mlops.components.common.kube_api.CustomObjects` for
``trainjobs.trainer.kubeflow.org`` (its calls, retries and watch loop are the shared layer's, as
the deployment stage's InferenceServices are), plus ``CoreV1Api`` for the node pods and their logs.
The API server's refusals become one-line errors: 403 names the verb, the resource and the
namespace the service account lacks and the RBAC manifest that grants them (:data:`RBAC_MANIFEST`),
404 on the resource type says Kubeflow Trainer is not installed, 422 quotes the server's validation
message.

A TrainJob's node pods carry JobSet's label ``jobset.sigs.k8s.io/jobset-name=<trainjob>`` (the
Trainer names the JobSet after the TrainJob; the Kubeflow SDK 0.5.0 selects them the same way,
``kubeflow/trainer/constants/constants.py``), and their node index in
``batch.kubernetes.io/job-completion-index``. That key is always a pod annotation; the Job
controller also sets it as a label when the ``PodIndexLabel`` feature gate is on, which it is by
default from Kubernetes 1.28 (beta) and always from 1.32 (GA): kubernetes/kubernetes@20b2eef
``pkg/features/versioned_kube_features.go`` (``PodIndexLabel``), and
``pkg/controller/job/job_controller.go``, ``manageJob`` (``addCompletionIndexLabel`` behind that
gate; read in a code search, commit not pinned). On an older cluster the label is missing and pods
are ordered by name alone.
"""

from collections.abc import Callable

import urllib3.exceptions
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from kfp_mlops.components.common.errors import (
    ComponentError,
    ComponentInputError,
    ExternalSystemError,
)
from kfp_mlops.components.common.kube_api import (
    REQUEST_TIMEOUT,
    Cluster,
    Conflict,
    CustomObjects,
    is_missing_resource_type,
    status_message,
)
from kfp_mlops.components.training.trainjob import NODE_JOB

GROUP = "trainer.kubeflow.org"
VERSION = "v1alpha1"
PLURAL = "trainjobs"
RESOURCE = f"{PLURAL}.{GROUP}"
RBAC_MANIFEST = "manifests/rbac-trainjob.yaml"
JOBSET_NAME_LABEL = "jobset.sigs.k8s.io/jobset-name"
NODE_INDEX_LABEL = "batch.kubernetes.io/job-completion-index"


class TrainJobs(CustomObjects):
    """The TrainJobs of one namespace and their node pods."""

    group = GROUP
    version = VERSION
    plural = PLURAL
    kind = "TrainJob"

    def __init__(self, cluster: Cluster, namespace: str) -> None:
        super().__init__(cluster, namespace)
        self.core = client.CoreV1Api(cluster.api_client)

    def _fail(self, error: ApiException, verb: str, name: str | None) -> ComponentError:
        return self._refusal(error, verb, RESOURCE, name)

    def _unreachable(self, error: urllib3.exceptions.HTTPError, verb: str) -> ComponentError:
        return self._unreachable_for(error, verb, RESOURCE)

    def _unreachable_for(
        self, error: urllib3.exceptions.HTTPError, verb: str, resource: str
    ) -> ComponentError:
        return ExternalSystemError(
            f"cannot reach the Kubernetes API at {self.cluster.api_client.configuration.host} "
            f"to {verb} {resource}: {error}"
        )

    def _refusal(
        self, error: ApiException, verb: str, resource: str, name: str | None
    ) -> ComponentError:
        """The one-line error for an API refusal, classified as deployment's are.

        400 and 422 (a request or manifest the server refuses) are bad input; the rest
        (credentials, permissions, Kubeflow Trainer missing, server errors) the cluster's.
        """
        target = f"{resource} {name!r}" if name else resource
        message = status_message(error)
        if error.status == 401:
            return ExternalSystemError(
                f"the Kubernetes API ({self.cluster.source}) refused the credentials (401 "
                f"Unauthorized) to {verb} {target}: {message}"
            )
        if error.status == 403:
            return ExternalSystemError(
                f"missing permission: {verb} {resource} in namespace {self.namespace!r} (403 "
                f"Forbidden: {message}); grant it with {RBAC_MANIFEST} "
                f"(kubectl apply -n {self.namespace} -f {RBAC_MANIFEST})"
            )
        if error.status == 404 and resource == RESOURCE and is_missing_resource_type(error, name):
            return ExternalSystemError(
                f"the cluster has no {RESOURCE} resource (404 on {verb}): Kubeflow Trainer is not "
                f"installed or namespace {self.namespace!r} does not exist: {message}"
            )
        if error.status in (400, 422):
            return ComponentInputError(
                f"the API server refused to {verb} {target} ({error.status} "
                f"{'Bad Request' if error.status == 400 else 'Invalid'}): {message}"
            )
        return ExternalSystemError(
            f"the Kubernetes API answered {error.status} to {verb} {target} in namespace "
            f"{self.namespace!r}: {message}"
        )

    def _core_call(
        self, verb: str, resource: str, name: str | None, function: Callable[[], object]
    ):
        try:
            return function()
        except ApiException as error:
            raise self._refusal(error, verb, resource, name) from None
        except urllib3.exceptions.HTTPError as error:
            raise self._unreachable_for(error, verb, resource) from None

    def create(self, body: dict) -> dict:
        """Creates the TrainJob ``body``.

        A create retried after a broken connection (:meth:`_call`) that had landed answers 409;
        the name is fresh (:func:`.trainjob_run.trainjob_name`), so the TrainJob found is ours.
        """
        name = body["metadata"]["name"]
        try:
            return self._call(
                "create",
                name,
                lambda: self.api.create_namespaced_custom_object(
                    GROUP, VERSION, self.namespace, PLURAL, body, _request_timeout=REQUEST_TIMEOUT
                ),
            )
        except Conflict as conflict:
            existing, _ = self.list_one(name)
            if existing is None:
                raise ComponentInputError(
                    f"cannot create TrainJob {self.namespace}/{name}: {conflict}"
                ) from None
            return existing

    def delete(self, name: str) -> bool:
        """Deletes the TrainJob ``name`` and, in the background, its JobSet and pods.

        Returns:
            False when it was already gone.
        """
        try:
            self.api.delete_namespaced_custom_object(
                GROUP,
                VERSION,
                self.namespace,
                PLURAL,
                name,
                propagation_policy="Background",
                _request_timeout=REQUEST_TIMEOUT,
            )
        except ApiException as error:
            if error.status == 404 and not is_missing_resource_type(error, name):
                return False
            raise self._fail(error, "delete", name) from None
        return True

    def node_pods(self, name: str) -> list[dict]:
        """The pods of TrainJob ``name``, by node index then name, as the API writes them."""
        listing = self._core_call(
            "list",
            "pods",
            None,
            lambda: self.core.list_namespaced_pod(
                self.namespace,
                label_selector=f"{JOBSET_NAME_LABEL}={name}",
                _request_timeout=REQUEST_TIMEOUT,
            ),
        )
        pods = [self.cluster.api_client.sanitize_for_serialization(pod) for pod in listing.items]
        return sorted(
            pods,
            key=lambda pod: (
                int((pod["metadata"].get("labels") or {}).get(NODE_INDEX_LABEL, "0")),
                pod["metadata"]["name"],
            ),
        )

    def log(self, pod: str, tail_lines: int | None = None) -> str:
        """The log of ``pod``'s node container (its last ``tail_lines`` lines when given)."""
        return self._core_call(
            "get",
            "pods/log",
            pod,
            lambda: self.core.read_namespaced_pod_log(
                pod,
                self.namespace,
                container=NODE_JOB,
                tail_lines=tail_lines,
                _request_timeout=REQUEST_TIMEOUT,
            ),
        )
