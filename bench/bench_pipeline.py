"""Benchmark the local run of the whole tabular-classification pipeline, per step.

Usage, from the repository root in the project's virtual environment::

    python bench/bench_pipeline.py                   # 3 rounds on scikit-learn's breast-cancer data
    python bench/bench_pipeline.py --rounds 5 --data my.csv --target label

Each round measures, in an order that alternates from one round to the next:

- **kfp.local**: ``kfp-mlops run tabular-classification --param data_uri=... --param
  target_column=... --json`` in a fresh run folder (so a fresh MLflow SQLite store, no champion
  yet), as a user runs it. Each step's seconds are those the command reports: kfp.local's "Executing
  task" to "finished" lines, i.e. the task's process start, imports, executor and the step's work.
- **bare**: the same steps' logic (the functions each component body calls: ``ingest_to_parquet``,
  ``validate_to_report``, ``split_to_parquet``, ``check_given``, ``train_to_directory``,
  ``evaluate_to_files``, ``champion_gate_to_markdown``, ``run_serve_check``, ``register_training``
  then ``write_model_card`` then ``promote`` (one step, register-model-with-card, which promotes
  when no cluster deployment follows);
  ``record_rejection_to_markdown`` when the gate rejects) called as plain Python
  functions, one after another, in one fresh Python process, on the same CSV and a fresh MLflow
  SQLite store. Each step is timed around its call, imports done on first use included, as a
  component body does them.
- **fixed per-task overhead**: what a task costs before any step's work: ``python3 -c pass``
  (process start), ``python3 -c "import kfp.dsl.executor_main"`` with ``_KFP_RUNTIME=true`` (start
  and the executor's imports), and a component that returns its input, run as a three-task
  pipeline under kfp.local the way ``kfp-mlops run`` runs one (start, imports, executor, kfp.local's
  bookkeeping). Also each step's own imports: its logic module imported cold, after the executor's.

The report gives, per step, the best and median seconds of each side, the ratio kfp.local/bare of
the medians, their difference, and the step's cold import; then the totals and the fixed overhead.
Everything runs on this machine's CPU; the machine may be shared, so compare within one run.
"""

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

PIPELINE = "tabular-classification"
REGISTERED_MODEL = "tabular-classifier"
ESTIMATOR = "random_forest"
SEED = 42
THRESHOLDS = {"accuracy": 0.90, "f1": 0.85}

STEP_MODULES = {
    "resolve-data-version": "kfp_mlops.components.data.data_version",
    "ingest-dataset": "kfp_mlops.components.data.ingest",
    "validate-dataset": "kfp_mlops.components.data.validate",
    "split-dataset": "kfp_mlops.components.data.split",
    "given-hyperparameters": "kfp_mlops.components.tuning.given",
    "train-sklearn": "kfp_mlops.components.training.train",
    "evaluate-classifier": "kfp_mlops.components.common.metrics",
    "champion-challenger-gate": "kfp_mlops.components.evaluation.champion",
    "register-model-with-card": "kfp_mlops.components.registry.registration_step",
    "serve-check": "kfp_mlops.components.serving.check",
    "record-rejection": "kfp_mlops.components.evaluation.rejection",
}
"""Each step (kfp.local's task name, less a ``-N`` suffix) and the module its component imports."""

Timings = dict[str, float]
Round = dict[str, object]


# --- the bare side: the steps' logic as plain functions, in this process -------------------------


