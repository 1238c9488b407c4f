"""What ``kfp-mlops run`` shows while it runs: steps as they start, their time, their own lines."""

import io
import time

from kfp_mlops.compile.local_run import Step
from kfp_mlops.compile.progress import Progress


def test_a_step_is_shown_when_it_starts_and_when_it_ends():
    out = io.StringIO()
    progress = Progress(out, follow=False, live=False)
    step = Step("train-sklearn")

    progress.started(step)
    assert out.getvalue() == "  running   train-sklearn\n"

    step.status, step.seconds = "succeeded", 2.25
    progress.finished(step)
    progress.close()
    assert out.getvalue().splitlines()[-1] == "  succeeded train-sklearn 2.2 s"


def test_following_prints_the_steps_lines_with_its_name_and_drops_the_executor_noise():
    out = io.StringIO()
    progress = Progress(out, follow=True, live=False)
    step = Step("run-trials")
    progress.started(step)
    for line in [
        "12:00:00.000 - INFO - Streamed logs:",
        "    [KFP Executor 2026-12-03 14:14:07,252 INFO]: Got executor_input:",
        "    {",
        '        "inputs": {}',
        "    }",
        "    trial 3 finished: roc_auc 0.981",
        "",
    ]:
        progress.line(step, line)
    progress.close()

    assert out.getvalue().splitlines()[1:] == ["  [run-trials] trial 3 finished: roc_auc 0.981"]


def test_without_following_the_steps_lines_are_not_printed():
    out = io.StringIO()
    progress = Progress(out, follow=False, live=False)
    step = Step("run-trials")
    progress.started(step)
    progress.line(step, "trial 3 finished")
    progress.close()
    assert "trial 3" not in out.getvalue()


def test_on_a_terminal_the_running_step_counts_its_seconds_in_place():
    out = io.StringIO()
    progress = Progress(out, follow=False, live=True, interval=0.02)
    step = Step("train-sklearn")
    progress.started(step)
    time.sleep(0.2)
    step.status, step.seconds = "succeeded", 0.2
    progress.finished(step)
    progress.close()

    text = out.getvalue()
    assert text.count("\r\x1b[K") >= 3, text
    assert text.endswith("  succeeded train-sklearn 0.2 s\n")
