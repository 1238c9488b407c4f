"""A compiled pipeline with KFP's cache turned off for every task, for ``submit --no-cache``.

The KFP SDK's own switch does not reach our pipelines: ``kfp.Client.run_pipeline(...,
enable_caching=False)`` (kfp 2.17, kfp/client/client.py, ``_create_job_config``) applies only to a
run created from a package file, not to one of an uploaded pipeline version (``pipeline_id`` and
``version_id``, what ``submit`` starts), and ``_override_caching_options`` changes only the tasks of
the root DAG, leaving those inside conditions and sub-pipelines (register, deploy, the whole
retraining of retrain-on-drift) as compiled. So the file itself is rewritten: every task of every
DAG gets the compiler's form of "cache off", an empty ``cachingOptions``.
"""

from pathlib import Path

import yaml


def _tasks(document: dict) -> list[dict]:
    dags = [document.get("root", {}).get("dag", {})]
    dags += [component.get("dag", {}) for component in document.get("components", {}).values()]
    return [task for dag in dags for task in dag.get("tasks", {}).values()]


def without_caching(text: str) -> str:
    """The compiled pipeline ``text`` (one or two YAML documents) with no task cached.

    Raises:
        ValueError: The first document is not a compiled pipeline.
    """
    documents = list(yaml.safe_load_all(text))
    if not documents or not isinstance(documents[0], dict) or "root" not in documents[0]:
        raise ValueError("not a compiled pipeline: its first YAML document has no root")
    for task in _tasks(documents[0]):
        task["cachingOptions"] = {}
    return yaml.safe_dump_all(documents, sort_keys=True)


def write_without_caching(source: Path, target: Path) -> Path:
    """Writes :func:`without_caching` of the file ``source`` to ``target``; returns ``target``."""
    target.write_text(without_caching(source.read_text(encoding="utf-8")), encoding="utf-8")
    return target