class BareRun:
    """The pipeline's steps as plain calls; outputs go to ``work/<step>/`` as a task's would."""

    def __init__(self, data: Path, target: str, work: Path) -> None:
        self.data, self.target, self.work = data, target, work
        self.tracking_uri = f"sqlite:///{work / 'mlflow.db'}"
        self.state: dict[str, object] = {}

    def path(self, step: str, name: str) -> str:
        folder = self.work / step
        folder.mkdir(parents=True, exist_ok=True)
        return str(folder / name)

    def resolve_data_version(self) -> None:
        from kfp_mlops.components.data.data_version import resolve_data_version

        self.state["data_version"] = resolve_data_version(str(self.data))["data_version"]

    def ingest(self) -> None:
        from kfp_mlops.components.data.ingest import ingest_to_parquet

        self.state["dataset"] = self.path("ingest", "dataset")
        ingest_to_parquet(str(self.data), self.state["dataset"])

    def validate(self) -> None:
        from kfp_mlops.components.data.validate import validate_to_report

        validate_to_report(self.state["dataset"], self.path("validate", "report"), self.target)

    def split(self) -> None:
        from kfp_mlops.components.data.split import split_to_parquet

        paths = {part: self.path("split", part) for part in ("train", "validation", "test")}
        metadata = split_to_parquet(self.state["dataset"], paths, self.target, seed=SEED)
        self.state["parts"] = {part: (paths[part], metadata[part]) for part in paths}

    def given_hyperparameters(self) -> None:
        from kfp_mlops.components.tuning.given import check_given

        self.state["hyperparameters"] = check_given(ESTIMATOR, {})

    def train(self) -> None:
        from kfp_mlops.components.training.train import train_to_directory

        parts = self.state["parts"]
        self.state["model"] = self.path("train", "model")
        self.state["model_metadata"] = train_to_directory(
            parts["train"][0],
            self.state["model"],
            self.target,
            ESTIMATOR,
            self.state["hyperparameters"],
            SEED,
            parts["validation"][0],
        )

    def evaluate(self) -> None:
        from kfp_mlops.components.evaluation.evaluate import evaluate_to_files

        evaluation = evaluate_to_files(
            self.state["model"],
            self.state["parts"]["test"][0],
            self.target,
            self.path("evaluate", "metrics"),
            self.path("evaluate", "classification_metrics"),
        )
        self.state["metrics"] = {**evaluation.result.scalars, **evaluation.lineage()}
        self.state["classification"] = evaluation.classification_content()

    def gate(self) -> None:
        from kfp_mlops.components.evaluation.champion import champion_gate_to_markdown

        self.state["decision"] = champion_gate_to_markdown(
            self.state["metrics"],
            self.path("gate", "decision"),
            THRESHOLDS,
            self.tracking_uri,
            REGISTERED_MODEL,
        )

    def register(self) -> None:
        from kfp_mlops.components.registry.register import DatasetPart, register_training

        datasets = {
            part: DatasetPart(path=path, uri=path, metadata=metadata)
            for part, (path, metadata) in self.state["parts"].items()
        }
        self.state["registration"] = register_training(
            model_dir=self.state["model"],
            model_metadata=self.state["model_metadata"],
            metrics_metadata=self.state["metrics"],
            datasets=datasets,
            tracking_uri=self.tracking_uri,
            registered_model_name=REGISTERED_MODEL,
            kfp_run_id="bench-bare",
            kfp_task_name="register-model",
        )

    def model_card(self) -> None:
        from kfp_mlops.components.registry.model_card_page import CardInputs, write_model_card

        decision = self.state["decision"]
        registration = self.state["registration"]
        inputs = CardInputs(
            data_uri=str(self.data),
            train=self.state["parts"]["train"][1],
            test=self.state["parts"]["test"][1],
            metrics=self.state["metrics"],
            classification=self.state["classification"],
            decision={
                "approved": decision.approved,
                "reasons": decision.reasons,
                "champion_version": decision.champion_version,
            },
            thresholds=THRESHOLDS,
            registered_model_name=REGISTERED_MODEL,
            model_version=registration.model_version,
            run_id=registration.run_id,
            kfp_run_id="bench-bare",
        )
        write_model_card(inputs, self.tracking_uri, self.path("card", "card"))

    def register_with_card(self) -> None:
        """register_model_with_card: the registration, the version's model card, the promotion."""
        self.register()
        self.model_card()
        self.promote()

    def serve_check(self) -> None:
        from kfp_mlops.components.serving.check import run_serve_check

        metadata = self.state["model_metadata"]
        run_serve_check(
            self.state["model"],
            self.state["parts"]["test"][0],
            self.target,
            self.path("serve", "report"),
            self.path("serve", "serving_metrics"),
            feature_columns=metadata.get("feature_columns"),
            model_target_column=metadata.get("target_column"),
            onnx_metadata=metadata.get("onnx"),
        )

    def promote(self) -> None:
        from kfp_mlops.components.registry.promotion import promote

        promote(
            self.tracking_uri,
            REGISTERED_MODEL,
            self.state["registration"].model_version,
            compared_champion=self.state["decision"].champion_version,
        )

    def record_rejection(self) -> None:
        from kfp_mlops.components.evaluation.rejection import record_rejection_to_markdown

        decision = self.state["decision"]
        record_rejection_to_markdown(
            self.state["metrics"], decision.reasons, self.path("rejection", "rejection")
        )

    def steps(self) -> list[tuple[str, Callable[[], None]]]:
        """The steps before the gate's branch, named as kfp.local names the tasks."""
        return [
            ("resolve-data-version", self.resolve_data_version),
            ("ingest-dataset", self.ingest),
            ("validate-dataset", self.validate),
            ("split-dataset", self.split),
            ("given-hyperparameters", self.given_hyperparameters),
            ("train-sklearn", self.train),
            ("evaluate-classifier", self.evaluate),
            ("champion-challenger-gate", self.gate),
        ]

    def branch(self) -> list[tuple[str, Callable[[], None]]]:
        """The steps the gate's decision runs (without a cluster: no deployment)."""
        if self.state["decision"].approved:
            return [
                ("serve-check", self.serve_check),
                ("register-model-with-card", self.register_with_card),
            ]
        return [("record-rejection", self.record_rejection)]


