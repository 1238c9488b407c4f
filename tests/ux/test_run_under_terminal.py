"""``kfp-mlops run`` under a pseudo-terminal: a running step is shown before it finishes, its lines
are followed, ``--json`` stays one object on standard output, and the run page links the reports."""

import json
import os
import pty
import re
import select
import subprocess
import time
from pathlib import Path

import pytest
from support.cli_runs import run_command

pytestmark = pytest.mark.slow

_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]|\r")


def read_terminal(process: subprocess.Popen, fd: int, timeout: float) -> list[tuple[float, str]]:
    """Everything the process writes to the terminal ``fd``, in chunks with the time each came."""
    chunks: list[tuple[float, str]] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.5)
        if ready:
            try:
                data = os.read(fd, 65536)
            except OSError:  # the terminal closed: the process has exited
                break
            if not data:
                break
            chunks.append((time.monotonic(), data.decode(errors="replace")))
        elif process.poll() is not None:
            break
    return chunks


def test_a_running_step_is_shown_with_its_seconds_before_it_finishes(
    breast_cancer_csv: Path, tmp_path: Path
):
    primary, secondary = pty.openpty()
    command = run_command(
        "tabular-classification",
        tmp_path,
        [f"data_uri={breast_cancer_csv}", "target_column=target"],
    )
    process = subprocess.Popen(
        command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=secondary, text=True
    )
    os.close(secondary)
    try:
        chunks = read_terminal(process, primary, timeout=900)
        stdout, _ = process.communicate(timeout=60)
    finally:
        os.close(primary)

    terminal = "".join(text for _, text in chunks)
    # The running line, redrawn in place with a growing number of seconds, precedes the end line.
    running = [m.start() for m in re.finditer(r"running   train-sklearn \d+\.\d s", terminal)]
    finished = terminal.index("succeeded train-sklearn")
    assert running and running[0] < finished, terminal[-3000:]
    first_chunk = next(i for i, (_, text) in enumerate(chunks) if "running   train-sklearn" in text)
    last_chunk = next(i for i, (_, text) in enumerate(chunks) if "succeeded train-sklearn" in text)
    assert last_chunk > first_chunk, "the start and the end of the step came in one write"
    # On a terminal the steps' own lines are followed, prefixed by the step's name.
    assert re.search(r"\[serve-check\] \S", _ANSI.sub("", terminal)), terminal[-3000:]

    # Standard output, not a terminal here, holds the one JSON object and nothing else.
    summary = json.loads(stdout)
    assert process.returncode == 0, summary["error"]
    assert summary["status"] == "succeeded"

    index = (tmp_path / "index.html").read_text(encoding="utf-8")
    assert "train-sklearn" in index and "succeeded" in index
    links = re.findall(r'href="([^"]+)"', index)
    assert any("validate-dataset/report" in link for link in links), links
    assert any("champion-challenger-gate/decision" in link for link in links), links
    assert "reports/register-model-with-card-card.html" in links, links
    for link in links:
        assert (tmp_path / link).is_file(), link
