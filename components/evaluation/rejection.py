"""The record a pipeline writes when its gate rejects a model: why, and the metrics it had."""

from kfp_mlops.components.common.atomic import write_text


def _value(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.4f}"
    return str(value)


def rejection_markdown(metrics_metadata: dict[str, object], reasons: list[str]) -> str:
    """Markdown naming each reason the model was not approved, then every recorded metric."""
    lines = ["# Model not approved", "", "The metric gate did not approve this model.", ""]
    lines += ["## Reasons", ""]
    lines += [f"- {reason}" for reason in reasons] or ["- (the gate gave no reason)"]
    lines += ["", "## Metrics", ""]
    if metrics_metadata:
        lines += ["| metric | value |", "| --- | --- |"]
        lines += [f"| {name} | {_value(value)} |" for name, value in metrics_metadata.items()]
    else:
        lines.append("The metrics artifact holds no metrics.")
    return "\n".join(lines) + "\n"


def record_rejection_to_markdown(
    metrics_metadata: dict[str, object], reasons: list[str], rejection_path: str
) -> dict[str, object]:
    """Writes the rejection record to ``rejection_path``; returns the artifact's metadata."""
    markdown = rejection_markdown(metrics_metadata, reasons)
    print(markdown)
    write_text(rejection_path, markdown)
    return {"approved": False, "reasons": list(reasons)}
