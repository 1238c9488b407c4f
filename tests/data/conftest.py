"""Fixtures of the data-stage tests: a small clean dataset, and the bad inputs users hand us."""

import dataclasses
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest


@pytest.fixture
def frame() -> pd.DataFrame:
    """200 rows: two float features, an integer feature, a balanced 0/1 ``target`` (seeded)."""
    rng = np.random.default_rng(3)
    return pd.DataFrame(
        {
            "x1": rng.normal(size=200).round(4),
            "x2": rng.normal(10, 2, size=200).round(4),
            "n": rng.integers(0, 50, size=200),
            "target": np.tile([0, 1], 100),
        }
    )


@dataclasses.dataclass(frozen=True)
class BadInput:
    """A file that must make a data step fail, and how it must fail."""

    name: str
    path: Path
    failing_step: str  # "ingest" or "validate"
    message: str  # a part of the one-line message that names the problem


def _missing(folder: Path, frame: pd.DataFrame) -> Path:
    return folder / "absent.csv"


def _empty(folder: Path, frame: pd.DataFrame) -> Path:
    path = folder / "empty.csv"
    path.write_bytes(b"")
    return path


def _header_only(folder: Path, frame: pd.DataFrame) -> Path:
    path = folder / "header_only.csv"
    path.write_text(",".join(frame.columns) + "\n")
    return path


def _no_target(folder: Path, frame: pd.DataFrame) -> Path:
    path = folder / "no_target.csv"
    frame.drop(columns="target").to_csv(path, index=False)
    return path


def _one_class(folder: Path, frame: pd.DataFrame) -> Path:
    path = folder / "one_class.csv"
    frame.assign(target=1).to_csv(path, index=False)
    return path


def _mostly_missing(folder: Path, frame: pd.DataFrame) -> Path:
    path = folder / "mostly_missing.csv"
    frame.assign(x1=frame["x1"].where(np.arange(len(frame)) % 5 < 2)).to_csv(path, index=False)
    return path


def _text_in_numeric(folder: Path, frame: pd.DataFrame) -> Path:
    path = folder / "text_in_numeric.csv"
    x2 = frame["x2"].astype(object)
    x2[[5, 70, 150]] = "abc"
    frame.assign(x2=x2).to_csv(path, index=False)
    return path


_BAD_INPUTS: dict[str, tuple[Callable[[Path, pd.DataFrame], Path], str, str]] = {
    "missing_file": (_missing, "ingest", "input file not found: "),
    "empty_file": (_empty, "ingest", "is empty (0 bytes)"),
    "header_only": (_header_only, "ingest", "has a header but no data rows"),
    "no_target_column": (_no_target, "validate", "target column 'target' not found"),
    "one_class": (_one_class, "validate", "target column 'target' has a single class 1"),
    "column_60_percent_missing": (_mostly_missing, "validate", "column 'x1' is 60.0% missing"),
    "text_in_numeric_column": (
        _text_in_numeric,
        "validate",
        "column 'x2' is numeric but 3 of 200 values are text (e.g. 'abc')",
    ),
}


@pytest.fixture(params=list(_BAD_INPUTS))
def bad_input(request: pytest.FixtureRequest, tmp_path: Path, frame: pd.DataFrame) -> BadInput:
    """Each bad input in turn."""
    write, failing_step, message = _BAD_INPUTS[request.param]
    folder = tmp_path / "inputs"
    folder.mkdir()
    return BadInput(request.param, write(folder, frame), failing_step, message)


@pytest.fixture(scope="session")
def s3_endpoint():
    """A real S3 API (moto's server) on 127.0.0.1 for the whole session."""
    from support.s3_server import s3_server

    with s3_server() as server:
        yield server


@pytest.fixture
def s3(s3_endpoint, monkeypatch: pytest.MonkeyPatch):
    """The session's S3 server, with its dummy credentials in this test's environment."""
    for name, value in s3_endpoint.environment().items():
        monkeypatch.setenv(name, value)
    return s3_endpoint
