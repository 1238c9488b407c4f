"""Data components: ingest a file, validate its quality, split it for training."""

from typing import Dict, List, Optional

from kfp import dsl
from kfp.dsl import Dataset, Input, Markdown, Output

from kfp_mlops.components.images import CPU_IMAGE


@dsl.component(base_image=CPU_IMAGE, install_kfp_package=False)
def resolve_data_version(source_uri: str) -> str:
    """Resolves a data URI to the version of its content, the input that keys ingest's cache.

    Never cache this step (``set_caching_options(False)``): it is what notices new data at the same
    URI. A local file or directory is versioned by the SHA-256 of its bytes; an object on s3:// or
    gs:// by its size and modification time (pyarrow exposes no ETag or generation).

    Args:
        source_uri: Local path (a file, or a directory of files) or URI (s3://, gs://, file://).

    Returns:
        The version: ``sha256:<hex>`` for local content, ``objects:<hex>`` on object storage.
    """
    from kfp_mlops.components.data.data_version import resolve_data_version as resolve

    return str(resolve(source_uri)["data_version"])


@dsl.component(base_image=CPU_IMAGE, install_kfp_package=False)
def ingest_dataset(
    source_uri: str,
    dataset: Output[Dataset],
    file_format: Optional[str] = None,
    column_types: Optional[Dict[str, str]] = None,
    data_version: str = "",
) -> None:
    """Reads CSV or Parquet data into a Parquet dataset that records its schema and fingerprint.

    The data is read and written a batch at a time, so the step's memory does not grow with rows.

    Args:
        source_uri: Local path or URI (s3://, gs://, file://, with pyarrow's options such as
            ``?endpoint_override=host:9000&scheme=http``) of a file, or of a folder or prefix of
            files, Hive-partitioned (``key=value`` folders become typed columns) or not; CSV
            (optionally .gz/.bz2; comma, semicolon, tab or pipe delimited; an empty field is a
            missing value) or Parquet. Object-store credentials come from the environment.
        file_format: ``csv`` or ``parquet``; taken from the files' suffix when unset.
        column_types: Column name to Arrow type name (``float64``, ``int64``, ``string``, ``bool``,
            ``timestamp[s]``); a value that does not parse as its column's type fails the step.
        data_version: The version of the data at source_uri (resolve_data_version's output): it
            keys this step's cache to the content, and is recorded in the metadata. If the data
            no longer has it once read (rewritten meanwhile), the step fails and writes nothing.

    Returns:
        dataset: The data as Parquet. Metadata: rows, columns, schema (column to Arrow type),
            fingerprint (SHA-256 of the content), source_uri and data_version (when given).
    """
    import os

    from kfp_mlops.components.data.data_version import check_unchanged
    from kfp_mlops.components.data.ingest import ingest_to_parquet

    dataset.metadata.update(ingest_to_parquet(source_uri, dataset.path, file_format, column_types))
    if data_version:
        try:
            check_unchanged(source_uri, data_version)
        except ValueError:
            os.remove(dataset.path)  # read while it changed: nothing to take for a good result
            raise
        dataset.metadata["data_version"] = data_version


@dsl.component(base_image=CPU_IMAGE, install_kfp_package=False)
def validate_dataset(
    dataset: Input[Dataset],
    target_column: str,
    report: Output[Markdown],
    min_rows: int = 100,
    max_missing_rate: float = 0.05,
    min_class_balance: float = 0.8,
    expected_types: Optional[Dict[str, str]] = None,
    value_ranges: Optional[Dict[str, List[float]]] = None,
) -> None:
    """Checks a dataset's schema and quality; fails with the broken rules in one line.

    Args:
        dataset: The dataset to check (Parquet).
        target_column: The label column: it must exist, have no missing values and two or more
            classes.
        min_rows: The fewest rows accepted.
        max_missing_rate: The largest share of missing values (null, NaN, empty text) allowed in any
            feature column.
        min_class_balance: The smallest normalized entropy of the target's class frequencies
            (1 means perfectly balanced, 0 a single class).
        expected_types: Column name to a type family (numeric, integer, float, string, boolean,
            timestamp) or an exact Arrow type name; a column holding other values fails.
        value_ranges: Column name to ``[minimum, maximum]`` (null for an open end); a value outside
            fails.

    Returns:
        report: Every rule's outcome and a profile of each column (type, missing share, range).
    """
    from kfp_mlops.components.data.validate import validate_to_report

    validate_to_report(
        dataset.path,
        report.path,
        target_column,
        min_rows=min_rows,
        max_missing_rate=max_missing_rate,
        min_class_balance=min_class_balance,
        expected_types=expected_types,
        value_ranges=value_ranges,
    )


