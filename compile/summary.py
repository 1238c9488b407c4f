"""What a local run did, as a dict for ``--json`` and as text a person reads in ten seconds.

The summary reads the outputs by the names this library's components give them: a ``metrics``
artifact (numbers in its metadata), a gate's ``approved`` and ``reasons``, a registration's
``model_version``, ``model_uri``, ``run_id`` and ``champion_version`` (when it promoted), and a
serve-check's ``endpoint`` and latencies.
"""

import numbers

from kfp_mlops.compile.local_run import LocalRun

_REGISTRY_KEYS = (
    "registered_model_name",
    "model_version",
    "model_uri",
    "run_id",
    "tracking_uri",
    "champion_version",
)
"""A registration's outputs the summary shows; champion_version when the step promoted."""


def _parameters(outputs: dict[str, dict]) -> dict[str, dict]:
    return {task: output.get("parameterValues", {}) for task, output in outputs.items()}


def _metrics(outputs: dict[str, dict]) -> dict[str, float]:
    """The numbers in ``metrics`` artifacts, less row counts such as ``test_rows``."""
    found: dict[str, float] = {}
    for output in outputs.values():
        for entry in output.get("artifacts", {}).get("metrics", {}).get("artifacts", []):
            for name, value in entry.get("metadata", {}).items():
                is_number = isinstance(value, numbers.Number) and not isinstance(value, bool)
                if is_number and not name.endswith("_rows"):
                    found[name] = value
    return found


def _first_with(parameters: dict[str, dict], key: str) -> dict | None:
    return next((values for values in parameters.values() if key in values), None)


def _monitoring(parameters: dict[str, dict]) -> dict[str, object] | None:
    """What the monitoring steps found: drift, the champion's quality, the retraining decision."""
    drift = _first_with(parameters, "drift_detected")
    quality = _first_with(parameters, "degraded")
    decision = _first_with(parameters, "retrain")
    if drift is None and quality is None:
        return None
    return {
        "drift_detected": None if drift is None else bool(drift["drift_detected"]),
        "drifted_features": [] if drift is None else list(drift.get("drifted_features", [])),
        "quality_degraded": None if quality is None else bool(quality["degraded"]),
        "retrain": None if decision is None else bool(decision["retrain"]),
        "reasons": list((decision or drift or quality).get("reasons", [])),
    }


def _tuning(parameters: dict[str, dict]) -> dict[str, object] | None:
    """What a tuning study found: the best trial, its score and hyperparameters."""
    found = _first_with(parameters, "best_hyperparameters")
    if found is None:
        return None
    return {key: found[key] for key in ("best_trial", "best_score", "best_hyperparameters")}


def summarize(run: LocalRun) -> dict[str, object]:
    """The run as one JSON-ready dict: status, error, steps, metrics, gate, registry, serving."""
    parameters = _parameters(run.outputs)
    gate_values = _first_with(parameters, "approved")
    registry_values = _first_with(parameters, "model_version")
    serving_values = _first_with(parameters, "endpoint")
    return {
        "pipeline": run.pipeline,
        "status": run.status,
        "error": run.error,
        "error_kind": run.error_kind,
        "run_dir": str(run.run_dir),
        "seconds": run.seconds,
        "steps": [
            {
                "name": step.name,
                "status": step.status,
                "seconds": step.seconds,
                "error": step.error,
                "error_kind": step.error_kind,
            }
            for step in run.steps
        ],
        "metrics": _metrics(run.outputs),
        "gate": (
            None
            if gate_values is None
            else {
                "approved": bool(gate_values["approved"]),
                "reasons": list(gate_values.get("reasons", [])),
            }
        ),
        "registry": (
            None
            if registry_values is None
            else {
                key: registry_values[key]
                for key in _REGISTRY_KEYS
                if registry_values.get(key) not in (None, "")
            }
        ),
        "serving": serving_values,
        "monitoring": _monitoring(parameters),
        "tuning": _tuning(parameters),
    }


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f} s"


def _value(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.2f}" if abs(value) >= 1 else f"{value:.4g}"
    return str(value)


def render(summary: dict[str, object]) -> str:
    """The summary as a few lines of text."""
    lines = [
        f"{summary['pipeline']}: {str(summary['status']).upper()} in {summary['seconds']:.1f} s",
        f"  run folder: {summary['run_dir']}",
    ]
    if summary["error"]:
        lines.append(f"  error: {summary['error']}")
    lines += ["", "Steps"]
    width = max(len(step["name"]) for step in summary["steps"])
    for step in summary["steps"]:
        lines.append(f"  {step['name']:<{width}}  {_seconds(step['seconds']):>8}  {step['status']}")
    if summary["metrics"]:
        lines += ["", "Metrics"]
        lines += [f"  {name:<10} {value:.4f}" for name, value in sorted(summary["metrics"].items())]
    tuning = summary.get("tuning")
    if tuning:
        best = f"best trial {tuning['best_trial']}, score {tuning['best_score']:.4f}"
        lines += ["", f"Tuning: {best}"]
        lines += [f"  {k}: {_value(v)}" for k, v in sorted(tuning["best_hyperparameters"].items())]
    monitoring = summary.get("monitoring")
    if monitoring:
        drifted = ", ".join(monitoring["drifted_features"]) or "none"
        lines += ["", f"Monitoring: drifted features: {drifted}"]
        if monitoring["quality_degraded"] is not None:
            lines.append(f"  quality degraded: {'yes' if monitoring['quality_degraded'] else 'no'}")
        if monitoring["retrain"] is not None:
            lines.append(f"  retrain: {'yes' if monitoring['retrain'] else 'no'}")
        lines += [f"  {reason}" for reason in monitoring["reasons"]]
    gate = summary["gate"]
    if gate is not None:
        decision = "APPROVED" if gate["approved"] else "REJECTED"
        lines += ["", f"Gate: {decision}"]
        lines += [f"  {reason}" for reason in gate["reasons"]]
    registry = summary["registry"]
    if registry:
        lines += ["", "MLflow"]
        lines += [f"  {key}: {_value(value)}" for key, value in registry.items()]
    serving = summary["serving"]
    if serving:
        lines += ["", "Serving (KServe model server)"]
        lines += [f"  {key}: {_value(value)}" for key, value in serving.items()]
    return "\n".join(lines)