def timed(step: Callable[[], None]) -> float:
    """Wall seconds of one call."""
    started = time.perf_counter()
    step()
    return time.perf_counter() - started


def bare_worker(data: Path, target: str, work: Path, result: Path) -> None:
    """Runs every step in this process and writes ``{step: seconds}`` to ``result`` as JSON."""
    run = BareRun(data, target, work)
    seconds: Timings = {}
    for name, step in run.steps():
        seconds[name] = timed(step)
    for name, step in run.branch():
        seconds[name] = timed(step)
    result.write_text(json.dumps(seconds), encoding="utf-8")


# --- the kfp.local side, and the fixed overhead ---------------------------------------------------


def step_name(task: str) -> str:
    """kfp.local's task name less the ``-N`` it adds when a component is used twice."""
    return re.sub(r"-\d+$", "", task)


def run_kfp_local(data: Path, target: str, run_dir: Path) -> tuple[Timings, dict[str, float]]:
    """``kfp-mlops run ... --json``: each step's reported seconds, and the run's totals."""
    command = [
        str(Path(sys.executable).with_name("kfp-mlops")),
        "run",
        PIPELINE,
        "--param",
        f"data_uri={data}",
        "--param",
        f"target_column={target}",
        "--json",
        "--run-dir",
        str(run_dir),
    ]
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - started
    if done.returncode not in (0, 3):  # 3: the run succeeded and the gate rejected the model
        raise RuntimeError(f"kfp-mlops run failed ({done.returncode}):\n{done.stderr[-2000:]}")
    summary = json.loads(done.stdout)
    steps = {
        step_name(step["name"]): step["seconds"]
        for step in summary["steps"]
        if step["status"] == "succeeded"
    }
    return steps, {"run": summary["seconds"], "command": wall}


def run_bare(data: Path, target: str, work: Path) -> tuple[Timings, float]:
    """The bare steps in a fresh Python process: seconds per step, and the process's wall time."""
    result = work / "bare.json"
    command = [sys.executable, __file__, "--bare-worker", str(work), "--data", str(data)]
    command += ["--target", target]
    started = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - started
    return json.loads(result.read_text(encoding="utf-8")), wall


def process_seconds(code: str, env: dict[str, str] | None = None) -> float:
    """Wall seconds of ``python3 -c CODE`` in a fresh process."""
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True, env=env)
    return time.perf_counter() - started


def import_seconds(module: str) -> float:
    """Cold import of ``module`` in a fresh process, after the executor's own imports."""
    code = (
        "import time, kfp.dsl.executor_main\n"
        f"started = time.perf_counter()\nimport {module}\n"
        "print(time.perf_counter() - started)"
    )
    env = {**os.environ, "_KFP_RUNTIME": "true"}
    done = subprocess.run(
        [sys.executable, "-c", code], check=True, env=env, capture_output=True, text=True
    )
    return float(done.stdout.strip().splitlines()[-1])


