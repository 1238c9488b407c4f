"""Benchmark tuning: TPE with median pruning against grid search, and one against two workers.

Usage, from the repository root in the project's virtual environment::

    python bench/bench_tuning.py               # 3 rounds of each comparison
    python bench/bench_tuning.py --repeats 5 --no-postgres

Both comparisons run the library's own tuning code (``study.create`` + ``worker.run_worker``) on
scikit-learn's digits data (1,797 8x8 images, 10 classes), split by our own data steps, with a
random forest scored by validation accuracy.

1. Search, at equal trial budgets: grid search (Optuna's GridSampler, no pruning) runs every one
   of the 24 combinations of a grid; TPE with the median pruner runs 24 trials over the same
   values. Reported: the best validation accuracy and the wall time of each.
2. Parallel workers, at equal trial budgets (random sampler, no pruning, so every trial does the
   same kind of work): one worker process runs all the trials, or two worker processes run half
   each at the same time against one study. Reported: trials per second, start to end, including
   process start and data loading, and while trials run (first trial start to last trial end).
   On SQLite (the local default) and, when the PostgreSQL server binaries are installed, on a
   throwaway PostgreSQL server (the cluster setting). The baseline, in the same rounds: the same
   forests fitted and scored in one or two plain processes, without Optuna or storage, which is
   the speed-up the machine itself gives two processes at that moment.

Rounds alternate the order of what they compare; the tables give the best and the median round.
"""

import argparse
import concurrent.futures
import contextlib
import multiprocessing
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

GRID = {
    "n_estimators": {"type": "categorical", "choices": [50, 150, 300]},
    "max_depth": {"type": "categorical", "choices": [3, 6, 12, 24]},
    "max_features": {"type": "categorical", "choices": ["sqrt", 0.5]},
}
"""24 combinations; shallow trees are clearly worse, which is what pruning can exploit."""

PARALLEL_SPACE = {
    "n_estimators": {"type": "int", "low": 100, "high": 200},
    "max_depth": {"type": "int", "low": 6, "high": 24},
}


def bare_fits(splits: dict[str, str], count: int, seed: int) -> int:
    """The baseline's work: ``count`` forests from the same space, no Optuna, no storage."""
    import numpy as np

    from kfp_mlops.components.tuning.trainers import SklearnTrainer

    trainer = SklearnTrainer(
        "random_forest", splits["train"], splits["validation"], "target", "accuracy"
    )
    rng = np.random.default_rng(seed)
    for _ in range(count):
        hyperparameters = {
            "n_estimators": int(rng.integers(100, 201)),
            "max_depth": int(rng.integers(6, 25)),
        }
        list(trainer.fit_steps(hyperparameters, seed))  # grown and scored as a trial is
    return count


