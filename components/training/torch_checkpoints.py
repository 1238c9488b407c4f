"""Training checkpoints: written every N epochs, found again by a rerun of the same training.

A checkpoint is ``LOCATION/RUN_KEY/epoch-NNNNN.pt``. ``RUN_KEY`` is a digest of everything that
decides the training's course (architecture, hyperparameters, optimizer settings, seed, epochs,
patience, the fingerprints of both splits), so a rerun of the same training finds its checkpoints
and a different training sharing the location never resumes from them.

``LOCATION`` is a local folder or any URI pyarrow opens (``s3://``, ``gs://``, ``hdfs://``); a
local file is written under a temporary name and renamed into place, so a killed writer never
leaves a truncated checkpoint under the final name. The two newest checkpoints are kept: if the
newest cannot be read (an object store upload cut short), the one before it is used. Two identical
trainings (same run key) at once share the folder: both write the same epochs, and each prunes
without failing on a checkpoint the other has already removed.

Checkpoints hold only tensors, numbers, strings, lists and dicts, and are read with
``torch.load(..., weights_only=True)``: loading one cannot run code.
"""

import contextlib
import dataclasses
import hashlib
import io
import json
import pickle
import re
from pathlib import Path

import pyarrow as pa
import pyarrow.fs as pafs
import torch

from kfp_mlops.components.common.atomic import atomic_file
from kfp_mlops.components.common.errors import ComponentInputError

KEEP = 2
"""How many of the newest checkpoints are kept."""

_NAME = re.compile(r"^epoch-(\d{5,})\.pt$")


def run_key(settings: dict[str, object]) -> str:
    """A short digest of the settings that decide a training's course (JSON, sorted keys)."""
    text = json.dumps(settings, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclasses.dataclass(frozen=True)
class Checkpoint:
    """A checkpoint found in the store: the epochs it completed and where it lies."""

    epoch: int
    path: str


class CheckpointStore:
    """The checkpoints of one training (one run key) under a local folder or a URI."""

    def __init__(self, location: str, key: str) -> None:
        self.location = location
        if "://" in location:
            try:
                self._fs, root = pafs.FileSystem.from_uri(location)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError, OSError) as error:
                raise ComponentInputError(
                    f"checkpoint location {location!r} cannot be opened: {error}"
                ) from error
            self._local = False
        else:
            self._fs, root = pafs.LocalFileSystem(), str(Path(location).resolve())
            self._local = True
        self.folder = f"{root.rstrip('/')}/{key}"

    def describe_folder(self) -> str:
        """This training's checkpoint folder, as the user gave the location."""
        return f"{self.location.rstrip('/')}/{self.folder.rsplit('/', 1)[-1]}"

    def describe(self, checkpoint: Checkpoint) -> str:
        """The checkpoint's place as the user gave the location."""
        return f"{self.describe_folder()}/{checkpoint.path.rsplit('/', 1)[-1]}"

    def list(self) -> list[Checkpoint]:
        """The checkpoints present, oldest first."""
        try:
            infos = self._fs.get_file_info(pafs.FileSelector(self.folder, allow_not_found=True))
        except OSError as error:
            raise ComponentInputError(
                f"cannot list checkpoints under {self.location!r}: {error}"
            ) from error
        found = []
        for info in infos:
            match = _NAME.match(info.base_name)
            if match and info.type == pafs.FileType.File:
                found.append(Checkpoint(int(match.group(1)), info.path))
        return sorted(found, key=lambda checkpoint: checkpoint.epoch)

    def load_latest(self) -> tuple[Checkpoint, dict] | None:
        """The newest readable checkpoint and its content, or None when there is none.

        An unreadable checkpoint is skipped with a log line; the one before it is tried.
        """
        for checkpoint in reversed(self.list()):
            try:
                with self._fs.open_input_file(checkpoint.path) as stream:
                    data = stream.read()
                state = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
            except (OSError, RuntimeError, EOFError, pickle.UnpicklingError) as error:
                print(
                    f"checkpoint {self.describe(checkpoint)} cannot be read ({error}); trying "
                    "an older one",
                    flush=True,
                )
                continue
            return checkpoint, state
        return None

    def save(self, epoch: int, state: dict) -> Checkpoint:
        """Writes the checkpoint of ``epoch``, then removes all but the :data:`KEEP` newest."""
        buffer = io.BytesIO()
        torch.save(state, buffer)
        path = f"{self.folder}/epoch-{epoch:05d}.pt"
        try:
            if self._local:
                with atomic_file(path) as temporary:
                    temporary.write_bytes(buffer.getvalue())
            else:
                self._fs.create_dir(self.folder, recursive=True)
                with self._fs.open_output_stream(path) as stream:
                    stream.write(buffer.getvalue())
        except OSError as error:
            raise ComponentInputError(
                f"cannot write checkpoint {path} under {self.location!r}: {error}"
            ) from error
        for old in self.list()[:-KEEP]:
            # Another training of the same run key (same settings, same location) prunes the
            # same folder: a checkpoint it removed since this listing is already gone, as wanted.
            # pyarrow 25.0.1 raises FileNotFoundError for a missing file on its local filesystem
            # and on S3 alike (an IOError status with errno ENOENT, pyarrow/error.pxi
            # ``convert_status``; S3's "Path does not exist" seen against moto's server).
            with contextlib.suppress(FileNotFoundError):
                self._fs.delete_file(old.path)
        return Checkpoint(epoch, path)