@dsl.component(base_image=CPU_IMAGE, install_kfp_package=False)
def split_dataset(
    dataset: Input[Dataset],
    target_column: str,
    train: Output[Dataset],
    validation: Output[Dataset],
    test: Output[Dataset],
    train_fraction: float = 0.7,
    validation_fraction: float = 0.15,
    test_fraction: float = 0.15,
    seed: int = 42,
    time_column: Optional[str] = None,
) -> None:
    """Splits a dataset into train, validation and test parts, stratified by the target or by time.

    Args:
        dataset: The dataset to split (Parquet).
        target_column: The label column; a stratified split keeps each class's share in every part.
        train_fraction: Share of rows for training.
        validation_fraction: Share of rows for validation (early stopping, tuning).
        test_fraction: Share of rows for the final evaluation.
        seed: Seed of the stratified shuffle; the same seed gives the same parts.
        time_column: When set, rows are ordered by this column instead of shuffled: the earliest go
            to train and the latest to test, and no row in an earlier part is as late as any row in
            a later one. Unset or empty (a pipeline parameter cannot be None): the stratified
            shuffle.

    Returns:
        train: The training rows. Metadata: rows, schema, fingerprint, split method, and the
            dataset's data_version when it has one.
        validation: The validation rows, with the same metadata.
        test: The test rows, with the same metadata.
    """
    from kfp_mlops.components.data.split import split_artifacts

    split_artifacts(
        dataset,
        {"train": train, "validation": validation, "test": test},
        target_column,
        (train_fraction, validation_fraction, test_fraction),
        seed,
        time_column or None,
    )


@dsl.component(base_image=CPU_IMAGE, install_kfp_package=False)
def validate_regression_dataset(
    dataset: Input[Dataset],
    target_column: str,
    report: Output[Markdown],
    min_rows: int = 100,
    max_missing_rate: float = 0.05,
    expected_types: Optional[Dict[str, str]] = None,
    value_ranges: Optional[Dict[str, List[float]]] = None,
) -> None:
    """Checks a dataset for regression; fails with the broken rules in one line.

    The rules of validate_dataset, with the target's class rules replaced by a continuous
    target's: numeric, finite (no NaN or infinity), not constant, no missing values, and not a
    class label (whole numbers with at most 10 distinct values are refused, naming the
    tabular-classification pipeline). No class-balance rule.

    Args:
        dataset: The dataset to check (Parquet).
        target_column: The column to predict.
        min_rows: The fewest rows accepted.
        max_missing_rate: The largest share of missing values (null, NaN, empty text) allowed in any
            feature column.
        expected_types: Column name to a type family (numeric, integer, float, string, boolean,
            timestamp) or an exact Arrow type name; a column holding other values fails.
        value_ranges: Column name to ``[minimum, maximum]`` (null for an open end); a value outside
            fails.

    Returns:
        report: Every rule's outcome and a profile of each column (type, missing share, range).
    """
    from kfp_mlops.components.data.validate import validate_to_report

    validate_to_report(
        dataset.path,
        report.path,
        target_column,
        min_rows=min_rows,
        max_missing_rate=max_missing_rate,
        expected_types=expected_types,
        value_ranges=value_ranges,
        task="regression",
    )


@dsl.component(base_image=CPU_IMAGE, install_kfp_package=False)
def split_regression_dataset(
    dataset: Input[Dataset],
    target_column: str,
    train: Output[Dataset],
    validation: Output[Dataset],
    test: Output[Dataset],
    train_fraction: float = 0.7,
    validation_fraction: float = 0.15,
    test_fraction: float = 0.15,
    seed: int = 42,
    target_bins: int = 10,
    time_column: Optional[str] = None,
) -> None:
    """Splits a dataset with a continuous target, stratified on its quantile bins or by time.

    Args:
        dataset: The dataset to split (Parquet).
        target_column: The column to predict; its quantile bins are the strata, so train,
            validation and test each see its whole range.
        train_fraction: Share of rows for training.
        validation_fraction: Share of rows for validation (early stopping, tuning).
        test_fraction: Share of rows for the final evaluation.
        seed: Seed of the stratified shuffle; the same seed gives the same parts.
        target_bins: How many quantile bins of the target to stratify on (at least 2); bins with
            too few rows for every part to get one are merged with a neighbour.
        time_column: When set, rows are ordered by this column instead: the earliest go to train
            and the latest to test. Unset or empty: the stratified shuffle.

    Returns:
        train: The training rows. Metadata: rows, schema, fingerprint, split method, target_bins,
            and the dataset's data_version when it has one.
        validation: The validation rows, with the same metadata.
        test: The test rows, with the same metadata.
    """
    from kfp_mlops.components.data.split import split_artifacts

    split_artifacts(
        dataset,
        {"train": train, "validation": validation, "test": test},
        target_column,
        (train_fraction, validation_fraction, test_fraction),
        seed,
        time_column or None,
        target_bins,
    )
