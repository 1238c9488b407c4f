"""Prints the requirements of ``kfp-mlops[EXTRA,...]`` read from pyproject.toml, one per line.

The Dockerfiles install these (with constraints.txt) in a layer of their own, before the source is
copied, so that a change to the code reinstalls only the package and not its dependencies. It runs
with the base image's bare Python (3.11+, standard library only):

    python3 containers/requirements.py [--pyproject pyproject.toml] runtime > requirements.txt

Self-references such as ``kfp-mlops[data]`` are expanded; markers and version specifiers are kept.
"""

import argparse
import re
import sys
import tomllib
from pathlib import Path

_SELF = re.compile(r"^\s*(?P<name>[A-Za-z0-9._-]+)\s*\[(?P<extras>[^\]]*)\]\s*$")


def _normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def requirements(project: dict, extras: list[str]) -> list[str]:
    """The base dependencies of ``project`` plus those of ``extras``, self-references expanded.

    Args:
        project: The ``[project]`` table of a pyproject.toml.
        extras: Names of optional-dependency groups to include.

    Returns:
        The requirement strings, each once, in the order they are first met.

    Raises:
        ValueError: An extra, or an extra that a self-reference names, does not exist.
    """
    own_name = _normalized(project["name"])
    optional = project.get("optional-dependencies", {})
    found: list[str] = []
    seen_extras: set[str] = set()

    def add(items: list[str]) -> None:
        for item in items:
            own = _SELF.match(item)
            if own and _normalized(own.group("name")) == own_name:
                expand([extra.strip() for extra in own.group("extras").split(",")])
            elif item not in found:
                found.append(item)

    def expand(names: list[str]) -> None:
        for name in names:
            if name in seen_extras:
                continue
            if name not in optional:
                known = ", ".join(sorted(optional))
                raise ValueError(f"extra {name!r} is not in pyproject.toml; known: {known}")
            seen_extras.add(name)
            add(optional[name])

    add(project.get("dependencies", []))
    expand(extras)
    return found


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; returns the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("extras", nargs="+", help="optional-dependency groups, e.g. runtime")
    parser.add_argument("--pyproject", type=Path, default=Path("pyproject.toml"))
    options = parser.parse_args(argv)
    project = tomllib.loads(options.pyproject.read_text(encoding="utf-8"))["project"]
    try:
        lines = requirements(project, options.extras)
    except ValueError as error:
        print(f"containers/requirements.py: {error}", file=sys.stderr)
        return 2
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
