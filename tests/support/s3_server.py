"""A real S3 API on 127.0.0.1 for the tests: moto's server mode (``ThreadedMotoServer``).

The server runs on a thread of the test process and answers HTTP like any S3-compatible store
(MinIO, Ceph), so pyarrow's S3 filesystem, boto3 (MLflow's artifact store) and the pipeline's
subprocesses reach it through an endpoint override. Its credentials are dummies and reach the
clients only through the environment (:meth:`S3Server.environment`), as a cluster's would.
"""

import contextlib
import dataclasses
from collections.abc import Iterator

import pyarrow.fs as pafs
from moto.server import ThreadedMotoServer


@dataclasses.dataclass(frozen=True)
class S3Server:
    """Where the server listens."""

    endpoint: str  # host:port

    def environment(self) -> dict[str, str]:
        """The variables that point pyarrow and boto3 (MLflow) at this server with dummy keys."""
        return {
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_EC2_METADATA_DISABLED": "true",
            "MLFLOW_S3_ENDPOINT_URL": f"http://{self.endpoint}",
        }

    def uri(self, path: str) -> str:
        """``s3://path`` with the options pyarrow's ``FileSystem.from_uri`` reads."""
        return f"s3://{path}?endpoint_override={self.endpoint}&scheme=http"

    def filesystem(self) -> pafs.S3FileSystem:
        """A pyarrow filesystem on the server that may make buckets (keys from the environment)."""
        return pafs.S3FileSystem(
            endpoint_override=self.endpoint,
            scheme="http",
            region="us-east-1",
            allow_bucket_creation=True,
        )


@contextlib.contextmanager
def s3_server() -> Iterator[S3Server]:
    """Starts the server on a free port of 127.0.0.1; stops it when the block ends."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield S3Server(endpoint=f"{host}:{port}")
    finally:
        server.stop()
