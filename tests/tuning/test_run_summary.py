"""The run summary's tuning section, from the outputs summarize-study writes."""

from pathlib import Path

from kfp_mlops.compile.local_run import LocalRun, Step
from kfp_mlops.compile.summary import render, summarize


def local_run(outputs: dict[str, dict]) -> LocalRun:
    return LocalRun(
        pipeline="tabular-classification",
        status="succeeded",
        run_dir=Path("/runs/x"),
        seconds=30.0,
        steps=[Step(name, "succeeded", 1.0) for name in outputs],
        outputs={name: {"parameterValues": values} for name, values in outputs.items()},
    )


def test_the_best_trial_is_summarized_and_rendered():
    summary = summarize(
        local_run(
            {
                "summarize-study": {
                    "best_trial": 7,
                    "best_score": 0.9912,
                    "best_hyperparameters": {"n_estimators": 120.0, "max_depth": 9.0},
                },
                "train-sklearn": {},
            }
        )
    )
    assert summary["tuning"] == {
        "best_trial": 7,
        "best_score": 0.9912,
        "best_hyperparameters": {"n_estimators": 120.0, "max_depth": 9.0},
    }
    text = render(summary)
    assert "Tuning: best trial 7, score 0.9912" in text
    assert text.index("max_depth: 9.00") < text.index("n_estimators: 120.00")


def test_a_run_without_tuning_has_no_tuning_section():
    summary = summarize(local_run({"given-hyperparameters": {"Output": {}}}))
    assert summary["tuning"] is None
    assert "Tuning" not in render(summary)