def noop_task_seconds(run_dir: Path) -> list[float]:
    """Seconds of each task of a three-task pipeline of components that return their input."""
    code = (
        "import sys; from pathlib import Path\n"
        f"sys.path.insert(0, {str(Path(__file__).parent)!r})\n"
        "from bench_pipeline import noop_pipeline\n"
        "from kfp_mlops.compile.local_run import run_locally\n"
        f"run = run_locally(noop_pipeline(), {{'value': 1}}, Path({str(run_dir)!r}))\n"
        "assert run.status == 'succeeded', run.error\n"
        "print([step.seconds for step in run.steps])"
    )
    done = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def noop_pipeline() -> object:
    """Three chained tasks of a component that returns its input: the cost of a task alone."""
    from kfp import dsl

    from kfp_mlops.components.images import CPU_IMAGE

    @dsl.component(base_image=CPU_IMAGE, install_kfp_package=False)
    def pass_through(value: int) -> int:
        return value

    @dsl.pipeline(name="bench-noop")
    def noop(value: int) -> None:
        first = pass_through(value=value)
        second = pass_through(value=first.output)
        pass_through(value=second.output)

    return noop


def measure_overhead(work: Path, steps: list[str]) -> dict[str, float]:
    """The fixed per-task costs, and each step's cold import (keys ``import:<step>``)."""
    runtime = {**os.environ, "_KFP_RUNTIME": "true"}
    overhead = {
        "python start": process_seconds("pass"),
        "python start + executor imports": process_seconds("import kfp.dsl.executor_main", runtime),
        "no-op task under kfp.local": statistics.median(noop_task_seconds(work / "noop")),
    }
    for step in steps:
        overhead[f"import:{step}"] = import_seconds(STEP_MODULES[step])
    return overhead


# --- rounds and the report ------------------------------------------------------------------------


def one_round(data: Path, target: str, base: Path, index: int) -> Round:
    """One round: kfp.local, bare and overhead, in an order that alternates between rounds."""
    work = base / f"round-{index}"
    outcome: Round = {}

    def kfp_side() -> None:
        outcome["kfp"], outcome["kfp_totals"] = run_kfp_local(data, target, work / "kfp")

    def bare_side() -> None:
        (work / "bare").mkdir(parents=True)
        outcome["bare"], outcome["bare_wall"] = run_bare(data, target, work / "bare")

    def overhead_side() -> None:
        outcome["overhead"] = measure_overhead(work, list(STEP_MODULES))

    order = [kfp_side, bare_side, overhead_side]
    for side in order if index % 2 == 0 else order[::-1]:
        side()
    kfp_steps, bare_steps = set(outcome["kfp"]), set(outcome["bare"])
    if kfp_steps != bare_steps:
        raise RuntimeError(f"the two sides ran different steps: {kfp_steps ^ bare_steps}")
    print(f"round {index + 1}: {json.dumps(outcome)}", file=sys.stderr)
    return outcome


def best_median(values: list[float]) -> tuple[float, float]:
    return min(values), statistics.median(values)


