"""The data steps in a real ``kfp.local`` pipeline: good data flows through, bad data stops it."""

import re
from pathlib import Path

import pytest
from kfp import dsl, local

from kfp_mlops.components import data

# Our image holds this package; locally the tasks run in this same environment instead.
pytestmark = pytest.mark.filterwarnings("ignore:You may be attemping to run a task:RuntimeWarning")

_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_ERROR = "kfp_mlops.components.common.errors.ComponentInputError: "


@dsl.pipeline(name="data-steps")
def data_steps(source_uri: str, target_column: str = "target"):
    """Ingest, validate, then split."""
    ingested = data.ingest_dataset(source_uri=source_uri)
    checked = data.validate_dataset(
        dataset=ingested.outputs["dataset"], target_column=target_column
    )
    data.split_dataset(dataset=ingested.outputs["dataset"], target_column=target_column).after(
        checked
    )


@pytest.fixture
def pipeline_root(tmp_path: Path) -> Path:
    root = tmp_path / "pipeline_root"
    local.init(runner=local.SubprocessRunner(use_venv=False), pipeline_root=str(root))
    return root


def _outputs(root: Path, task: str, name: str) -> list[Path]:
    return [path for path in root.glob(f"*/{task}/{name}") if path.exists()]


@pytest.mark.slow
def test_good_data_flows_through_every_step(pipeline_root: Path, breast_cancer_csv: Path):
    data_steps(source_uri=str(breast_cancer_csv))
    assert len(_outputs(pipeline_root, "ingest-dataset", "dataset")) == 1
    [report] = _outputs(pipeline_root, "validate-dataset", "report")
    assert report.read_text().startswith("# Data validation passed")
    for part in ("train", "validation", "test"):
        assert len(_outputs(pipeline_root, "split-dataset", part)) == 1


@pytest.mark.slow
def test_bad_input_fails_the_task_with_one_line_in_its_log(
    pipeline_root: Path, bad_input, capfd: pytest.CaptureFixture
):
    with pytest.raises(RuntimeError) as raised:
        data_steps(source_uri=str(bad_input.path))
    task = f"{bad_input.failing_step}-dataset"
    assert "finished with status FAILURE" in _ANSI.sub("", str(raised.value))
    assert f"Inner task failed: '{task}'" in _ANSI.sub("", str(raised.value))

    log = _ANSI.sub("", "".join(capfd.readouterr()))
    assert f"Task '{task}' finished with status FAILURE" in log
    [error_line] = [line.strip() for line in log.splitlines() if _ERROR in line]
    assert bad_input.message in error_line
    following = log.splitlines()[[line.strip() for line in log.splitlines()].index(error_line) + 1]
    assert not following.strip(), f"the message runs on to a second line: {following!r}"

    failed_output = "dataset" if bad_input.failing_step == "ingest" else "report"
    assert _outputs(pipeline_root, task, failed_output) == []
    assert _outputs(pipeline_root, "split-dataset", "train") == []
