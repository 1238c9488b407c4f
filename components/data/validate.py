"""Schema and quality rules for a tabular dataset, and the Markdown report that explains them."""

import dataclasses
import math

import pyarrow as pa
import pyarrow.compute as pc

from kfp_mlops.components.common.atomic import write_text
from kfp_mlops.components.common.errors import ComponentInputError
from kfp_mlops.components.common.regression_metrics import check_task
from kfp_mlops.components.common.tables import read_parquet

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


def _missing_count(column: pa.ChunkedArray) -> int:
    missing = column.null_count
    if pa.types.is_floating(column.type):
        missing += pc.sum(pc.is_nan(column)).as_py() or 0
    elif _is_text(column.type):
        missing += pc.sum(pc.equal(pc.utf8_trim_whitespace(column), "")).as_py() or 0
    return missing


def _profile(name: str, column: pa.ChunkedArray, rows: int) -> ColumnProfile:
    minimum = maximum = None
    if _is_numeric(column.type):
        bounds = pc.min_max(column)
        minimum, maximum = bounds["min"].as_py(), bounds["max"].as_py()
        minimum = None if minimum is None else float(minimum)
        maximum = None if maximum is None else float(maximum)
    return ColumnProfile(
        name=name,
        arrow_type=str(column.type),
        missing_rate=_missing_count(column) / rows if rows else 0.0,
        minimum=minimum,
        maximum=maximum,
    )


def _type_matches(data_type: pa.DataType, expected: str) -> bool:
    family = TYPE_FAMILIES.get(expected)
    if family is not None:
        return family(data_type)
    try:
        return data_type == pa.type_for_alias(expected)
    except ValueError as error:
        raise ComponentInputError(
            f"expected type {expected!r} is neither one of {', '.join(TYPE_FAMILIES)} "
            "nor an Arrow type name such as int64"
        ) from error


def _numeric_text(name: str, column: pa.ChunkedArray) -> Finding | None:
    """Flags a text column that is almost all numbers: the rest is text in a numeric column."""
    trimmed = pc.utf8_trim_whitespace(column.drop_null())
    present = pc.filter(trimmed, pc.not_equal(trimmed, ""))
    if len(present) == 0:
        return None
    looks_numeric = pc.match_substring_regex(present, _NUMBER)
    numbers = pc.sum(looks_numeric).as_py() or 0
    if numbers == len(present) or numbers / len(present) < NUMERIC_TEXT_SHARE:
        return None
    text = pc.filter(present, pc.invert(looks_numeric))
    examples = ", ".join(repr(value) for value in text.unique()[:3].to_pylist())
    return Finding(
        rule="numeric column holds text",
        subject=name,
        passed=False,
        observed=f"{len(text)} text values",
        limit="0",
        problem=(
            f"column {name!r} is numeric but {len(text)} of {len(present)} values are text "
            f"(e.g. {examples})"
        ),
    )


def _class_balance(target: str, column: pa.ChunkedArray, minimum: float) -> list[Finding]:
    counts = pc.value_counts(column.drop_null())
    frequencies = [count for count in counts.field("counts").to_pylist() if count > 0]
    classes = len(frequencies)
    if classes < 2:
        only = counts.field("values").to_pylist()
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


def _range_findings(table: pa.Table, value_ranges: dict[str, list[float | None]]) -> list[Finding]:
    findings = []
    for name, bounds in value_ranges.items():
        if name not in table.column_names:
            raise ComponentInputError(
                f"value_ranges names column {name!r}, which the dataset does not have"
            )
        if len(bounds) != 2:
            raise ComponentInputError(
                f"value_ranges[{name!r}] must be [minimum, maximum] (null for no bound), "
                f"got {bounds}"
            )
        column = table.column(name)
        if not _is_numeric(column.type):
            raise ComponentInputError(
                f"value_ranges names column {name!r}, which is {column.type}, not numeric"
            )
        low, high = bounds
        observed = pc.min_max(column)
        seen_low, seen_high = observed["min"].as_py(), observed["max"].as_py()
        below = low is not None and seen_low is not None and seen_low < low
        above = high is not None and seen_high is not None and seen_high > high
        limit = f"[{'' if low is None else low}, {'' if high is None else high}]"
        problem = ""
        if below or above:
            outside = pc.sum(
                pc.or_(
                    pc.less(column, low if low is not None else -math.inf),
                    pc.greater(column, high if high is not None else math.inf),
                )
            ).as_py()
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
    """Checks ``table`` against the rules and returns every outcome.

    Args:
        table: The dataset.
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
    if not 0.0 <= max_missing_rate <= 1.0:
        raise ComponentInputError(f"max_missing_rate {max_missing_rate} is not between 0 and 1")
    if not 0.0 <= min_class_balance <= 1.0:
        raise ComponentInputError(f"min_class_balance {min_class_balance} is not between 0 and 1")
    if target_column not in table.column_names:
        raise ComponentInputError(
            f"target column {target_column!r} not found; the columns are: "
            f"{', '.join(table.column_names)}"
        )
    rows = table.num_rows
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
    profiles = [_profile(name, table.column(name), rows) for name in table.column_names]
    for profile in profiles:
        column = table.column(profile.name)
        if profile.name == target_column:
            missing = _missing_count(column)
            findings.append(
                Finding(
                    rule="target has no missing values",
                    subject=profile.name,
                    passed=missing == 0,
                    observed=str(missing),
                    limit="0",
                    problem=f"target column {profile.name!r} has {missing} rows with no label",
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
        if _is_text(column.type) and profile.name not in (expected_types or {}):
            numeric_text = _numeric_text(profile.name, column)
            if numeric_text is not None:
                findings.append(numeric_text)
    for name, expected in (expected_types or {}).items():
        if name not in table.column_names:
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
        actual = table.column(name).type
        passed = _type_matches(actual, expected)
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
    if check_task(task) == "regression":
        # Imported here: target_rules builds this module's Findings.
        from kfp_mlops.components.data.target_rules import regression_target_findings

        findings += regression_target_findings(target_column, table.column(target_column))
    else:
        findings += _class_balance(target_column, table.column(target_column), min_class_balance)
    findings += _range_findings(table, value_ranges or {})
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
    """Validates the Parquet dataset at ``dataset_path`` and writes the Markdown report.

    The report is printed to the log either way; it is written to ``report_path`` only when every
    rule passes, and otherwise the broken rules are raised as one :class:`ComponentInputError`.
    """
    report = validate_table(read_parquet(dataset_path), target_column, **rules)
    markdown = report.to_markdown()
    print(markdown)
    if not report.passed:
        raise ComponentInputError(report.failure_message())
    write_text(report_path, markdown)
    return report
