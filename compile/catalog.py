"""Every pipeline and component this library ships, by the name it compiles to."""

import importlib

from kfp.dsl import base_component, graph_component

from kfp_mlops.components import STAGES


def components() -> dict[str, base_component.BaseComponent]:
    """Component name (snake_case, as in the KFP UI and components/NAME.yaml) to component."""
    found: dict[str, base_component.BaseComponent] = {}
    for stage in STAGES:
        package = importlib.import_module(f"kfp_mlops.components.{stage}")
        for name in package.__all__:
            found[name] = getattr(package, name)
    return dict(sorted(found.items()))


def pipelines() -> dict[str, graph_component.GraphComponent]:
    """Pipeline name (kebab-case, as in pipelines/NAME.yaml) to pipeline."""
    from kfp_mlops.pipelines import PIPELINES

    return dict(sorted(PIPELINES.items()))


def description(component: base_component.BaseComponent) -> str:
    """The first line of a component's or pipeline's description."""
    text = component.component_spec.description or ""
    return text.strip().splitlines()[0] if text.strip() else ""
