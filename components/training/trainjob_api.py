"""Create, watch and delete TrainJobs, and read their node pods and logs, in one namespace.

Through the official kubernetes client (``CustomObjectsApi`` for ``trainjobs.trainer.kubeflow.org``,
``CoreV1Api`` for pods and their logs), connected as :func:`..deployment.kube_api.connect` does
(in-cluster service account, else a kubeconfig). The API server's refusals become one-line errors:
403 names the verb, the resource and the namespace the service account lacks and the RBAC manifest
that grants them (:data:`RBAC_MANIFEST`), 404 on the resource type says Kubeflow Trainer is not
installed, 422 quotes the server's validation message.

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

import math
from collections.abc import Callable, Iterator

import urllib3.exceptions
from kubernetes import client, watch
from kubernetes.client.exceptions import ApiException

from kfp_mlops.components.common.errors import ComponentInputError
from kfp_mlops.components.common.kube_api import (
    REQUEST_TIMEOUT,
    Cluster,
    _is_missing_resource_type,
    _status_message,
)
from kfp_mlops.components.training.trainjob import NODE_JOB

GROUP = "trainer.kubeflow.org"
VERSION = "v1alpha1"
PLURAL = "trainjobs"
RESOURCE = f"{PLURAL}.{GROUP}"
RBAC_MANIFEST = "manifests/rbac-trainjob.yaml"
JOBSET_NAME_LABEL = "jobset.sigs.k8s.io/jobset-name"
NODE_INDEX_LABEL = "batch.kubernetes.io/job-completion-index"


class TrainJobs:
    """The TrainJobs of one namespace and their node pods."""

    def __init__(self, cluster: Cluster, namespace: str) -> None:
        self.cluster = cluster
        self.namespace = namespace
        self.api = client.CustomObjectsApi(cluster.api_client)
        self.core = client.CoreV1Api(cluster.api_client)

    def _fail(self, error: ApiException, verb: str, resource: str, name: str | None) -> Exception:
        target = f"{resource} {name!r}" if name else resource
        message = _status_message(error)
        if error.status == 401:
            return ComponentInputError(
                f"the Kubernetes API ({self.cluster.source}) refused the credentials (401 "
                f"Unauthorized) to {verb} {target}: {message}"
            )
        if error.status == 403:
            return ComponentInputError(
                f"missing permission: {verb} {resource} in namespace {self.namespace!r} (403 "
                f"Forbidden: {message}); grant it with {RBAC_MANIFEST} "
                f"(kubectl apply -n {self.namespace} -f {RBAC_MANIFEST})"
            )
        if error.status == 404 and resource == RESOURCE and _is_missing_resource_type(error, name):
            return ComponentInputError(
                f"the cluster has no {RESOURCE} resource (404 on {verb}): Kubeflow Trainer is not "
                f"installed or namespace {self.namespace!r} does not exist: {message}"
            )
        if error.status == 422:
            return ComponentInputError(
                f"the API server refused to {verb} {target} (422 Invalid): {message}"
            )
        return ComponentInputError(
            f"the Kubernetes API answered {error.status} to {verb} {target} in namespace "
            f"{self.namespace!r}: {message}"
        )

    def _call(self, verb: str, resource: str, name: str | None, function: Callable[[], object]):
        try:
            return function()
        except ApiException as error:
            raise self._fail(error, verb, resource, name) from None
        except urllib3.exceptions.HTTPError as error:
            raise ComponentInputError(
                f"cannot reach the Kubernetes API at {self.cluster.api_client.configuration.host} "
                f"to {verb} {resource}: {error}"
            ) from None

    def create(self, body: dict) -> dict:
        """Creates the TrainJob ``body``."""
        return self._call(
            "create",
            RESOURCE,
            body["metadata"]["name"],
            lambda: self.api.create_namespaced_custom_object(
                GROUP, VERSION, self.namespace, PLURAL, body, _request_timeout=REQUEST_TIMEOUT
            ),
        )

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
            if error.status == 404 and not _is_missing_resource_type(error, name):
                return False
            raise self._fail(error, "delete", RESOURCE, name) from None
        return True

    def list_one(self, name: str) -> tuple[dict | None, str]:
        """The TrainJob ``name`` (None if absent) and the list's resourceVersion."""
        listing = self._call(
            "list",
            RESOURCE,
            None,
            lambda: self.api.list_namespaced_custom_object(
                GROUP,
                VERSION,
                self.namespace,
                PLURAL,
                field_selector=f"metadata.name={name}",
                _request_timeout=REQUEST_TIMEOUT,
            ),
        )
        items = listing.get("items") or []
        return (items[0] if items else None), listing["metadata"]["resourceVersion"]

    def changes(self, name: str, version: str, seconds: float) -> Iterator[tuple[str, dict]]:
        """Watch events ``(type, object)`` of ``name`` after ``version``, for up to ``seconds``.

        An expired ``version`` (410 Gone after a compaction) ends the events with
        ``("EXPIRED", {})``: list again.

        Raises:
            ComponentInputError: The API refused the watch.
        """
        watcher = watch.Watch()
        try:
            for event in watcher.stream(
                self.api.list_namespaced_custom_object,
                GROUP,
                VERSION,
                self.namespace,
                PLURAL,
                field_selector=f"metadata.name={name}",
                resource_version=version,
                timeout_seconds=max(1, math.ceil(seconds)),
                _request_timeout=seconds + REQUEST_TIMEOUT,
            ):
                yield event["type"], event["raw_object"]
        except ApiException as error:
            if error.status == 410:
                yield "EXPIRED", {}
                return
            raise self._fail(error, "watch", RESOURCE, name) from None
        except urllib3.exceptions.ReadTimeoutError:
            return
        except urllib3.exceptions.HTTPError as error:
            raise ComponentInputError(
                f"cannot reach the Kubernetes API at {self.cluster.api_client.configuration.host} "
                f"to watch {RESOURCE}: {error}"
            ) from None
        finally:
            watcher.stop()

    def node_pods(self, name: str) -> list[dict]:
        """The pods of TrainJob ``name``, by node index then name, as the API writes them."""
        listing = self._call(
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
        return self._call(
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
