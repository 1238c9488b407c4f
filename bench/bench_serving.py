"""Benchmark our serve path against a bare ``kserve.Model`` doing the same predict.

Usage, from the repository root in the project's virtual environment::

    python bench/bench_serving.py                       # 3 rounds, 2,000 sequential requests
    python bench/bench_serving.py --rounds 5 --requests 3000 --concurrent-requests 500

- ours: ``python -m kfp_mlops.components.serving.model_server`` as ``kfp-mlops serve`` and the
  serve-check run it: the model directory's ``model.joblib`` loaded by our restricted unpickler
  (the stock KServe sklearn runtime uses plain ``joblib.load``), served by KServe's
  ModelServer/RESTServer on a socket bound to 127.0.0.1.
- bare: the smallest ``kserve.Model`` a user would write for the same model: ``joblib.load`` in
  ``load``, ``get_predict_input`` + ``predict`` + ``get_predict_response`` in ``predict``, started
  with ``kserve.ModelServer(enable_grpc=False).start([model])`` (this file, ``--bare-server``).

Both serve the same model directory (a logistic regression trained by ``train_to_directory`` on
scikit-learn's breast-cancer data) in a child process with one worker. The client sends V1
``{"instances": [[30 floats]]}`` requests, one row each, over kept-alive HTTP/1.1 connections:
first sequentially on one connection, then from 8 threads with a connection each. Every round
starts both servers afresh, warms each with 200 requests, and alternates which is measured first.
The table reports the best and the median over rounds of each round's p50 and p99 (ms) and of the
concurrent throughput, and our p50 over the bare p50 (target: at most 1.2). It also reports the
server process's CPU time per request under the 8 clients (user + system, read from the kernel
before and after), which the machine's other load disturbs far less than latency, and, per round,
ours over bare for the 8-client p99 and throughput (issue 20's targets: p99 at most 1.1x,
throughput at least 1/1.1).
"""

import argparse
import contextlib
import http.client
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

TARGET_RATIO = 1.2
CLIENTS = 8
MODEL_NAME = "model"


def bare_server(model_dir: str, port: int) -> None:
    """Serves ``model_dir`` with a bare kserve.Model on ``port`` until stopped (child process)."""
    sys.argv = sys.argv[:1]  # kserve parses sys.argv when imported
    import joblib
    import kserve
    from kserve.utils.utils import get_predict_input, get_predict_response

    class BareModel(kserve.Model):
        def __init__(self, name: str, path: str) -> None:
            super().__init__(name)
            self.path = path
            self.model = None

        def load(self) -> bool:
            self.model = joblib.load(Path(self.path) / "model.joblib")
            self.ready = True
            return True

        def predict(self, payload: dict, headers: dict | None = None) -> dict:
            instances = get_predict_input(payload)
            return get_predict_response(payload, self.model.predict(instances), self.name)

    model = BareModel(MODEL_NAME, model_dir)
    model.load()
    kserve.ModelServer(http_port=port, enable_grpc=False, enable_docs_url=False).start([model])


def free_port() -> int:
    with socket.create_server(("127.0.0.1", 0)) as probe:
        return probe.getsockname()[1]


def wait_ready(port: int, process: subprocess.Popen, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}")
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            connection.request("GET", f"/v2/models/{MODEL_NAME}/ready")
            if connection.getresponse().status == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError("server not ready")


@contextlib.contextmanager
def server(kind: str, model_dir: str) -> Iterator[tuple[int, int]]:
    port = free_port()
    if kind == "ours":
        command = [
            sys.executable,
            "-m",
            "kfp_mlops.components.serving.model_server",
            "--model-dir",
            model_dir,
            "--name",
            MODEL_NAME,
            "--port",
            str(port),
        ]
    else:
        command = [sys.executable, __file__, "--bare-server", model_dir, "--port", str(port)]
    env = {**os.environ, "KSERVE_LOGLEVEL": "WARNING"}
    process = subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env
    )
    try:
        wait_ready(port, process)
        yield port, process.pid
    finally:
        process.terminate()
        process.wait(timeout=30)


