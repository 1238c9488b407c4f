"""Schema and quality rules for a tabular dataset, and the Markdown report that explains them."""

import dataclasses
import math
from collections.abc import Callable, Iterable

import pyarrow as pa
import pyarrow.compute as pc

from kfp_mlops.components.common.atomic import write_text
from kfp_mlops.components.common.errors import ComponentInputError
from kfp_mlops.components.common.regression_metrics import check_task
from kfp_mlops.components.common.tables import closest_names, iter_batches, parquet_schema
from kfp_mlops.components.data.target_summary import TargetSummary

TYPE_FAMILIES = {
    "numeric": lambda t: (
        pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_decimal(t)
    ),
    "integer": pa.types.is_integer,
    "float": pa.types.is_floating,
    "string": lambda t: pa.types.is_string(t) or pa.types.is_large_string(t),
    "boolean": pa.types.is_boolean,
    "timestamp": lambda t: pa.types.is_timestamp(t) or pa.types.is_date(t),
}
"""The type names ``expected_types`` accepts besides exact Arrow type names such as ``int64``."""

NUMERIC_TEXT_SHARE = 0.9
"""A text column whose non-missing values are at least this share numbers is a numeric column with
text in it (a typo, a unit, a placeholder such as ``n/a``), and fails validation."""

_NUMBER = r"^\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*$"


@dataclasses.dataclass(frozen=True)
class Finding:
    """The outcome of one rule on one column (or on the whole dataset)."""

    rule: str
    subject: str
    passed: bool
    observed: str
    limit: str
    problem: str = ""


@dataclasses.dataclass(frozen=True)
class ColumnProfile:
    """What the report shows of each column."""

    name: str
    arrow_type: str
    missing_rate: float
    minimum: float | None
    maximum: float | None


@dataclasses.dataclass(frozen=True)
class ValidationReport:
    """Every rule's outcome and a profile of each column."""

    rows: int
    findings: list[Finding]
    profiles: list[ColumnProfile]

    @property
    def passed(self) -> bool:
        """True when no rule is broken."""
        return all(finding.passed for finding in self.findings)

    def failure_message(self) -> str:
        """All broken rules in one line, for the error a failing step raises."""
        problems = [finding.problem for finding in self.findings if not finding.passed]
        return "data validation failed: " + "; ".join(problems)

    def to_markdown(self) -> str:
        """The report as Markdown, which the KFP UI renders."""
        verdict = "passed" if self.passed else "FAILED"
        lines = [
            f"# Data validation {verdict}",
            "",
            f"{self.rows} rows, {len(self.profiles)} columns.",
            "",
            "| rule | column | result | observed | limit |",
            "| --- | --- | --- | --- | --- |",
        ]
        for finding in self.findings:
            result = "pass" if finding.passed else "**FAIL**"
            lines.append(
                _row([finding.rule, finding.subject, result, finding.observed, finding.limit])
            )
        lines += [
            "",
            "## Columns",
            "",
            "| column | type | missing | min | max |",
            "| --- | --- | --- | --- | --- |",
        ]
        for profile in self.profiles:
            lines.append(
                _row(
                    [
                        profile.name,
                        profile.arrow_type,
                        f"{profile.missing_rate:.1%}",
                        _number(profile.minimum),
                        _number(profile.maximum),
                    ]
                )
            )
        return "\n".join(lines) + "\n"


def _row(cells: list[str]) -> str:
    """A Markdown table row; a ``|`` or line break inside a cell (a column name) is escaped."""
    escaped = (" ".join(cell.split()).replace("|", "\\|") for cell in cells)
    return "| " + " | ".join(escaped) + " |"


def _number(value: float | None) -> str:
    return "" if value is None else f"{value:.6g}"


def _is_text(data_type: pa.DataType) -> bool:
    return pa.types.is_string(data_type) or pa.types.is_large_string(data_type)


def _is_numeric(data_type: pa.DataType) -> bool:
    return TYPE_FAMILIES["numeric"](data_type)


