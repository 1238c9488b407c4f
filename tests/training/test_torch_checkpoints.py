"""Checkpoints: found again by the same training only, newest readable one first, safe to load."""

import os

import pytest
import torch

from kfp_mlops.components.common.errors import ComponentInputError
from kfp_mlops.components.training.torch_checkpoints import CheckpointStore, run_key


def test_run_key_depends_on_every_setting_and_not_on_key_order():
    assert run_key({"a": 1, "b": [1, 2]}) == run_key({"b": [1, 2], "a": 1})
    assert run_key({"a": 1}) != run_key({"a": 2})


def test_saves_keeps_the_two_newest_and_loads_the_newest(tmp_path):
    store = CheckpointStore(str(tmp_path), "key")
    for epoch in (2, 4, 6):
        store.save(epoch, {"epoch": epoch, "weights": torch.full((2,), float(epoch))})
    assert [checkpoint.epoch for checkpoint in store.list()] == [4, 6]
    checkpoint, state = store.load_latest()
    assert checkpoint.epoch == 6 and state["weights"].tolist() == [6.0, 6.0]
    assert store.describe(checkpoint) == f"{tmp_path}/key/epoch-00006.pt"


def test_another_training_does_not_see_these_checkpoints(tmp_path):
    CheckpointStore(str(tmp_path), "one").save(1, {"epoch": 1})
    assert CheckpointStore(str(tmp_path), "two").load_latest() is None


def test_an_unreadable_newest_checkpoint_falls_back_to_the_one_before(tmp_path, capsys):
    store = CheckpointStore(str(tmp_path), "key")
    store.save(1, {"epoch": 1})
    newest = store.save(2, {"epoch": 2})
    with open(newest.path, "r+b") as handle:
        handle.truncate(10)
    checkpoint, state = store.load_latest()
    assert checkpoint.epoch == 1 and state == {"epoch": 1}
    assert "epoch-00002.pt cannot be read" in capsys.readouterr().out


def test_a_checkpoint_holding_code_is_refused_not_run(tmp_path, capsys):
    store = CheckpointStore(str(tmp_path), "key")
    (tmp_path / "key").mkdir()
    # torch.save pickles arbitrary objects; weights_only loading must refuse to build them.
    torch.save({"epoch": 3, "payload": os.getcwd}, tmp_path / "key" / "epoch-00003.pt")
    assert store.load_latest() is None
    assert "cannot be read" in capsys.readouterr().out


def test_a_uri_location_is_written_through_pyarrow(tmp_path):
    store = CheckpointStore(f"file://{tmp_path}/remote", "key")
    store.save(5, {"epoch": 5})
    assert (tmp_path / "remote" / "key" / "epoch-00005.pt").is_file()
    assert store.load_latest()[0].epoch == 5


def test_an_unknown_scheme_is_named():
    with pytest.raises(
        ComponentInputError, match="checkpoint location 'nope://x' cannot be opened"
    ):
        CheckpointStore("nope://x", "key")


@pytest.mark.parametrize("uri", [False, True], ids=["folder", "pyarrow-uri"])
def test_pruning_a_checkpoint_another_writer_removed_is_harmless(tmp_path, monkeypatch, uri):
    # Two identical trainings share one run key, so one checkpoint folder: each prunes what the
    # other may have removed between its listing and its delete.
    location = f"file://{tmp_path}" if uri else str(tmp_path)
    first = CheckpointStore(location, "key")
    second = CheckpointStore(location, "key")
    first.save(1, {"epoch": 1})
    first.save(2, {"epoch": 2})
    listed_before = first.list()[0]  # epoch 1, as the first writer saw it
    second.save(3, {"epoch": 3})  # prunes epoch 1
    current = first.list
    monkeypatch.setattr(first, "list", lambda: [listed_before, *current()])

    first.save(4, {"epoch": 4})

    assert [checkpoint.epoch for checkpoint in current()] == [3, 4]
    checkpoint, state = first.load_latest()
    assert checkpoint.epoch == 4 and state == {"epoch": 4}