def bare_round(splits: dict[str, str], workers: int, trials: int) -> dict:
    """The same number of forests in ``workers`` plain processes: the machine's own speed-up."""
    context = multiprocessing.get_context("spawn")
    started = time.perf_counter()
    with concurrent.futures.ProcessPoolExecutor(workers, mp_context=context) as pool:
        futures = [pool.submit(bare_fits, splits, trials // workers, w) for w in range(workers)]
        done = sum(f.result() for f in futures)
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "trials": done, "rate": done / seconds}


def digits_splits(folder: Path) -> dict[str, str]:
    """Train, validation and test Parquet files of digits, made by our data steps."""
    from sklearn.datasets import load_digits

    from kfp_mlops.components.data.ingest import ingest_to_parquet
    from kfp_mlops.components.data.split import split_to_parquet

    frame = load_digits(as_frame=True).frame
    frame.to_csv(folder / "digits.csv", index=False)
    ingest_to_parquet(str(folder / "digits.csv"), str(folder / "dataset.parquet"))
    paths = {name: str(folder / f"{name}.parquet") for name in ("train", "validation", "test")}
    split_to_parquet(str(folder / "dataset.parquet"), paths, "target")
    return paths


def new_study(folder: Path, space: dict, sampler: str, pruner: str, trials: int, workers: int,
              seed: int) -> Path:  # fmt: skip
    """Creates a study in ``folder`` (the storage is OPTUNA_STORAGE_URL or SQLite there)."""
    from kfp_mlops.components.tuning import study

    config = study.build_config(
        "random_forest", space, None, "accuracy", sampler, pruner, seed, trials, workers
    )
    study.create(folder, str(folder), folder.name, config)
    return folder


def run_one_worker(folder: str, splits: dict[str, str], worker: int) -> object:
    """One worker's share (a function a worker process can import)."""
    from kfp_mlops.components.tuning.worker import run_worker

    return run_worker(folder, folder, splits["train"], splits["validation"], "target", worker)


def search_round(base: Path, splits: dict[str, str], method: str, seed: int) -> dict:
    """One study of 24 trials by ``method`` (grid or tpe); its best score and wall time."""
    from kfp_mlops.components.tuning import study

    sampler, pruner = ("grid", "none") if method == "grid" else ("tpe", "median")
    folder = new_study(base / f"{method}-{seed}", GRID, sampler, pruner, 24, 1, seed)
    started = time.perf_counter()
    result = run_one_worker(str(folder), splits, 0)
    seconds = time.perf_counter() - started
    shared, _ = study.load(folder, str(folder))
    return {
        "best": shared.best_value,
        "seconds": seconds,
        "pruned": result.pruned,
        "trials": result.completed + result.pruned + result.failed,
    }


def parallel_round(base: Path, splits: dict[str, str], workers: int, trials: int, tag: str) -> dict:
    """``trials`` random-search trials by ``workers`` processes at once; trials per second."""
    folder = new_study(base / f"parallel-{tag}-{workers}", PARALLEL_SPACE, "random", "none",
                       trials, workers, 0)  # fmt: skip
    context = multiprocessing.get_context("spawn")
    started = time.perf_counter()
    with concurrent.futures.ProcessPoolExecutor(workers, mp_context=context) as pool:
        futures = [pool.submit(run_one_worker, str(folder), splits, w) for w in range(workers)]
        done = sum(f.result().completed for f in futures)
    seconds = time.perf_counter() - started
    from kfp_mlops.components.tuning import study

    trials = study.load(folder, str(folder))[0].get_trials()
    working = max(t.datetime_complete for t in trials) - min(t.datetime_start for t in trials)
    return {
        "seconds": seconds,
        "trials": done,
        "rate": done / seconds,
        "trial_rate": done / working.total_seconds(),
    }


def best_and_median(values: list[float]) -> tuple[float, float]:
    """The smallest (best for times) and the median value."""
    return min(values), statistics.median(values)


def main() -> None:
    """Runs both comparisons and prints the markdown tables."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="rounds of each comparison")
    parser.add_argument("--parallel-trials", type=int, default=24, help="trials per study")
    parser.add_argument(
        "--only", choices=("search", "parallel"), default=None, help="run one comparison only"
    )
    parser.add_argument(
        "--no-postgres", action="store_true", help="skip the PostgreSQL parallel rounds"
    )
    args = parser.parse_args()

    import logging

    import optuna

    optuna.logging.set_verbosity(logging.WARNING)
    print(f"Machine: {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"load average at the start {os.getloadavg()[0]:.2f}")  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="bench-tuning-") as folder:
        base = Path(folder)
        splits = digits_splits(base)
        if args.only != "parallel":
            print_search(run_search(base, splits, args.repeats))
        if args.only != "search":
            storages, parallel = run_parallel(base, splits, args)
            print_parallel(storages, parallel, args.parallel_trials)
    print(f"\nLoad average at the end: {os.getloadavg()[0]:.2f}")


def run_search(base: Path, splits: dict[str, str], repeats: int) -> dict[str, list[dict]]:
    """Alternating rounds of grid search and TPE with pruning."""
    search: dict[str, list[dict]] = {"grid": [], "tpe": []}
    for round_index in range(repeats):
        order = ["grid", "tpe"] if round_index % 2 == 0 else ["tpe", "grid"]
        for method in order:
            search[method].append(search_round(base, splits, method, seed=round_index))
            print(f"search round {round_index} {method}: {search[method][-1]}", file=sys.stderr)
    return search


def print_search(search: dict[str, list[dict]]) -> None:
    """The search comparison as a markdown table."""
    print("\nSearch at equal budgets (24 trials, digits, random forest, validation accuracy)\n")
    print("| method | best accuracy (median) | best accuracy (best) | wall s (best) | "
          "wall s (median) | pruned trials (median) |")  # fmt: skip
    print("| --- | --- | --- | --- | --- | --- |")
    for method, label in (("grid", "grid search, no pruning"), ("tpe", "**TPE + median pruning**")):
        rounds = search[method]
        fastest, median = best_and_median([r["seconds"] for r in rounds])
        scores = [r["best"] for r in rounds]
        pruned = statistics.median(r["pruned"] for r in rounds)
        print(f"| {label} | {statistics.median(scores):.4f} | {max(scores):.4f} | {fastest:.2f} | "
              f"{median:.2f} | {pruned:g} |")  # fmt: skip
    grid_median = statistics.median(r["seconds"] for r in search["grid"])
    tpe_median = statistics.median(r["seconds"] for r in search["tpe"])
    print(f"\nTPE + pruning wall time / grid wall time (medians): {tpe_median / grid_median:.2f} "
          f"({(1 - tpe_median / grid_median) * 100:.0f} % less time)")  # fmt: skip


def run_parallel(
    base: Path, splits: dict[str, str], args: argparse.Namespace
) -> tuple[list[str], dict[tuple[str, int], list[dict]]]:
    """Alternating rounds of one and two workers, on SQLite and (when installed) PostgreSQL."""
    storages = ["bare processes (baseline)", "sqlite"]
    if not args.no_postgres:
        sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
        from support.postgres import running_postgres, server_bin_dir

        try:
            server_bin_dir()
            storages.append("postgresql")
        except RuntimeError as error:
            print(f"PostgreSQL rounds skipped: {error}", file=sys.stderr)
    parallel: dict[tuple[str, int], list[dict]] = {}
    server = running_postgres() if "postgresql" in storages else contextlib.nullcontext()
    with server as postgres:
        for storage in storages:
            for round_index in range(args.repeats):
                for workers in [1, 2] if round_index % 2 == 0 else [2, 1]:
                    tag = f"{storage}-{round_index}"
                    if storage.startswith("bare"):
                        outcome = bare_round(splits, workers, args.parallel_trials)
                        parallel.setdefault((storage, workers), []).append(outcome)
                        print(f"parallel {tag} x{workers}: {outcome}", file=sys.stderr)
                        continue
                    if storage == "postgresql":
                        name = f"bench_{round_index}_{workers}"
                        os.environ["OPTUNA_STORAGE_URL"] = postgres.create_database(name)
                    else:
                        os.environ.pop("OPTUNA_STORAGE_URL", None)
                    outcome = parallel_round(base, splits, workers, args.parallel_trials, tag)
                    parallel.setdefault((storage, workers), []).append(outcome)
                    print(f"parallel {tag} x{workers}: {outcome}", file=sys.stderr)
        os.environ.pop("OPTUNA_STORAGE_URL", None)
    return storages, parallel


def print_parallel(
    storages: list[str], parallel: dict[tuple[str, int], list[dict]], trials: int
) -> None:
    """The parallel comparison as a markdown table: whole run, and trials phase only."""
    print(f"\nParallel workers ({trials} trials per study, random sampler, no pruning)\n")
    print("| storage | workers | trials/s end to end (best / median) | speed-up | "
          "trials/s while trials run (best / median) | speed-up |")  # fmt: skip
    print("| --- | --- | --- | --- | --- | --- |")
    for storage in storages:
        keys = ("rate",) if storage.startswith("bare") else ("rate", "trial_rate")
        one = {key: statistics.median(r[key] for r in parallel[(storage, 1)]) for key in keys}
        for workers in (1, 2):
            cells = []
            for key in keys:
                values = [r[key] for r in parallel[(storage, workers)]]
                median = statistics.median(values)
                cells += [f"{max(values):.2f} / {median:.2f}", f"{median / one[key]:.2f}x"]
            cells += ["-", "-"] if len(keys) == 1 else []
            print(f"| {storage} | {workers} | {' | '.join(cells)} |")


if __name__ == "__main__":
    main()
