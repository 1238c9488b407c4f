"""Rewrites the golden compiled YAML files from what the code compiles now.

Run from the top of a clone: ``.venv/bin/python -m tests.update_goldens``; then review
``git diff tests/golden`` and commit the files on their own. It prints each file it changed, added
or removed. This is the only way to update them: the test run never writes them.
"""

import sys
import tempfile
from pathlib import Path

from kfp_mlops.compile.compiler import compile_all

sys.path.insert(0, str(Path(__file__).parent))  # tests/, as pytest's pythonpath has it
from golden_files import GOLDEN, cases, normalize


def update(golden: Path = GOLDEN) -> list[str]:
    """Compiles everything and writes the normalized YAML to ``golden``; returns what changed."""
    changed = []
    wanted = set()
    with tempfile.TemporaryDirectory() as folder:
        compile_all(Path(folder))
        for case in cases():
            wanted.add(f"{case}.yaml")
            produced = normalize((Path(folder) / f"{case}.yaml").read_text(encoding="utf-8"))
            path = golden / f"{case}.yaml"
            if not path.exists() or path.read_text(encoding="utf-8") != produced:
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(produced, encoding="utf-8")
                changed.append(f"wrote {path.relative_to(golden.parent)}")
    for path in sorted(golden.rglob("*.yaml")):
        if str(path.relative_to(golden)) not in wanted:
            path.unlink()
            changed.append(f"removed {path.relative_to(golden.parent)}")
    return changed


def main() -> int:
    changed = update()
    print("\n".join(changed) if changed else "the golden files are up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main())
