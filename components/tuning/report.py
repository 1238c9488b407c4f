"""Summarize a finished study: best hyperparameters, a table of trials, and an HTML report.

The report is one self-contained HTML file: the charts are Optuna's own plots
(``optuna.visualization.matplotlib``: optimization history, intermediate values, parameter
importances, slice, parallel coordinates) as inline SVG, with no script and no link to fetch, so it
renders offline and inside the KFP UI's sandboxed viewer (:mod:`plots`). It also shows the best
trial and every trial.
"""

import dataclasses
import html
import warnings

import optuna
import pyarrow as pa
from optuna.trial import FrozenTrial, TrialState

from kfp_mlops.components.common.atomic import write_text
from kfp_mlops.components.common.errors import ComponentInputError
from kfp_mlops.components.common.tables import write_parquet
from kfp_mlops.components.tuning import study
from kfp_mlops.components.tuning.plots import study_plots


@dataclasses.dataclass(frozen=True)
class StudySummary:
    """The outcome of a study."""

    study_name: str
    metric: str
    direction: str
    best_trial: int
    best_score: float
    best_hyperparameters: dict[str, object]
    states: dict[str, int]
    trial_count: int
    importances: dict[str, float]

    def metadata(self) -> dict[str, object]:
        """The summary as artifact metadata."""
        return {
            "study_name": self.study_name,
            "metric": self.metric,
            "direction": self.direction,
            "best_trial": self.best_trial,
            "best_score": self.best_score,
            "best_hyperparameters": self.best_hyperparameters,
            "trials": self.states,
            "importances": self.importances,
        }


def _states(trials: list[FrozenTrial]) -> dict[str, int]:
    found = {state.name.lower(): 0 for state in (TrialState.COMPLETE, TrialState.PRUNED)}
    found |= {"fail": 0, "running": 0}
    for trial in trials:
        key = trial.state.name.lower()
        if key in found:
            found[key] += 1
    return found


def _importances(shared: optuna.Study, seed: int, completed: int) -> dict[str, float]:
    if completed < 2:
        return {}
    evaluator = optuna.importance.FanovaImportanceEvaluator(seed=seed)
    values = optuna.importance.get_param_importances(shared, evaluator=evaluator)
    return {name: round(float(value), 6) for name, value in values.items()}


