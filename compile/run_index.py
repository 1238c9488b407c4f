"""``index.html`` in a local run's folder: the local counterpart of the KFP UI's run page.

It lists the steps with their status and seconds, and links to every HTML and Markdown artifact the
run wrote (validation, evaluation, gate, drift and tuning reports, model cards), found by the type
each component declares for its outputs in the compiled pipeline spec, so that a new report is
linked without editing this module. The page is self-contained and its links are relative, so the
run folder can be moved or archived as a whole.

KFP names an artifact's file after its output (``report``, ``card``), without a suffix, and a
browser shows such a file as plain text: each HTML artifact is therefore copied to
``reports/<task>-<output>.html`` in the run folder, and the page links the copy. Markdown ones are
linked as they are (plain text is how Markdown reads).
"""

import html
import os
from pathlib import Path

from kfp.dsl import graph_component

from kfp_mlops.components.common.atomic import write_text

_REPORT_TYPES = {"system.HTML": "HTML", "system.Markdown": "Markdown"}

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em; color: #222; }
table { border-collapse: collapse; }
th, td { border: 1px solid #ccc; padding: 0.3em 0.7em; text-align: left; }
td.seconds { text-align: right; }
.succeeded { color: #1a7f37; } .failed { color: #cf222e; font-weight: bold; }
.skipped, .cached { color: #777; }
"""


def report_types(pipeline: graph_component.GraphComponent) -> dict[tuple[str, str], str]:
    """(task name, output name) to ``HTML`` or ``Markdown``, for every task in the pipeline."""
    spec = pipeline.pipeline_spec
    found: dict[tuple[str, str], str] = {}

    def walk(dag: object) -> None:
        for name, task in dag.tasks.items():
            component = spec.components[task.component_ref.name]
            if component.WhichOneof("implementation") == "dag":
                walk(component.dag)
                continue
            for output, definition in component.output_definitions.artifacts.items():
                kind = _REPORT_TYPES.get(definition.artifact_type.schema_title)
                if kind is not None:
                    found[(name, output)] = kind

    walk(spec.root.dag)
    return found


def reports(
    pipeline: graph_component.GraphComponent, outputs: dict[str, dict]
) -> list[tuple[str, str, str, Path]]:
    """(task, output name, kind, file) for every HTML and Markdown artifact a run wrote."""
    found = []
    kinds = report_types(pipeline)
    for task, output in outputs.items():
        for name, entry in output.get("artifacts", {}).items():
            kind = kinds.get((task, name))
            for artifact in entry.get("artifacts", []):
                path = Path(artifact.get("uri", ""))
                if kind is not None and path.is_file():
                    found.append((task, name, kind, path))
    return found


def viewable_copy(run_dir: Path, task: str, output: str, path: Path) -> Path:
    """Copies an HTML artifact to ``reports/<task>-<output>.html``, atomically; returns the copy."""
    copy = run_dir / "reports" / f"{task}-{output}.html"
    copy.parent.mkdir(parents=True, exist_ok=True)
    write_text(copy, path.read_text(encoding="utf-8"))
    return copy


def render_index(
    summary: dict[str, object], found: list[tuple[str, str, str, Path]], run_dir: Path
) -> str:
    """The page's HTML."""
    title = f"{summary['pipeline']}: {summary['status']}"
    rows = []
    for step in summary["steps"]:
        seconds = "" if step["seconds"] is None else f"{step['seconds']:.1f} s"
        error = html.escape(step["error"] or "")
        rows.append(
            f"<tr><td>{html.escape(step['name'])}</td>"
            f'<td class="{html.escape(step["status"])}">{html.escape(step["status"])}</td>'
            f'<td class="seconds">{seconds}</td><td>{error}</td></tr>'
        )
    links = []
    for task, name, kind, path in found:
        href = Path(os.path.relpath(path, run_dir)).as_posix()
        links.append(
            f'<li><a href="{html.escape(href)}">{html.escape(task)} / {html.escape(name)}</a>'
            f" ({kind})</li>"
        )
    error = summary.get("error")
    return "\n".join(
        [
            "<!DOCTYPE html>",
            '<html lang="en"><head><meta charset="utf-8">',
            f"<title>{html.escape(title)}</title><style>{_STYLE}</style></head><body>",
            f"<h1>{html.escape(str(summary['pipeline']))}</h1>",
            f'<p>Status: <strong class="{html.escape(str(summary["status"]))}">'
            f"{html.escape(str(summary['status']))}</strong> in {summary['seconds']:.1f} s</p>",
            f"<p>Error: {html.escape(str(error))}</p>" if error else "",
            "<h2>Steps</h2>",
            "<table><tr><th>step</th><th>status</th><th>time</th><th>error</th></tr>",
            *rows,
            "</table>",
            "<h2>Reports</h2>",
            f"<ul>{''.join(links)}</ul>" if links else "<p>No HTML or Markdown artifacts.</p>",
            '<p>Log: <a href="pipeline.log">pipeline.log</a></p>',
            "</body></html>",
        ]
    )


def write_index(
    summary: dict[str, object], pipeline: graph_component.GraphComponent, outputs: dict[str, dict]
) -> Path:
    """Writes ``index.html`` into the run folder (atomically); returns its path.

    Args:
        summary: The run's summary (``kfp_mlops.compile.summary.summarize``).
        pipeline: The pipeline that ran, whose spec says which outputs are reports.
        outputs: Each task's executor output, as ``LocalRun.outputs``.

    Returns:
        The path of ``index.html``.
    """
    run_dir = Path(str(summary["run_dir"]))
    path = run_dir / "index.html"
    found = [
        (task, name, kind, viewable_copy(run_dir, task, name, file) if kind == "HTML" else file)
        for task, name, kind, file in reports(pipeline, outputs)
    ]
    write_text(path, render_index(summary, found, run_dir))
    return path