class _ColumnStats:
    """What the rules need to know of one column, gathered from its record batches one at a time."""

    def __init__(
        self,
        name: str,
        data_type: pa.DataType,
        check_text: bool,
        is_target: bool,
        regression: bool = False,
    ):
        self.name = name
        self.type = data_type
        self.rows = self.missing = self.infinite = 0
        self.minimum: float | None = None
        self.maximum: float | None = None
        self.check_text = check_text and _is_text(data_type)
        self.present = self.numbers = 0
        self.text_examples: list[str] = []
        # A class label's counts per class; a regression target's summary instead (bounded: a
        # continuous target has as many distinct values as rows).
        self.classes: dict[object, int] | None = {} if is_target and not regression else None
        self.target = TargetSummary(data_type) if is_target and regression else None
        self.outside: dict[tuple[float, float], int] = {}

    def update(self, column: pa.Array, ranges: list[tuple[float, float]]) -> None:
        """Counts the next values of the column."""
        self.rows += len(column)
        self.missing += column.null_count
        if pa.types.is_floating(self.type):
            self.missing += pc.sum(pc.is_nan(column)).as_py() or 0
            self.infinite += pc.sum(pc.is_inf(column)).as_py() or 0
        elif _is_text(self.type):
            self.missing += pc.sum(pc.equal(pc.utf8_trim_whitespace(column), "")).as_py() or 0
        if _is_numeric(self.type):
            bounds = pc.min_max(column)
            self._bound(bounds["min"].as_py(), bounds["max"].as_py())
            for low, high in ranges:
                outside = pc.or_(pc.less(column, low), pc.greater(column, high))
                self.outside[low, high] = self.outside.get((low, high), 0) + (
                    pc.sum(outside).as_py() or 0
                )
        if self.check_text:
            self._count_text(column)
        if self.target is not None:
            self.target.update(column)
        if self.classes is not None:
            counts = pc.value_counts(column.drop_null())
            for value, count in zip(
                counts.field("values").to_pylist(), counts.field("counts").to_pylist(), strict=True
            ):
                self.classes[value] = self.classes.get(value, 0) + count

    def _bound(self, low: object, high: object) -> None:
        if low is None or (isinstance(low, float) and math.isnan(low)):
            return
        low, high = float(low), float(high)
        self.minimum = low if self.minimum is None else min(self.minimum, low)
        self.maximum = high if self.maximum is None else max(self.maximum, high)

    def _count_text(self, column: pa.Array) -> None:
        trimmed = pc.utf8_trim_whitespace(column.drop_null())
        present = pc.filter(trimmed, pc.not_equal(trimmed, ""))
        looks_numeric = pc.match_substring_regex(present, _NUMBER)
        self.present += len(present)
        self.numbers += pc.sum(looks_numeric).as_py() or 0
        if len(self.text_examples) < 3:
            for value in pc.filter(present, pc.invert(looks_numeric)).unique().to_pylist():
                if value not in self.text_examples and len(self.text_examples) < 3:
                    self.text_examples.append(value)

    def profile(self) -> ColumnProfile:
        """The column's line in the report."""
        return ColumnProfile(
            name=self.name,
            arrow_type=str(self.type),
            missing_rate=self.missing / self.rows if self.rows else 0.0,
            minimum=self.minimum,
            maximum=self.maximum,
        )


def _numeric_text(stats: _ColumnStats) -> Finding | None:
    """Flags a text column that is almost all numbers: the rest is text in a numeric column."""
    if not stats.present:
        return None
    if stats.numbers == stats.present or stats.numbers / stats.present < NUMERIC_TEXT_SHARE:
        return None
    text = stats.present - stats.numbers
    examples = ", ".join(repr(value) for value in stats.text_examples)
    return Finding(
        rule="numeric column holds text",
        subject=stats.name,
        passed=False,
        observed=f"{text} text values",
        limit="0",
        problem=(
            f"column {stats.name!r} is numeric but {text} of {stats.present} values are text "
            f"(e.g. {examples})"
        ),
    )


def _infinite(stats: _ColumnStats) -> Finding | None:
    """Flags a float column with infinities (a CSV's ``inf`` or ``1e309``): models fail on them."""
    if not stats.infinite:
        return None
    return Finding(
        rule="finite values",
        subject=stats.name,
        passed=False,
        observed=f"{stats.infinite} infinite values",
        limit="0",
        problem=(
            f"column {stats.name!r} holds {stats.infinite} infinite values (inf, or a number too "
            "large for float64 such as 1e309)"
        ),
    )


def _expected_type(expected: str) -> Callable[[pa.DataType], bool]:
    """The test a column's type must pass: a family's, or equality with an Arrow type name's."""
    family = TYPE_FAMILIES.get(expected)
    if family is not None:
        return family
    try:
        exact = pa.type_for_alias(expected)
    except ValueError as error:
        raise ComponentInputError(
            f"expected type {expected!r} is neither one of {', '.join(TYPE_FAMILIES)} "
            "nor an Arrow type name such as int64"
        ) from error
    return lambda data_type: data_type == exact


