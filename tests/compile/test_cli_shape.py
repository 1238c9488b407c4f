"""The CLI's shared shape: option groups defined once, the exit statuses, navigable imports."""

import ast
import importlib
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from kfp_mlops.compile import exits
from kfp_mlops.compile.cli import main
from kfp_mlops.compile.local_run import _last_error
from kfp_mlops.components import STAGES
from kfp_mlops.components.common.errors import (
    KIND_BY_NAME,
    ComponentInputError,
    ExternalSystemError,
)

IMAGE_OPTIONS = {"--image-registry", "--image-tag", "--image-digest"}


def _options(name: str) -> set[str]:
    command = main.commands[name]
    return {
        flag for param in command.params if isinstance(param, click.Option) for flag in param.opts
    }


@pytest.mark.parametrize("name", ["compile", "images", "submit", "schedule"])
def test_every_command_that_names_images_takes_the_same_image_options(name):
    assert _options(name) >= IMAGE_OPTIONS


@pytest.mark.parametrize("name", ["submit", "schedule", "rollback"])
def test_every_command_that_reaches_a_cluster_spells_the_context_the_same_way(name):
    options = _options(name)
    assert "--kube-context" in options
    assert "--context" not in options


def test_an_image_digest_reaches_the_yaml_that_submit_uploads(tmp_path):
    digest = "sha256:" + "a" * 64
    result = CliRunner().invoke(
        main,
        [
            "submit",
            "tabular-classification",
            "--image-digest",
            f"kfp-mlops={digest}",
            "--endpoint",
            "http://127.0.0.1:9",
        ],
    )
    # Refused before any request: a digest for one repository needs one for all of them.
    assert result.exit_code == exits.EXIT_USAGE
    assert "no digest for kfp-mlops-gpu" in result.output


def test_the_two_error_kinds_are_told_apart():
    assert ComponentInputError("x").kind == "input"
    assert ExternalSystemError("x").kind == "system"
    assert isinstance(ComponentInputError("x"), ValueError)
    assert KIND_BY_NAME == {"ComponentInputError": "input", "ExternalSystemError": "system"}
    assert str(ExternalSystemError("the API\n answered   500")) == "the API answered 500"


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        (
            ["Traceback...", "kfp_mlops.components.common.errors.ExternalSystemError: 403 x"],
            ("system", "403 x"),
        ),
        (["ComponentInputError: column 'a' is text"], ("input", "column 'a' is text")),
        (["KeyError: 'b'"], ("error", "'b'")),
        (["no exception here"], (None, None)),
    ],
)
def test_a_failed_steps_last_error_line_gives_its_kind(lines, expected):
    assert _last_error(lines) == expected


@pytest.mark.parametrize(("kind", "status"), [("input", 1), ("system", 4), ("error", 1), (None, 1)])
def test_exit_status_by_kind(kind, status):
    assert exits.exit_code(kind) == status


def test_rollback_exits_4_when_the_registry_does_not_answer(unused_port, monkeypatch):
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    result = CliRunner().invoke(
        main, ["rollback", "m", "--tracking-uri", f"http://127.0.0.1:{unused_port}"]
    )
    assert result.exit_code == exits.EXIT_SYSTEM, result.output
    assert f"cannot use MLflow tracking URI 'http://127.0.0.1:{unused_port}'" in result.output


def test_rollback_exits_1_on_bad_input(tmp_path):
    result = CliRunner().invoke(
        main, ["rollback", "m", "--tracking-uri", f"sqlite:///{tmp_path / 'mlflow.db'}"]
    )
    assert result.exit_code == exits.EXIT_FAILED, result.output
    assert "registered model 'm' does not exist" in result.output


@pytest.mark.parametrize("stage", STAGES)
def test_each_stage_re_exports_its_components_for_an_ide(stage):
    """``if TYPE_CHECKING:`` imports every name of ``__all__`` from component.py, so that
    go-to-definition from ``stage.component_name`` lands on the component."""
    package = importlib.import_module(f"kfp_mlops.components.{stage}")
    tree = ast.parse(Path(package.__file__).read_text(encoding="utf-8"))
    guarded = [
        node
        for node in tree.body
        if isinstance(node, ast.If) and getattr(node.test, "id", None) == "TYPE_CHECKING"
    ]
    assert len(guarded) == 1
    [statement] = guarded[0].body
    assert statement.module == f"kfp_mlops.components.{stage}.component"
    assert sorted(alias.name for alias in statement.names) == sorted(package.__all__)
    component_module = importlib.import_module(statement.module)
    for name in package.__all__:
        assert getattr(package, name) is getattr(component_module, name)


@pytest.mark.parametrize("stage", STAGES)
def test_no_module_of_a_stage_is_named_like_one_of_its_components(stage):
    """A module named like a component would shadow it: once imported, ``stage.name`` is the
    module, not the component the lazy ``__getattr__`` would load."""
    package = importlib.import_module(f"kfp_mlops.components.{stage}")
    modules = {path.stem for path in Path(package.__file__).parent.glob("*.py")}
    assert modules.isdisjoint(package.__all__)
