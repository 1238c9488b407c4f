"""Runs a pipeline through the command users run, ``kfp-mlops run NAME --json``."""

import json
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path

CLI = str(Path(sys.executable).parent / "kfp-mlops")
"""The kfp-mlops command of this environment."""


def run_command(name: str, run_dir: Path, params: Iterable[str]) -> list[str]:
    """The command line of ``kfp-mlops run NAME --json`` with each ``KEY=VALUE`` as a --param."""
    line = [CLI, "run", name, "--json", "--run-dir", str(run_dir)]
    for param in params:
        line += ["--param", param]
    return line


def run_pipeline(
    name: str, run_dir: Path, params: Iterable[str], timeout: float = 900
) -> tuple[int, dict]:
    """Runs pipeline ``name``; returns its exit status and the JSON summary it printed."""
    finished = subprocess.run(
        run_command(name, run_dir, params), capture_output=True, text=True, timeout=timeout
    )
    assert finished.stdout.strip(), finished.stderr[-3000:]
    return finished.returncode, json.loads(finished.stdout)


def step_statuses(summary: dict) -> dict[str, str]:
    """Step name to its status, from a run summary."""
    return {step["name"]: step["status"] for step in summary["steps"]}
