"""Writes docs/reference/<stage>.md from the components' docstrings.

Usage, from the repository root in the project's virtual environment::

    python scripts/generate_reference.py          # rewrite the pages
    python scripts/generate_reference.py --check  # exit 1 naming the stale pages
"""

import argparse
import sys

from kfp_mlops.compile.reference import REFERENCE_DIR, stale_pages, write_pages


def main(argv: list[str] | None = None) -> int:
    """Writes the reference pages (with --check, lists the stale ones); returns the exit code."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only check; change nothing")
    args = parser.parse_args(argv)
    if args.check:
        stale = stale_pages(REFERENCE_DIR)
        if stale:
            print(
                f"stale reference pages in {REFERENCE_DIR}: {', '.join(stale)}; "
                "run: python scripts/generate_reference.py",
                file=sys.stderr,
            )
            return 1
        return 0
    for name in write_pages(REFERENCE_DIR):
        print(f"wrote {REFERENCE_DIR / name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
