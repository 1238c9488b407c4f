"""`kfp-mlops list`, `sample-data`, and `run` refusing a wrong command line with exit 2, through the
installed console script (what users and CI call)."""

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import sklearn.datasets

from kfp_mlops.compile import catalog

KFP_MLOPS = str(Path(sys.executable).parent / "kfp-mlops")


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([KFP_MLOPS, *args], cwd=cwd, capture_output=True, text=True, timeout=120)


def test_list_names_every_pipeline_and_component_with_its_description(tmp_path):
    result = cli("list", cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    pipelines, components = lines.index("Pipelines"), lines.index("Components")
    listed_pipelines = [line.split()[0] for line in lines[pipelines + 1 : components] if line]
    listed_components = [line.split()[0] for line in lines[components + 1 :] if line]
    assert listed_pipelines == list(catalog.pipelines())
    assert listed_components == list(catalog.components())
    for name, component in {**catalog.pipelines(), **catalog.components()}.items():
        (line,) = [item for item in lines if item.split()[:1] == [name]]
        assert line.endswith(catalog.description(component))
        assert catalog.description(component)


@pytest.mark.parametrize(
    ("name", "loader", "rows", "features"),
    [
        ("breast-cancer", "load_breast_cancer", 569, 30),
        ("iris", "load_iris", 150, 4),
        ("wine", "load_wine", 178, 13),
        ("digits", "load_digits", 1797, 64),
    ],
)
def test_sample_data_writes_the_scikit_learn_dataset(tmp_path, name, loader, rows, features):
    out = tmp_path / "data" / f"{name}.csv"
    out.parent.mkdir()

    result = cli("sample-data", name, str(out), cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    assert result.stdout == f"{out}: {rows} rows, {features} features, label column 'target'\n"
    written = pd.read_csv(out)
    expected = getattr(sklearn.datasets, loader)(as_frame=True).frame
    assert written.shape == (rows, features + 1)
    assert list(written.columns) == list(expected.columns)
    pd.testing.assert_frame_equal(written, expected, check_dtype=False)
    assert sorted(path.name for path in out.parent.iterdir()) == [out.name]  # no temporary left


def test_sample_data_refuses_an_unknown_dataset_with_exit_2(tmp_path):
    result = cli("sample-data", "mnist", str(tmp_path / "x.csv"), cwd=tmp_path)

    assert result.returncode == 2
    assert "'mnist' is not one of 'breast-cancer', 'iris', 'wine', 'digits'" in result.stderr
    assert not (tmp_path / "x.csv").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["run", "nope"],
            "Invalid value for NAME: unknown pipeline 'nope'; choose one of: "
            "image-classification, retrain-on-drift, tabular-classification",
        ),
        (
            ["run", "tabular-classification", "--param", "data_uri=x.csv", "--param", "nope=1"],
            "Invalid value for --param: unknown parameter 'nope'; the pipeline's parameters are: ",
        ),
        (
            ["run", "tabular-classification", "--param", "seed=abc"],
            "Invalid value for --param: parameter seed='abc' is not an integer",
        ),
        (
            ["run", "tabular-classification", "--param", "seed=1"],
            "Invalid value for --param: pipeline 'tabular-classification' needs data_uri=..., "
            "target_column=...",
        ),
    ],
    ids=["unknown-pipeline", "unknown-parameter", "wrong-type", "missing-required"],
)
@pytest.mark.slow  # each compiles the pipeline to read its signature (seconds)
def test_run_refuses_a_wrong_command_line_with_exit_2_before_running(tmp_path, args, message):
    result = cli(*args, "--json", cwd=tmp_path)

    assert result.returncode == 2
    assert f"Error: {message}" in result.stderr
    assert result.stdout == ""  # no JSON summary: nothing ran
    assert list(tmp_path.iterdir()) == []  # no run folder


@pytest.mark.slow  # starts the console script
def test_the_console_script_exits_2_on_an_unknown_pipeline(tmp_path):
    result = subprocess.run(
        [KFP_MLOPS, "run", "nope"], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )

    assert result.returncode == 2
    assert "Error: Invalid value for NAME: unknown pipeline 'nope'" in result.stderr
    assert list(tmp_path.iterdir()) == []
