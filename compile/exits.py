"""The exit statuses of ``kfp-mlops`` (the README's exit table), and turning errors into them.

| status | meaning |
| --- | --- |
| 0 | succeeded (and a gate, if any, approved the model) |
| 1 | failed on the input: a parameter, the data or the model must change (or an unexpected error) |
| 2 | the command line is wrong (click's usage errors) |
| 3 | the run succeeded but a gate rejected the model |
| 4 | a system failed: the cluster, the registry, a server, the network; retrying may help |
"""

import sys
from typing import NoReturn

import click

EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_REJECTED = 3
EXIT_SYSTEM = 4

_BY_KIND = {"system": EXIT_SYSTEM}


def exit_code(error_kind: str | None) -> int:
    """The status of a failure of the given kind (``input``, ``system``, or unknown)."""
    return _BY_KIND.get(error_kind or "", EXIT_FAILED)


def fail(error: Exception) -> NoReturn:
    """Prints ``Error: <one line>`` on stderr and exits with the status of the error's kind."""
    click.echo(f"Error: {error}", err=True)
    sys.exit(exit_code(getattr(error, "kind", None)))
