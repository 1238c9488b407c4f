"""The data steps every training pipeline starts with: ingest, validate, split."""

from kfp import dsl
from kfp.dsl import pipeline_channel

from kfp_mlops.components import data


def versioned_ingest(data_uri: str) -> dsl.PipelineTask:
    """Adds resolve_data_version → ingest to the pipeline being defined; returns the ingest task.

    The version step is never cached; its output is an input of ingest, so ingest and every step
    after it are answered from KFP's cache exactly as long as the data behind the URI is unchanged.

    Args:
        data_uri: The file or directory to ingest (path or URI).

    Returns:
        The ingest_dataset task: output ``dataset``, whose metadata holds the data_version.
    """
    version = data.resolve_data_version(source_uri=data_uri)
    version.set_caching_options(False)  # it is what notices new data at the same URI
    return data.ingest_dataset(source_uri=data_uri, data_version=version.output)


def validated_splits(
    data_uri: str,
    target_column: str,
    seed: int,
    min_rows: int,
    max_missing_rate: float,
    min_class_balance: float,
    **split_options: object,
) -> dsl.PipelineTask:
    """Adds resolve_data_version → ingest → validate → split to the pipeline; returns the split.

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
    ingest = versioned_ingest(data_uri)
    return checked_splits(
        ingest.outputs["dataset"],
        target_column,
        seed,
        min_rows,
        max_missing_rate,
        min_class_balance,
        **split_options,
    )


def checked_splits(
    dataset: pipeline_channel.PipelineChannel,
    target_column: str,
    seed: int,
    min_rows: int,
    max_missing_rate: float,
    min_class_balance: float,
    **split_options: object,
) -> dsl.PipelineTask:
    """Adds validate → split of an ingested dataset to the pipeline; returns the split task.

    Args:
        dataset: The Dataset to check and split (an ingest output, or a pipeline's Dataset input).
        target_column: The label column.
        seed: Seed of the split.
        min_rows: The fewest rows the data may have.
        max_missing_rate: The largest share of missing values allowed in any feature column.
        min_class_balance: The smallest normalized entropy of the target's classes.
        **split_options: Further split_dataset inputs, e.g. ``time_column``.

    Returns:
        The split_dataset task: outputs ``train``, ``validation`` and ``test``.
    """
    validate = data.validate_dataset(
        dataset=dataset,
        target_column=target_column,
        min_rows=min_rows,
        max_missing_rate=max_missing_rate,
        min_class_balance=min_class_balance,
    )
    return data.split_dataset(
        dataset=dataset, target_column=target_column, seed=seed, **split_options
    ).after(validate)
