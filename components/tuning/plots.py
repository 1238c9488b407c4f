"""Optuna's own plots of a study, as inline SVG for the tuning report.

The charts are drawn by ``optuna.visualization.matplotlib`` (optimization history, intermediate
values, parameter importances, slice, parallel coordinates) and embedded as SVG: the report stays
one self-contained file with no script, so it renders in the KFP UI's sandboxed frame and offline.
The plotly flavour (``optuna.visualization``) would need plotly, not a dependency here, and
plotly.js inlined in every report (megabytes of script); matplotlib is already a dependency and its
SVG is a few tens of kilobytes.

Optuna's matplotlib functions draw on pyplot's current figure (optuna 5.0
``visualization/matplotlib/_optimization_history.py``: ``plt.subplots()``), so each figure is
closed once written, and pyplot runs on the non-interactive Agg backend.
"""

import io
import warnings
from collections.abc import Callable

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # after choosing the backend
import optuna
from optuna.visualization import matplotlib as optuna_plots


def _svg(axes: object) -> str:
    """The figure holding ``axes`` (one Axes or an array of them) as an ``<svg>`` element."""
    first = axes.flat[0] if hasattr(axes, "flat") else axes
    figure = first.get_figure()
    buffer = io.StringIO()
    try:
        with matplotlib.rc_context({"svg.hashsalt": "kfp-mlops", "svg.fonttype": "none"}):
            figure.savefig(buffer, format="svg", bbox_inches="tight", metadata={"Date": None})
    finally:
        plt.close(figure)
    text = buffer.getvalue()
    return text[text.index("<svg") :]


def study_plots(study: optuna.Study, metric: str, seed: int) -> dict[str, str]:
    """Title to SVG of each of Optuna's plots that the study has data for.

    Args:
        study: The study, with at least one completed trial.
        metric: The validation metric's name, for the axes.
        seed: The fANOVA importance evaluator's seed (the same study gives the same chart).

    Returns:
        ``Optimization history``, ``Intermediate values`` (when trials reported steps),
        ``Hyperparameter importances`` and ``Parallel coordinates`` (two completed trials or more,
        with searched parameters), and ``Slice`` (searched parameters).
    """
    trials = study.get_trials(deepcopy=False)
    completed = [t for t in trials if t.state == optuna.trial.TrialState.COMPLETE]
    searched = sorted({name for t in completed for name in t.params})
    target_name = f"validation {metric}"
    plots: dict[str, Callable[[], object]] = {
        "Optimization history": lambda: optuna_plots.plot_optimization_history(
            study, target_name=target_name
        ),
    }
    if any(t.intermediate_values for t in trials):
        plots["Intermediate values"] = lambda: optuna_plots.plot_intermediate_values(study)
    if len(completed) >= 2 and searched:
        evaluator = optuna.importance.FanovaImportanceEvaluator(seed=seed)
        plots["Hyperparameter importances"] = lambda: optuna_plots.plot_param_importances(
            study, evaluator=evaluator
        )
    if searched:
        plots["Slice"] = lambda: optuna_plots.plot_slice(study, target_name=target_name)
    if len(completed) >= 2 and searched:
        plots["Parallel coordinates"] = lambda: optuna_plots.plot_parallel_coordinate(
            study, target_name=target_name
        )
    drawn = {}
    with warnings.catch_warnings():
        # optuna.visualization.matplotlib is marked experimental (optuna 5.0).
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        for title, plot in plots.items():
            drawn[title] = _svg(plot())
    return drawn