def step_rows(rounds: list[Round]) -> list[str]:
    """The per-step table, in the order kfp.local ran the steps."""
    rows = [
        "| step | kfp.local best s | kfp.local median s | bare best s | bare median s "
        "| ratio (medians) | kfp.local - bare (medians) s | cold import median s |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for step in rounds[0]["kfp"]:
        kfp_best, kfp_median = best_median([r["kfp"][step] for r in rounds])
        bare_best, bare_median = best_median([r["bare"][step] for r in rounds])
        imported = statistics.median(r["overhead"][f"import:{step}"] for r in rounds)
        rows.append(
            f"| {step} | {kfp_best:.3f} | {kfp_median:.3f} | {bare_best:.3f} | {bare_median:.3f} "
            f"| {kfp_median / bare_median:.1f}x | {kfp_median - bare_median:.3f} "
            f"| {imported:.3f} |"
        )
    return rows


def total_rows(rounds: list[Round]) -> list[str]:
    """Totals of both sides: sums of the steps and the wall time around them."""
    totals = {
        "kfp.local: sum of the steps": [sum(r["kfp"].values()) for r in rounds],
        "kfp.local: the run (compile, orchestration, steps)": [
            r["kfp_totals"]["run"] for r in rounds
        ],
        "kfp.local: the `kfp-mlops run` command, wall": [
            r["kfp_totals"]["command"] for r in rounds
        ],
        "bare: sum of the steps": [sum(r["bare"].values()) for r in rounds],
        "bare: the process, wall": [r["bare_wall"] for r in rounds],
    }
    rows = ["| total | best s | median s |", "| --- | ---: | ---: |"]
    for name, values in totals.items():
        best, median = best_median(values)
        rows.append(f"| {name} | {best:.3f} | {median:.3f} |")
    kfp_sum = statistics.median(sum(r["kfp"].values()) for r in rounds)
    bare_sum = statistics.median(sum(r["bare"].values()) for r in rounds)
    rows.append(f"| ratio of the step sums (medians) | {kfp_sum / bare_sum:.1f}x | |")
    return rows


def overhead_rows(rounds: list[Round]) -> list[str]:
    """The fixed per-task costs, and what they add up to over the tasks that ran."""
    names = [name for name in rounds[0]["overhead"] if not name.startswith("import:")]
    rows = ["| fixed per-task cost | best s | median s |", "| --- | ---: | ---: |"]
    for name in names:
        best, median = best_median([r["overhead"][name] for r in rounds])
        rows.append(f"| {name} | {best:.3f} | {median:.3f} |")
    task = statistics.median(r["overhead"]["no-op task under kfp.local"] for r in rounds)
    tasks = len(rounds[0]["kfp"])
    kfp_sum = statistics.median(sum(r["kfp"].values()) for r in rounds)
    imports = statistics.median(
        sum(r["overhead"][f"import:{step}"] for step in r["kfp"]) for r in rounds
    )
    rows.append(
        f"| no-op task x {tasks} tasks (share of the kfp.local step sum) | | "
        f"{task * tasks:.3f} ({task * tasks / kfp_sum:.0%}) |"
    )
    rows.append(
        f"| the {tasks} steps' cold imports, summed (share of the kfp.local step sum) | | "
        f"{imports:.3f} ({imports / kfp_sum:.0%}) |"
    )
    return rows


def report(rounds: list[Round]) -> str:
    """The three Markdown tables."""
    parts = [step_rows(rounds), total_rows(rounds), overhead_rows(rounds)]
    return "\n\n".join("\n".join(rows) for rows in parts)


# --- command line ---------------------------------------------------------------------------------


def sample_data(folder: Path) -> Path:
    """scikit-learn's breast-cancer data as CSV (label ``target``), as scripts/demo.sh makes it."""
    path = folder / "breast_cancer.csv"
    kfp_mlops = str(Path(sys.executable).with_name("kfp-mlops"))
    subprocess.run([kfp_mlops, "sample-data", "breast-cancer", str(path)], check=True)
    return path


def parse_arguments(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--data", type=Path, help="CSV file (default: breast-cancer sample)")
    parser.add_argument("--target", default="target", help="its label column")
    parser.add_argument("--keep", action="store_true", help="keep the run folders")
    parser.add_argument("--bare-worker", type=Path, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_arguments(argv)
    if args.bare_worker is not None:
        bare_worker(args.data, args.target, args.bare_worker, args.bare_worker / "bare.json")
        return
    base = Path(tempfile.mkdtemp(prefix="bench-pipeline-"))
    try:
        data = (args.data or sample_data(base)).resolve()
        rounds = [one_round(data, args.target, base, index) for index in range(args.rounds)]
        print(f"{PIPELINE} on {data.name}, {args.rounds} rounds (this machine's CPU)\n")
        print(report(rounds))
    finally:
        if args.keep:
            print(f"\nrun folders kept in {base}", file=sys.stderr)
        else:
            shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
