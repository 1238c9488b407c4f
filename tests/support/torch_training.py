"""Data and small trainings shared by the PyTorch tests."""

from pathlib import Path

from kfp_mlops.components.data.ingest import ingest_to_parquet
from kfp_mlops.components.data.split import split_to_parquet
from kfp_mlops.components.training.torch_train import TrainingSettings, train_pytorch_to_directory

SPLITS = ("train", "validation", "test")


def digits_csv(folder: Path) -> Path:
    """scikit-learn's 8x8 digits as CSV (64 pixel columns, label ``target``), as users give it."""
    from sklearn.datasets import load_digits

    path = folder / "digits.csv"
    load_digits(as_frame=True).frame.to_csv(path, index=False)
    return path


def digits_splits(folder: Path) -> dict[str, str]:
    """Train, validation and test Parquet files of digits, made by our own data steps."""
    ingest_to_parquet(str(digits_csv(folder)), str(folder / "dataset.parquet"))
    paths = {name: str(folder / f"{name}.parquet") for name in SPLITS}
    split_to_parquet(str(folder / "dataset.parquet"), paths, "target")
    return paths


def small_mlp(**changes: object) -> TrainingSettings:
    """A quick MLP training: one hidden layer of 16, a few epochs, a checkpoint every 2."""
    values: dict[str, object] = {
        "architecture": "mlp",
        "hyperparameters": {"hidden_sizes": [16]},
        "max_epochs": 6,
        "checkpoint_every": 2,
        "learning_rate": 0.01,
    }
    values.update(changes)
    return TrainingSettings(**values)


def train_small_mlp(
    splits: dict[str, str], model_dir: Path, checkpoint_uri: str | None = None, **changes: object
) -> dict:
    """Trains :func:`small_mlp` on ``splits`` (target ``target``) into ``model_dir``."""
    return train_pytorch_to_directory(
        splits["train"],
        splits["validation"],
        str(model_dir),
        "target",
        small_mlp(**changes),
        checkpoint_uri,
    )