def _class_balance(target: str, counts: dict[object, int], minimum: float) -> list[Finding]:
    frequencies = [count for count in counts.values() if count > 0]
    classes = len(frequencies)
    if classes < 2:
        only = list(counts)
        return [
            Finding(
                rule="classes in target",
                subject=target,
                passed=False,
                observed=str(classes),
                limit=">= 2",
                problem=(
                    f"target column {target!r} has a single class {only[0]!r}: "
                    "a classifier needs at least two"
                    if only
                    else f"target column {target!r} has no values"
                ),
            )
        ]
    total = sum(frequencies)
    entropy = -sum((count / total) * math.log(count / total) for count in frequencies)
    balance = entropy / math.log(classes)
    passed = balance >= minimum
    return [
        Finding(
            rule="classes in target",
            subject=target,
            passed=True,
            observed=str(classes),
            limit=">= 2",
        ),
        Finding(
            rule="class balance (normalized entropy)",
            subject=target,
            passed=passed,
            observed=f"{balance:.3f}",
            limit=f">= {minimum:g}",
            problem=(
                ""
                if passed
                else f"target column {target!r} is imbalanced: normalized class entropy "
                f"{balance:.3f} is below {minimum:g}"
            ),
        ),
    ]


def _checked_ranges(
    schema: pa.Schema, value_ranges: dict[str, list[float | None]]
) -> dict[str, tuple[float, float]]:
    """Each range as ``(low, high)``, an open end as an infinity; malformed ranges raise."""
    checked = {}
    for name, bounds in value_ranges.items():
        if name not in schema.names:
            raise ComponentInputError(
                f"value_ranges names column {name!r}, which the dataset does not have"
            )
        if len(bounds) != 2:
            raise ComponentInputError(
                f"value_ranges[{name!r}] must be [minimum, maximum] (null for no bound), "
                f"got {bounds}"
            )
        data_type = schema.field(name).type
        if not _is_numeric(data_type):
            raise ComponentInputError(
                f"value_ranges names column {name!r}, which is {data_type}, not numeric"
            )
        low, high = bounds
        checked[name] = (
            low if low is not None else -math.inf,
            high if high is not None else math.inf,
        )
    return checked


def _range_findings(
    value_ranges: dict[str, list[float | None]],
    checked: dict[str, tuple[float, float]],
    stats: dict[str, _ColumnStats],
) -> list[Finding]:
    findings = []
    for name, (low, high) in value_ranges.items():
        column = stats[name]
        seen_low, seen_high = column.minimum, column.maximum
        limit = f"[{'' if low is None else low}, {'' if high is None else high}]"
        outside = column.outside.get(checked[name], 0)
        problem = ""
        if outside:
            problem = (
                f"column {name!r} has {outside} values outside {limit} "
                f"(seen {seen_low:g} to {seen_high:g})"
            )
        findings.append(
            Finding(
                rule="value range",
                subject=name,
                passed=not problem,
                observed=f"[{_number(seen_low)}, {_number(seen_high)}]",
                limit=limit,
                problem=problem,
            )
        )
    return findings


def validate_table(
    table: pa.Table,
    target_column: str,
    min_rows: int = 100,
    max_missing_rate: float = 0.05,
    min_class_balance: float = 0.8,
    expected_types: dict[str, str] | None = None,
    value_ranges: dict[str, list[float | None]] | None = None,
    task: str = "classification",
) -> ValidationReport:
    """Checks ``table`` against the rules of :func:`validate_batches`; returns every outcome."""
    return validate_batches(
        table.schema,
        table.to_batches(),
        target_column,
        min_rows=min_rows,
        max_missing_rate=max_missing_rate,
        min_class_balance=min_class_balance,
        expected_types=expected_types,
        value_ranges=value_ranges,
        task=task,
    )


