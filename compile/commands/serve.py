"""``kfp-mlops serve``."""

import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import click


@click.command("serve")
@click.argument("model")
@click.option(
    "--tracking-uri",
    envvar="MLFLOW_TRACKING_URI",
    default=None,
    help="MLflow store of an MLflow MODEL (default: $MLFLOW_TRACKING_URI).",
)
@click.option("--name", default="model", show_default=True, help="Model name in the URL paths.")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--port", type=int, default=8080, show_default=True, help="TCP port; 0 picks a free one."
)
@click.option("--predict-proba", is_flag=True, help="Answer class probabilities.")
def serve_command(
    model: str, tracking_uri: str | None, name: str, host: str, port: int, predict_proba: bool
) -> None:
    """Serves MODEL with the KServe model server until interrupted (Ctrl-C).

    MODEL is a Model artifact's directory, an MLflow model URI (models:/NAME/VERSION,
    models:/NAME@ALIAS, runs:/RUN/PATH) or NAME@ALIAS of a registered model. The server answers
    V1 (POST /v1/models/NAME:predict), V2 (POST /v2/models/NAME/infer) and Prometheus metrics
    (GET /metrics), as the stock KServe sklearn runtime does.
    """
    from kfp_mlops.compile.exits import fail
    from kfp_mlops.components.common.errors import ComponentError
    from kfp_mlops.components.serving.local_server import SERVER_MODULE
    from kfp_mlops.components.serving.model_source import model_directory

    with tempfile.TemporaryDirectory(prefix="kfp-mlops-serve-") as work_dir:
        try:
            folder = model_directory(model, tracking_uri, Path(work_dir))
        except ComponentError as error:
            fail(error)
        command = [sys.executable, "-m", SERVER_MODULE, "--model-dir", str(folder)]
        command += ["--name", name, "--host", host, "--port", str(port)]
        if predict_proba:
            command.append("--predict-proba")
        server = subprocess.Popen(command)

        def stop(signal_number: int, frame: object) -> None:
            # Ctrl-C reaches the server too; a signal sent to this process alone is passed on.
            # SIGTERM is uvicorn's graceful shutdown, as SIGINT is.
            if server.poll() is None:
                server.send_signal(signal.SIGTERM)

        for number in (signal.SIGINT, signal.SIGTERM):
            signal.signal(number, stop)
        code = server.wait()
    if code not in (0, -signal.SIGINT, -signal.SIGTERM):
        sys.exit(code if code > 0 else 1)
