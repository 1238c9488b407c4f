"""The run summary's monitoring section, from the outputs the monitoring steps write."""

from pathlib import Path

from kfp_mlops.compile.local_run import LocalRun, Step
from kfp_mlops.compile.summary import render, summarize


def local_run(outputs: dict[str, dict]) -> LocalRun:
    return LocalRun(
        pipeline="retrain-on-drift",
        status="succeeded",
        run_dir=Path("/runs/x"),
        seconds=12.0,
        steps=[Step(name, "succeeded", 1.0) for name in outputs],
        outputs={name: {"parameterValues": values} for name, values in outputs.items()},
    )


def test_drift_quality_and_decision_are_summarized_and_rendered():
    run = local_run(
        {
            "detect-drift": {
                "drift_detected": True,
                "drifted_features": ["mean radius"],
                "reasons": ["mean radius: drift: PSI 2.6 >= 0.2 and KS p-value 2e-33 <= 0.0017"],
            },
            "check-model-quality": {
                "degraded": False,
                "reasons": ["no champion"],
                "champion_version": "",
            },
            "decide-retraining": {
                "retrain": True,
                "reasons": ["retrain: data drifted", "drift: mean radius: drift: PSI 2.6"],
            },
        }
    )
    summary = summarize(run)

    assert summary["monitoring"] == {
        "drift_detected": True,
        "drifted_features": ["mean radius"],
        "quality_degraded": False,
        "retrain": True,
        "reasons": ["retrain: data drifted", "drift: mean radius: drift: PSI 2.6"],
    }
    text = render(summary)
    assert "Monitoring: drifted features: mean radius" in text
    assert "  quality degraded: no\n  retrain: yes\n  retrain: data drifted" in text


def test_runs_without_monitoring_steps_have_no_section():
    summary = summarize(local_run({"train-sklearn": {}}))

    assert summary["monitoring"] is None
    assert "Monitoring" not in render(summary)