def validate_batches(
    schema: pa.Schema,
    batches: Iterable[pa.RecordBatch],
    target_column: str,
    min_rows: int = 100,
    max_missing_rate: float = 0.05,
    min_class_balance: float = 0.8,
    expected_types: dict[str, str] | None = None,
    value_ranges: dict[str, list[float | None]] | None = None,
    task: str = "classification",
) -> ValidationReport:
    """Checks a dataset, read one record batch at a time, against the rules; returns every outcome.

    Memory does not grow with the rows: each column is summarized batch by batch (counts, bounds,
    the target's classes, up to three examples of text in a numeric column).

    Args:
        schema: The dataset's schema.
        batches: The dataset's rows.
        target_column: The label column; it must exist, have no missing values and at least two
            classes.
        min_rows: The fewest rows accepted.
        max_missing_rate: The largest share of missing values (null, NaN, empty text) in any column.
        min_class_balance: The smallest normalized entropy of the target's classes (1 is perfectly
            balanced, 0 is one class).
        expected_types: Column name to a type family (numeric, integer, float, string, boolean,
            timestamp) or an exact Arrow type name.
        value_ranges: Column name to ``[minimum, maximum]``; either bound may be None.
        task: ``classification`` (the class rules) or ``regression`` (the rules of
            :mod:`.target_rules` instead: numeric, finite, not constant, not a class label).

    Raises:
        ComponentInputError: When a rule itself is malformed (a threshold out of range, an unknown
            column in ``value_ranges``). Broken data rules are reported, not raised.
    """
    check_task(task)
    if not 0.0 <= max_missing_rate <= 1.0:
        raise ComponentInputError(f"max_missing_rate {max_missing_rate} is not between 0 and 1")
    if not 0.0 <= min_class_balance <= 1.0:
        raise ComponentInputError(f"min_class_balance {min_class_balance} is not between 0 and 1")
    if target_column not in schema.names:
        raise ComponentInputError(
            f"target column {target_column!r} not found; "
            f"{closest_names(target_column, schema.names)}"
        )
    expected_types = expected_types or {}
    value_ranges = value_ranges or {}
    # A malformed rule fails before the data is read.
    type_tests = {name: _expected_type(expected) for name, expected in expected_types.items()}
    checked = _checked_ranges(schema, value_ranges)
    stats = {
        field.name: _ColumnStats(
            field.name,
            field.type,
            check_text=field.name not in expected_types,
            is_target=field.name == target_column,
            regression=task == "regression",
        )
        for field in schema
    }
    rows = 0
    for batch in batches:
        rows += batch.num_rows
        for name, column in zip(schema.names, batch.columns, strict=True):
            stats[name].update(column, [checked[name]] if name in checked else [])
    findings = [
        Finding(
            rule="minimum rows",
            subject="(dataset)",
            passed=rows >= min_rows,
            observed=str(rows),
            limit=f">= {min_rows}",
            problem=f"the dataset has {rows} rows, fewer than min_rows={min_rows}",
        )
    ]
    profiles = [column.profile() for column in stats.values()]
    for column, profile in zip(stats.values(), profiles, strict=True):
        if profile.name == target_column:
            findings.append(
                Finding(
                    rule="target has no missing values",
                    subject=profile.name,
                    passed=column.missing == 0,
                    observed=str(column.missing),
                    limit="0",
                    problem=(
                        f"target column {profile.name!r} has {column.missing} rows with no label"
                    ),
                )
            )
        else:
            passed = profile.missing_rate <= max_missing_rate
            findings.append(
                Finding(
                    rule="missing rate",
                    subject=profile.name,
                    passed=passed,
                    observed=f"{profile.missing_rate:.1%}",
                    limit=f"<= {max_missing_rate:.1%}",
                    problem=(
                        f"column {profile.name!r} is {profile.missing_rate:.1%} missing "
                        f"(max_missing_rate {max_missing_rate:.1%})"
                    ),
                )
            )
        findings += [
            finding for finding in (_infinite(column), _numeric_text(column)) if finding is not None
        ]
    for name, expected in expected_types.items():
        if name not in schema.names:
            findings.append(
                Finding(
                    rule="expected column",
                    subject=name,
                    passed=False,
                    observed="absent",
                    limit=expected,
                    problem=f"expected column {name!r} ({expected}) is missing",
                )
            )
            continue
        actual = schema.field(name).type
        passed = type_tests[name](actual)
        findings.append(
            Finding(
                rule="type",
                subject=name,
                passed=passed,
                observed=str(actual),
                limit=expected,
                problem=f"column {name!r} is {actual}, expected {expected}",
            )
        )
    if task == "regression":
        # Imported here: target_rules builds this module's Findings.
        from kfp_mlops.components.data.target_rules import regression_target_findings

        findings += regression_target_findings(target_column, stats[target_column].target)
    else:
        findings += _class_balance(
            target_column, stats[target_column].classes or {}, min_class_balance
        )
    findings += _range_findings(value_ranges, checked, stats)
    return ValidationReport(
        rows=rows,
        findings=[f if not f.passed else dataclasses.replace(f, problem="") for f in findings],
        profiles=profiles,
    )


def validate_to_report(
    dataset_path: str,
    report_path: str,
    target_column: str,
    **rules: object,
) -> ValidationReport:
    """Validates the Parquet dataset at ``dataset_path``, a batch at a time, and writes the report.

    The report is printed to the log either way; it is written to ``report_path`` only when every
    rule passes, and otherwise the broken rules are raised as one :class:`ComponentInputError`.
    """
    report = validate_batches(
        parquet_schema(dataset_path), iter_batches(dataset_path), target_column, **rules
    )
    markdown = report.to_markdown()
    print(markdown)
    if not report.passed:
        raise ComponentInputError(report.failure_message())
    write_text(report_path, markdown)
    return report
