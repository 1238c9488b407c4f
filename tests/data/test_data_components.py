"""The data components, called as KFP calls them, with artifact objects; bad inputs fail cleanly."""

from pathlib import Path

import pyarrow.parquet as pq
import pytest
from kfp.dsl import Dataset, Markdown

from kfp_mlops.components import data
from kfp_mlops.components.common.errors import ComponentInputError
from kfp_mlops.components.common.tables import fingerprint


def _ingested(source: Path, folder: Path) -> Dataset:
    dataset = Dataset(uri=str(folder / "ingest" / "dataset"))
    data.ingest_dataset.python_func(source_uri=str(source), dataset=dataset)
    return dataset


def _parts(folder: Path) -> dict[str, Dataset]:
    return {name: Dataset(uri=str(folder / name)) for name in ("train", "validation", "test")}


def test_ingest_validate_split_components(breast_cancer_csv: Path, tmp_path: Path):
    dataset = _ingested(breast_cancer_csv, tmp_path)
    assert dataset.metadata["rows"] == 569
    assert dataset.metadata["columns"] == 31
    assert dataset.metadata["fingerprint"] == fingerprint(pq.read_table(dataset.path))
    assert dataset.metadata["source_uri"] == str(breast_cancer_csv)

    report = Markdown(uri=str(tmp_path / "validate" / "report"))
    data.validate_dataset.python_func(
        dataset=dataset,
        target_column="target",
        report=report,
        expected_types={"target": "integer", "mean radius": "numeric"},
        value_ranges={"mean radius": [0, None]},
    )
    assert Path(report.path).read_text().startswith("# Data validation passed")

    parts = _parts(tmp_path / "split")
    data.split_dataset.python_func(dataset=dataset, target_column="target", **parts)
    rows = {name: part.metadata["rows"] for name, part in parts.items()}
    assert sum(rows.values()) == 569
    assert rows == {"train": 398, "validation": 86, "test": 85}
    for name, part in parts.items():
        assert pq.read_table(part.path).num_rows == rows[name]
        assert part.metadata["fingerprint"] == fingerprint(pq.read_table(part.path))
        assert part.metadata["part"] == name
        assert part.metadata["method"] == "stratified"


def test_split_component_by_time(breast_cancer_csv: Path, tmp_path: Path):
    dataset = _ingested(breast_cancer_csv, tmp_path)
    parts = _parts(tmp_path / "split")
    data.split_dataset.python_func(
        dataset=dataset,
        target_column="target",
        time_column="mean area",
        train_fraction=0.6,
        validation_fraction=0.2,
        test_fraction=0.2,
        **parts,
    )
    train_end = float(parts["train"].metadata["time_range"][1])
    assert train_end < float(parts["validation"].metadata["time_range"][0])
    assert parts["test"].metadata["method"] == "time"


def test_split_component_takes_an_empty_time_column_as_unset(
    breast_cancer_csv: Path, tmp_path: Path
):
    # A pipeline parameter cannot be None, so pipelines pass "" for "no time column".
    dataset = _ingested(breast_cancer_csv, tmp_path)
    parts = _parts(tmp_path / "split")
    data.split_dataset.python_func(dataset=dataset, target_column="target", time_column="", **parts)
    assert parts["train"].metadata["method"] == "stratified"
    assert parts["train"].metadata["rows"] == 398


def test_split_component_that_fails_writes_no_part(tmp_path: Path, frame):
    source = tmp_path / "one_class.csv"
    frame.assign(target=0).to_csv(source, index=False)
    dataset = _ingested(source, tmp_path)
    parts = _parts(tmp_path / "split")
    with pytest.raises(ComponentInputError, match="has a single class 0"):
        data.split_dataset.python_func(dataset=dataset, target_column="target", **parts)
    assert not any(Path(part.path).exists() for part in parts.values())


def test_bad_input_fails_its_step_with_one_line_and_no_output(bad_input, tmp_path: Path):
    dataset = Dataset(uri=str(tmp_path / "ingest" / "dataset"))
    report = Markdown(uri=str(tmp_path / "validate" / "report"))
    with pytest.raises(ComponentInputError) as raised:
        data.ingest_dataset.python_func(source_uri=str(bad_input.path), dataset=dataset)
        assert bad_input.failing_step == "validate", "ingest accepted a bad file"
        data.validate_dataset.python_func(dataset=dataset, target_column="target", report=report)
    message = str(raised.value)
    assert "\n" not in message
    assert bad_input.message in message
    failed_output = dataset if bad_input.failing_step == "ingest" else report
    assert not Path(failed_output.path).exists()
    assert not any(path.name.startswith(".") for path in tmp_path.rglob("*"))  # no temp files


@pytest.mark.parametrize("split", ["split_dataset", "split_regression_dataset"])
def test_both_splits_carry_the_data_version(breast_cancer_csv: Path, tmp_path: Path, split: str):
    """A versioned ingest's data_version reaches every part, whichever task splits it."""
    dataset = _ingested(breast_cancer_csv, tmp_path)
    dataset.metadata["data_version"] = "sha256:" + "ab" * 32
    parts = _parts(tmp_path / "split")
    # "mean area" is continuous, a regression target; the class label suits the classifier split.
    target = "mean area" if split == "split_regression_dataset" else "target"
    getattr(data, split).python_func(dataset=dataset, target_column=target, **parts)
    for part in parts.values():
        assert part.metadata["data_version"] == "sha256:" + "ab" * 32