def _cell(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    return html.escape("" if value is None else str(value))


def _table(header: list[str], rows: list[list[object]]) -> str:
    head = "".join(f"<th>{html.escape(name)}</th>" for name in header)
    body = "".join("<tr>" + "".join(f"<td>{_cell(v)}</td>" for v in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _duration(trial: FrozenTrial) -> float | None:
    if trial.datetime_start is None or trial.datetime_complete is None:
        return None
    return round((trial.datetime_complete - trial.datetime_start).total_seconds(), 3)


def trials_table(trials: list[FrozenTrial], parameters: list[str]) -> pa.Table:
    """One row per trial: number, state, value, worker, last step, seconds, error, parameters."""
    columns: dict[str, list[object]] = {
        "number": [t.number for t in trials],
        "state": [t.state.name for t in trials],
        "value": [t.value for t in trials],
        "worker": [t.user_attrs.get(study.WORKER_ATTR) for t in trials],
        "last_step": [
            max(t.intermediate_values) if t.intermediate_values else None for t in trials
        ],
        "seconds": [_duration(t) for t in trials],
        "error": [t.user_attrs.get(study.ERROR_ATTR) for t in trials],
    }
    types = {
        "number": pa.int64(),
        "state": pa.string(),
        "value": pa.float64(),
        "worker": pa.int64(),
        "last_step": pa.int64(),
        "seconds": pa.float64(),
        "error": pa.string(),
    }
    arrays = {name: pa.array(values, types[name]) for name, values in columns.items()}
    for name in parameters:
        # A categorical parameter may mix types (["sqrt", 0.5]); its column holds their text.
        values = [t.params.get(name) for t in trials]
        if all(
            v is None or (isinstance(v, int | float) and not isinstance(v, bool)) for v in values
        ):
            arrays[f"param_{name}"] = pa.array(values, pa.float64())
        else:
            arrays[f"param_{name}"] = pa.array([None if v is None else str(v) for v in values])
    return pa.table(arrays)


_STYLE = """
body { font-family: system-ui, sans-serif; margin: 1.5em; color: #222; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: right; }
th { background: #f3f3f3; } td:first-child, th:first-child { text-align: left; }
.chart svg { max-width: 100%; height: auto; }
"""


def render_html(
    summary: StudySummary,
    config: study.StudyConfig,
    charts: dict[str, str],
    table: pa.Table,
) -> str:
    """The whole report as one HTML document without scripts."""
    title = f"Tuning study {summary.study_name}"
    states = ", ".join(f"{count} {state}" for state, count in summary.states.items() if count)
    best_rows = [[name, value] for name, value in sorted(summary.best_hyperparameters.items())]
    parts = [
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>",
        f"<style>{_STYLE}</style></head><body>",
        f"<h1>{html.escape(title)}</h1>",
        "<p>",
        f"{html.escape(config.estimator)}: {html.escape(config.direction)} validation "
        f"<b>{html.escape(config.metric)}</b> over {config.n_trials} trials on "
        f"{config.n_workers} worker(s), {html.escape(config.sampler)} sampler, "
        f"{html.escape(config.pruner)} pruner, seed {config.seed}. Trials: {html.escape(states)}.",
        "</p>",
        f"<h2>Best: trial {summary.best_trial}, {html.escape(summary.metric)} "
        f"{summary.best_score:.6g}</h2>",
        _table(["hyperparameter", "value"], best_rows),
    ]
    for title, svg in charts.items():
        parts += [f"<h2>{html.escape(title)}</h2>", f"<div class='chart'>{svg}</div>"]
    if "Hyperparameter importances" not in charts:
        parts.append("<p>Importances need two completed trials and a searched parameter.</p>")
    rows = [list(row.values()) for row in table.to_pylist()]
    parts += ["<h2>Trials</h2>", _table(table.column_names, rows), "</body></html>"]
    return "\n".join(parts)


def summarize(
    study_dir: str,
    artifact_uri: str,
    report_path: str,
    trials_path: str,
    grace_period: int = study.GRACE_PERIOD,
) -> StudySummary:
    """Summarizes the study of a study artifact; writes the HTML report and the trials table.

    Trials whose worker died (no heartbeat for ``grace_period`` seconds) are failed first, so the
    report shows the study as it will stay.

    Raises:
        ComponentInputError: No trial of the study completed (the message counts the states and
            quotes the first recorded error).
    """
    shared, config = study.load(study_dir, artifact_uri, grace_period=grace_period)
    with warnings.catch_warnings():
        # Marked experimental like the heartbeat it reads; it fails the trials of dead workers.
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        optuna.storages.fail_stale_trials(shared)
    trials = shared.get_trials(deepcopy=False)
    states = _states(trials)
    completed = [t for t in trials if t.state == TrialState.COMPLETE]
    if not completed:
        errors = [
            t.user_attrs[study.ERROR_ATTR] for t in trials if study.ERROR_ATTR in t.user_attrs
        ]
        first = f"; first error: {errors[0]}" if errors else ""
        raise ComponentInputError(
            f"no trial of study {shared.study_name!r} completed "
            f"({', '.join(f'{count} {state}' for state, count in states.items())}){first}"
        )
    best = shared.best_trial
    best_hyperparameters = {**config.hyperparameters, **best.params}
    summary = StudySummary(
        study_name=shared.study_name,
        metric=config.metric,
        direction=config.direction,
        best_trial=best.number,
        best_score=float(best.value),
        best_hyperparameters={k: best_hyperparameters[k] for k in sorted(best_hyperparameters)},
        states=states,
        trial_count=len(trials),
        importances=_importances(shared, config.seed, len(completed)),
    )
    table = trials_table(trials, sorted(config.search_space))
    write_parquet(table, trials_path)
    charts = study_plots(shared, config.metric, config.seed)
    write_text(report_path, render_html(summary, config, charts, table))
    return summary