def post_many(port: int, bodies: list[bytes], latencies: list[float]) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    path = f"/v1/models/{MODEL_NAME}:predict"
    headers = {"Content-Type": "application/json"}
    for body in bodies:
        started = time.perf_counter()
        connection.request("POST", path, body=body, headers=headers)
        response = connection.getresponse()
        payload = response.read()
        latencies.append((time.perf_counter() - started) * 1000.0)
        if response.status != 200:
            raise RuntimeError(f"HTTP {response.status}: {payload[:200]!r}")
    connection.close()


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(share / 100 * (len(ordered) - 1))))
    return ordered[index]


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of process ``pid`` so far (Linux ``/proc/PID/stat``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure(port: int, pid: int, rows: list[list[float]], sequential: int, concurrent: int) -> dict:
    bodies = [json.dumps({"instances": [rows[i % len(rows)]]}).encode() for i in range(sequential)]
    post_many(port, bodies[:200], [])  # warm-up
    latencies: list[float] = []
    post_many(port, bodies, latencies)
    result = {"seq_p50": percentile(latencies, 50), "seq_p99": percentile(latencies, 99)}
    shared: list[list[float]] = [[] for _ in range(CLIENTS)]
    threads = [
        threading.Thread(target=post_many, args=(port, bodies[:concurrent], shared[i]))
        for i in range(CLIENTS)
    ]
    cpu_before = cpu_seconds(pid)
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    cpu = cpu_seconds(pid) - cpu_before
    every = [value for values in shared for value in values]
    result.update(
        conc_p50=percentile(every, 50),
        conc_p99=percentile(every, 99),
        conc_rps=len(every) / elapsed,
        cpu_ms=cpu * 1000.0 / len(every),
    )
    return result


def prepare(folder: Path) -> tuple[str, list[list[float]]]:
    """Trains the benchmark model with our training step; returns its directory and test rows."""
    from sklearn.datasets import load_breast_cancer

    from kfp_mlops.components.common.tables import read_parquet
    from kfp_mlops.components.data.ingest import ingest_to_parquet
    from kfp_mlops.components.data.split import split_to_parquet
    from kfp_mlops.components.training.train import train_to_directory

    frame = load_breast_cancer(as_frame=True).frame
    frame.to_csv(folder / "data.csv", index=False)
    ingest_to_parquet(str(folder / "data.csv"), str(folder / "data.parquet"))
    paths = {name: str(folder / f"{name}.parquet") for name in ("train", "validation", "test")}
    split_to_parquet(str(folder / "data.parquet"), paths, "target")
    model_dir = folder / "model"
    metadata = train_to_directory(paths["train"], str(model_dir), "target", "logistic_regression")
    test = read_parquet(paths["test"]).to_pandas()[metadata["feature_columns"]]
    return str(model_dir), test.astype(float).values.tolist()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--requests", type=int, default=2000, help="Sequential requests.")
    parser.add_argument(
        "--concurrent-requests", type=int, default=300, help="Requests per concurrent client."
    )
    parser.add_argument("--bare-server", metavar="MODEL_DIR", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.bare_server:
        bare_server(args.bare_server, args.port)
        return

    load_start = os.getloadavg()[0]
    results: dict[str, list[dict]] = {"ours": [], "bare": []}
    with tempfile.TemporaryDirectory(prefix="bench-serving-") as work:
        model_dir, rows = prepare(Path(work))
        for round_number in range(args.rounds):
            order = ("ours", "bare") if round_number % 2 == 0 else ("bare", "ours")
            for kind in order:
                with server(kind, model_dir) as (port, pid):
                    measured = measure(port, pid, rows, args.requests, args.concurrent_requests)
                results[kind].append(measured)
                print(
                    f"round {round_number + 1} {kind}: "
                    + ", ".join(f"{key} {value:.2f}" for key, value in measured.items()),
                    file=sys.stderr,
                )

    def stat(kind: str, key: str, pick: str) -> float:
        values = [item[key] for item in results[kind]]
        if pick == "best":
            return max(values) if key == "conc_rps" else min(values)
        return statistics.median(values)

    print(
        f"Machine: {os.cpu_count()} CPUs, {platform.processor() or platform.machine()}, "
        f"Python {platform.python_version()}; {args.rounds} rounds, {args.requests} sequential "
        f"requests, {CLIENTS} clients x {args.concurrent_requests} concurrent requests; load "
        f"average {load_start:.2f} at the start, {os.getloadavg()[0]:.2f} at the end.\n"
    )
    print(
        "| server | seq p50 ms (best / median) | seq p99 ms (best / median) | 8-client p50 ms "
        "(best / median) | 8-client p99 ms (best / median) | 8-client req/s (best / median) | "
        "server CPU ms per request (best / median) |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for kind, label in (("ours", "ours (model_server.py)"), ("bare", "bare kserve.Model")):
        cells = [
            f"{stat(kind, key, 'best'):.2f} / {stat(kind, key, 'median'):.2f}"
            for key in ("seq_p50", "seq_p99", "conc_p50", "conc_p99")
        ]
        cells.append(
            f"{stat(kind, 'conc_rps', 'best'):.0f} / {stat(kind, 'conc_rps', 'median'):.0f}"
        )
        cells.append(f"{stat(kind, 'cpu_ms', 'best'):.3f} / {stat(kind, 'cpu_ms', 'median'):.3f}")
        print(f"| {label} | " + " | ".join(cells) + " |")
    pairs = list(zip(results["ours"], results["bare"], strict=True))
    ratios = [ours["seq_p50"] / bare["seq_p50"] for ours, bare in pairs]
    concurrent = [ours["conc_p50"] / bare["conc_p50"] for ours, bare in pairs]
    best = stat("ours", "seq_p50", "best") / stat("bare", "seq_p50", "best")
    print(
        f"\nours / bare, sequential p50: best-to-best {best:.3f}, per round "
        f"{', '.join(f'{value:.3f}' for value in ratios)} (median {statistics.median(ratios):.3f}; "
        f"target <= {TARGET_RATIO}); 8-client p50 per round "
        f"{', '.join(f'{value:.3f}' for value in concurrent)}"
    )
    for key, label in (("conc_p99", "8-client p99"), ("conc_rps", "8-client req/s"),
                       ("cpu_ms", "CPU per request")):  # fmt: skip
        paired = [ours[key] / bare[key] for ours, bare in pairs]
        print(
            f"ours / bare, {label} per round {', '.join(f'{value:.3f}' for value in paired)} "
            f"(median {statistics.median(paired):.3f})"
        )


if __name__ == "__main__":
    main()
