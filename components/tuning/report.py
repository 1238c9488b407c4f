"""Summarize a finished study: best hyperparameters, a table of trials, and an HTML report.

The report is one self-contained HTML file: the charts are inline SVG drawn with matplotlib, with
no script and no link to fetch, so it renders offline and inside the KFP UI's sandboxed viewer.
It shows the optimization history (every trial's score, the best so far, pruned trials where they
stopped), the validation score of each trial step by step (where pruning cut trials short), the
parameter importances (fANOVA), the best trial, and every trial.
"""

import dataclasses
import html
import io
import warnings

import matplotlib
import optuna
import pyarrow as pa
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator
from optuna.trial import FrozenTrial, TrialState

from kfp_mlops.components.common.atomic import write_text
from kfp_mlops.components.common.errors import ComponentInputError
from kfp_mlops.components.common.tables import write_parquet
from kfp_mlops.components.tuning import study

_COLORS = {"COMPLETE": "#1f77b4", "PRUNED": "#d62728", "FAIL": "#7f7f7f", "RUNNING": "#ff7f0e"}


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


def _svg(figure: Figure) -> str:
    buffer = io.StringIO()
    with matplotlib.rc_context({"svg.hashsalt": "kfp-mlops", "svg.fonttype": "none"}):
        figure.savefig(buffer, format="svg", bbox_inches="tight", metadata={"Date": None})
    text = buffer.getvalue()
    return text[text.index("<svg") :]


def _last_intermediate(trial: FrozenTrial) -> tuple[int, float] | None:
    if not trial.intermediate_values:
        return None
    step = max(trial.intermediate_values)
    return step, trial.intermediate_values[step]


def history_chart(trials: list[FrozenTrial], metric: str, direction: str) -> str:
    """SVG: each trial's score by trial number, the best so far, and where pruned trials stopped."""
    figure = Figure(figsize=(7.5, 3.6))
    axes = figure.subplots()
    completed = [t for t in trials if t.state == TrialState.COMPLETE]
    axes.scatter(
        [t.number for t in completed],
        [t.value for t in completed],
        color=_COLORS["COMPLETE"],
        label="completed",
        zorder=3,
    )
    pruned = [(t.number, _last_intermediate(t)) for t in trials if t.state == TrialState.PRUNED]
    pruned = [(number, last) for number, last in pruned if last is not None]
    if pruned:
        axes.scatter(
            [number for number, _ in pruned],
            [last[1] for _, last in pruned],
            color=_COLORS["PRUNED"],
            marker="x",
            label="pruned (score when stopped)",
            zorder=3,
        )
    best: list[tuple[int, float]] = []
    better = max if direction == "maximize" else min
    for trial in sorted(completed, key=lambda t: t.number):
        value = trial.value if not best else better(best[-1][1], trial.value)
        best.append((trial.number, value))
    if best:
        last = max(t.number for t in trials)
        best.append((last, best[-1][1]))  # the best so far holds to the last trial
        axes.step(
            [n for n, _ in best], [v for _, v in best], where="post", color="#2ca02c", label="best"
        )
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes.set_xlabel("trial")
    axes.set_ylabel(f"validation {metric}")
    axes.set_title("Optimization history")
    axes.grid(alpha=0.3)
    axes.legend(loc="best", fontsize="small")
    return _svg(figure)


def steps_chart(trials: list[FrozenTrial], metric: str) -> str:
    """SVG: each trial's validation score after each step; pruned trials stop early."""
    figure = Figure(figsize=(7.5, 3.6))
    axes = figure.subplots()
    labelled: set[str] = set()
    steps: set[int] = set()
    for trial in trials:
        if not trial.intermediate_values:
            continue
        points = sorted(trial.intermediate_values.items())
        steps.update(step for step, _ in points)
        state = trial.state.name
        label = {"COMPLETE": "completed", "PRUNED": "pruned"}.get(state, state.lower())
        axes.plot(
            [step for step, _ in points],
            [value for _, value in points],
            marker="o",
            markersize=3,
            linewidth=1,
            alpha=0.7,
            color=_COLORS.get(state, "#7f7f7f"),
            label=None if label in labelled else label,
        )
        labelled.add(label)
    if len(steps) > 1 and min(steps) > 0 and max(steps) / min(steps) >= 8:
        axes.set_xscale("log")
    axes.set_xlabel("step (trees, iterations or epochs)")
    axes.set_ylabel(f"validation {metric}")
    axes.set_title("Validation score step by step")
    axes.grid(alpha=0.3)
    if labelled:
        axes.legend(loc="best", fontsize="small")
    return _svg(figure)


def importance_chart(importances: dict[str, float]) -> str:
    """SVG: a horizontal bar per parameter, most important on top."""
    names = sorted(importances, key=importances.get)
    figure = Figure(figsize=(7.5, 0.5 + 0.4 * max(len(names), 1)))
    axes = figure.subplots()
    axes.barh(names, [importances[name] for name in names], color=_COLORS["COMPLETE"])
    axes.set_xlabel("importance (fANOVA, share of variance)")
    axes.set_title("Hyperparameter importances")
    axes.set_xlim(0, 1)
    return _svg(figure)


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
    trials: list[FrozenTrial],
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
        "<h2>Optimization history</h2>",
        f"<div class='chart'>{history_chart(trials, config.metric, config.direction)}</div>",
        "<h2>Validation score step by step</h2>",
        f"<div class='chart'>{steps_chart(trials, config.metric)}</div>",
        "<h2>Hyperparameter importances</h2>",
    ]
    if summary.importances:
        parts.append(f"<div class='chart'>{importance_chart(summary.importances)}</div>")
    else:
        parts.append("<p>Importances need at least two completed trials.</p>")
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
    write_text(report_path, render_html(summary, config, trials, table))
    return summary
