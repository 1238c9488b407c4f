"""The image-classification pipeline: images stored one pixel per column, a CNN, CPU or GPU."""

from typing import Dict

from kfp import dsl

from kfp_mlops.components import evaluation, serving, training
from kfp_mlops.pipelines import credentials, placement
from kfp_mlops.pipelines.data_steps import validated_splits

NAME = "image-classification"
DEFAULT_THRESHOLDS = {"accuracy": 0.95}


@dsl.pipeline(name=NAME)
@placement.gpu_capable()
def image_classification(
    data_uri: str,
    target_column: str = "target",
    architecture: str = "cnn",
    hyperparameters: dict = {},  # noqa: B006 (KFP reads defaults from the signature)
    max_epochs: int = 60,
    batch_size: int = 64,
    learning_rate: float = 0.002,
    patience: int = 10,
    checkpoint_every: int = 5,
    checkpoint_uri: str = "",
    mixed_precision: str = "auto",
    thresholds: Dict[str, float] = DEFAULT_THRESHOLDS,
    seed: int = 42,
    min_rows: int = 100,
    max_missing_rate: float = 0.05,
    min_class_balance: float = 0.8,
    serve_check_rows: int = 200,
) -> None:
    """Trains a CNN on images stored one pixel per column; serve-checks it if it passes the gate.

    Ingests, validates and splits the images, trains the CNN with PyTorch (on a GPU when compiled
    with one), evaluates it, and serve-checks it only when it passes the metric gate.

    Args:
        data_uri: CSV or Parquet file (local path, file://, s3:// or gs:// URI), one row per image
            and one column per pixel, row-major and channels first, e.g. ``kfp-mlops sample-data
            digits`` (8x8 digits, 64 columns).
        target_column: The label column.
        architecture: ``cnn``, or ``mlp`` to treat the pixels as plain features.
        hyperparameters: The architecture's hyperparameters (cnn: image_shape, channels,
            hidden_size, dropout); those not given keep their defaults.
        max_epochs: The most epochs to train.
        batch_size: Images per optimizer step, over all GPUs together.
        learning_rate: AdamW's learning rate.
        patience: Epochs without a better validation loss before training stops.
        checkpoint_every: Write a training checkpoint every this many epochs.
        checkpoint_uri: Where checkpoints go (s3://, gs://, a folder) so that a rerun of the same
            training resumes; empty for inside the Model artifact.
        mixed_precision: ``auto`` (bf16 or fp16 on a GPU, none on the CPU), ``bf16``, ``fp16`` or
            ``off``.
        thresholds: Metric name to the value it must reach (a maximum for log_loss); an empty dict
            approves nothing.
        seed: Seed of the split and of the training.
        min_rows: The fewest rows the data may have.
        max_missing_rate: The largest share of missing values allowed in any pixel column.
        min_class_balance: The smallest normalized entropy of the target's classes.
        serve_check_rows: How many test images the serve-check sends to the model server.
    """
    split = validated_splits(
        data_uri, target_column, seed, min_rows, max_missing_rate, min_class_balance
    )
    train = placement.gpu_step(
        training.train_pytorch,
        train=split.outputs["train"],
        validation=split.outputs["validation"],
        target_column=target_column,
        architecture=architecture,
        hyperparameters=hyperparameters,
        max_epochs=max_epochs,
        batch_size=batch_size,
        learning_rate=learning_rate,
        patience=patience,
        checkpoint_every=checkpoint_every,
        checkpoint_uri=checkpoint_uri,
        mixed_precision=mixed_precision,
        seed=seed,
    )
    evaluate = evaluation.evaluate_classifier(
        model=train.outputs["model"], test=split.outputs["test"], target_column=target_column
    )
    gate = evaluation.metric_gate(metrics=evaluate.outputs["metrics"], thresholds=thresholds)
    with dsl.If(gate.outputs["approved"] == True, name="gate-approved"):  # noqa: E712
        serve = serving.serve_check(
            model=train.outputs["model"],
            test=split.outputs["test"],
            target_column=target_column,
            max_rows=serve_check_rows,
        )
        serve.set_caching_options(False)
    with dsl.Else(name="gate-rejected"):
        evaluation.record_rejection(
            metrics=evaluate.outputs["metrics"], reasons=gate.outputs["reasons"]
        )
    credentials.attach_to_every_step()  # optional secrets; see pipelines/credentials.py
