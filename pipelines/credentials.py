"""Credentials for MLflow and object storage, from optional Kubernetes secrets, never parameters.

Every step of our pipelines gets, through kfp-kubernetes ``use_secret_as_env`` with
``optional=True`` (kfp-kubernetes 2.17, ``kfp/kubernetes/secret.py``: the pod's ``secretKeyRef``
is marked optional, so a missing secret or key leaves the variable unset and the step still
starts), the keys of two secrets, named here at compile time:

- :data:`MLFLOW_SECRET` (``mlflow-credentials``): ``username``, ``password`` and ``token`` as
  ``MLFLOW_TRACKING_USERNAME``, ``MLFLOW_TRACKING_PASSWORD`` and ``MLFLOW_TRACKING_TOKEN``, which
  MLflow's REST client reads for basic or bearer authentication (mlflow 3.17.2
  ``environment_variables.py`` and ``utils/rest_utils.py``, ``http_request``);
- :data:`OBJECT_STORE_SECRET` (``object-store-credentials``): ``aws_access_key_id``,
  ``aws_secret_access_key``, ``aws_session_token`` and ``aws_endpoint_url`` as the ``AWS_*``
  variables that pyarrow's S3 filesystem and boto3 (MLflow's S3 artifact store) read, the
  endpoint also as ``MLFLOW_S3_ENDPOINT_URL`` (MinIO or another S3 API). pyarrow 25.0.1's
  ``FileSystem.from_uri``, which the steps call, sends S3 requests to ``AWS_ENDPOINT_URL`` (or
  ``AWS_ENDPOINT_URL_S3``): checked by experiment in ``tests/compile/test_credentials.py``, not
  in arrow's C++ source (``s3fs.cc``). A bare ``pyarrow.fs.S3FileSystem(...)`` ignored both in
  that experiment.

Google Cloud Storage is left to the pod's own identity (Workload Identity, the node's service
account): ``GOOGLE_APPLICATION_CREDENTIALS`` must name a key FILE, and an environment variable
pointing at a mount of an optional, absent secret would break the fallback to that identity.

The compiled YAML names the secrets only; their values never leave the cluster. On Vertex AI the
platform document is dropped (``compile.compiler.single_document``) and credentials come from the
job's service account.
"""

from kfp import dsl, kubernetes
from kfp.dsl import pipeline_context

MLFLOW_SECRET = "mlflow-credentials"
MLFLOW_KEYS = {
    "username": "MLFLOW_TRACKING_USERNAME",
    "password": "MLFLOW_TRACKING_PASSWORD",
    "token": "MLFLOW_TRACKING_TOKEN",
}
OBJECT_STORE_SECRET = "object-store-credentials"
OBJECT_STORE_KEYS = {
    "aws_access_key_id": "AWS_ACCESS_KEY_ID",
    "aws_secret_access_key": "AWS_SECRET_ACCESS_KEY",
    "aws_session_token": "AWS_SESSION_TOKEN",
    "aws_endpoint_url": "AWS_ENDPOINT_URL",
}
MLFLOW_S3_ENDPOINT = {"aws_endpoint_url": "MLFLOW_S3_ENDPOINT_URL"}


def attach(task: dsl.PipelineTask) -> dsl.PipelineTask:
    """Gives ``task`` the optional credential secrets as environment variables; returns it."""
    kubernetes.use_secret_as_env(task, MLFLOW_SECRET, MLFLOW_KEYS, optional=True)
    kubernetes.use_secret_as_env(task, OBJECT_STORE_SECRET, OBJECT_STORE_KEYS, optional=True)
    kubernetes.use_secret_as_env(task, OBJECT_STORE_SECRET, MLFLOW_S3_ENDPOINT, optional=True)
    return task


def attach_to_every_step() -> None:
    """:func:`attach` on every task the pipeline being defined has so far (call it last).

    Sub-pipelines keep their own tasks: the tuning sub-pipeline reads only artifacts and its own
    storage secret.
    """
    pipeline = pipeline_context.Pipeline.get_default_pipeline()
    for task in pipeline.tasks.values():
        if task.pipeline_spec is None:  # a component, not a nested pipeline
            attach(task)
