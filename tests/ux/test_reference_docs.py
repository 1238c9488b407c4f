"""docs/reference/<stage>.md say what the components' docstrings say."""

import shutil
import subprocess
import sys
from pathlib import Path

from kfp import dsl

from kfp_mlops.compile.reference import REFERENCE_DIR, render_component, stale_pages

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "generate_reference.py"


def test_the_reference_pages_are_in_sync_with_the_docstrings():
    stale = stale_pages(REFERENCE_DIR)
    assert not stale, f"stale: {stale}; run: python scripts/generate_reference.py"


def test_an_edited_or_missing_page_is_reported_stale(tmp_path: Path):
    shutil.copytree(REFERENCE_DIR, tmp_path / "reference")
    folder = tmp_path / "reference"
    page = folder / "data.md"
    page.write_text(page.read_text(encoding="utf-8").replace("Parquet", "Feather"))
    (folder / "monitoring.md").unlink()
    (folder / "gone.md").write_text("# a stage that no longer exists\n")

    assert sorted(stale_pages(folder)) == ["data.md", "gone.md", "monitoring.md"]


def test_the_check_command_fails_naming_the_stale_page(tmp_path: Path, monkeypatch):
    folder = tmp_path / "reference"
    shutil.copytree(REFERENCE_DIR, folder)
    (folder / "tuning.md").write_text("old\n")
    import kfp_mlops.compile.reference as reference

    sys.path.insert(0, str(SCRIPT.parent))
    try:
        import generate_reference
    finally:
        sys.path.remove(str(SCRIPT.parent))
    monkeypatch.setattr(generate_reference, "REFERENCE_DIR", folder)
    assert generate_reference.main(["--check"]) == 1
    assert generate_reference.main([]) == 0
    assert reference.stale_pages(folder) == []
    assert generate_reference.main(["--check"]) == 0


def test_a_components_docstring_becomes_its_inputs_outputs_and_description():
    @dsl.component(base_image="python:3.11")
    def scale(values: dsl.Input[dsl.Dataset], factor: float, scaled: dsl.Output[dsl.Dataset]):
        """Multiplies every value by a factor.

        Args:
            values: The numbers to scale.
            factor: What to multiply them by.

        Returns:
            scaled: The scaled numbers.
        """

    text = "\n".join(render_component("scale", scale))

    assert "Multiplies every value by a factor." in text
    assert "| `factor` | `Float` |  | What to multiply them by. |" in text
    assert "| `values` | `system.Dataset` |  | The numbers to scale. |" in text
    assert "| `scaled` | `system.Dataset` | The scaled numbers. |" in text


def test_the_script_runs_as_documented():
    finished = subprocess.run(
        [sys.executable, str(SCRIPT), "--check"], capture_output=True, text=True, timeout=120
    )
    assert finished.returncode == 0, finished.stderr
