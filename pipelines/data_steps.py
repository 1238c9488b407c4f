"""The data steps every training pipeline starts with: ingest, validate, split."""

from kfp import dsl

from kfp_mlops.components import data


def validated_splits(
    data_uri: str,
    target_column: str,
    seed: int,
    min_rows: int,
    max_missing_rate: float,
    min_class_balance: float,
    **split_options: object,
) -> dsl.PipelineTask:
    """Adds ingest → validate → split to the pipeline being defined; returns the split task.

    The split waits for the validation, so no later step sees data that broke a rule. Called
    inside a ``@dsl.pipeline`` function with its parameters (pipeline channels) or constants.

    Args:
        data_uri: The file to ingest (CSV or Parquet; path or URI).
        target_column: The label column.
        seed: Seed of the split.
        min_rows: The fewest rows the data may have.
        max_missing_rate: The largest share of missing values allowed in any feature column.
        min_class_balance: The smallest normalized entropy of the target's classes.
        **split_options: Further split_dataset inputs, e.g. ``time_column``.

    Returns:
        The split_dataset task: outputs ``train``, ``validation`` and ``test``.
    """
    ingest = data.ingest_dataset(source_uri=data_uri)
    validate = data.validate_dataset(
        dataset=ingest.outputs["dataset"],
        target_column=target_column,
        min_rows=min_rows,
        max_missing_rate=max_missing_rate,
        min_class_balance=min_class_balance,
    )
    return data.split_dataset(
        dataset=ingest.outputs["dataset"], target_column=target_column, seed=seed, **split_options
    ).after(validate)
