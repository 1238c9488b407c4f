"""A broken Dockerfile fails the image test: the test can tell a good image from a bad one.

The variant is containers/Dockerfile without the step that installs our package (its dependencies
stay): it builds, as such a mistake would, and its layers up to that step come from the cache.
"""

import re
from pathlib import Path

import pytest
from support.image_build import RECIPES, REPOSITORY_ROOT, build_image, prune
from support.launcher import ComponentRunError, put_file, run_component, stand_in_store

from kfp_mlops.components import images

BROKEN_TAG = "localhost/kfp-mlops-broken:test"
PACKAGE_INSTALL = re.compile(r"pip install --no-deps /src\b")


def instructions(dockerfile: str) -> list[str]:
    """The Dockerfile's lines with each instruction's continuation lines joined to it."""
    joined: list[str] = []
    pending = ""
    for line in dockerfile.splitlines():
        pending += line + "\n"
        if not line.rstrip().endswith("\\"):
            joined.append(pending)
            pending = ""
    return [*joined, pending] if pending else joined


def without_package_install(dockerfile: str) -> str:
    """``dockerfile`` less the one RUN instruction that installs kfp-mlops itself."""
    kept = [item for item in instructions(dockerfile) if not PACKAGE_INSTALL.search(item)]
    assert len(kept) == len(instructions(dockerfile)) - 1, "no single package-install step found"
    return "".join(kept)


def test_variant_drops_exactly_the_package_install():
    text = (REPOSITORY_ROOT / "containers" / "Dockerfile").read_text(encoding="utf-8")
    variant = without_package_install(text)
    assert not PACKAGE_INSTALL.search(variant)
    assert variant.count("\nRUN ") == text.count("\nRUN ") - 1
    assert "COPY --from=build /opt/kfp-mlops /opt/kfp-mlops" in variant


@pytest.mark.slow
def test_image_without_the_package_fails_the_component_run(
    image_cache, cpu_image, compiled, tmp_path: Path, breast_cancer_csv
):
    dockerfile = tmp_path / "Dockerfile.broken"
    text = (REPOSITORY_ROOT / "containers" / "Dockerfile").read_text(encoding="utf-8")
    dockerfile.write_text(without_package_install(text), encoding="utf-8")
    recipe = RECIPES[images.CPU_REPOSITORY]
    broken = build_image(image_cache, recipe, dockerfile=dockerfile, tag=BROKEN_TAG, keep=False)
    try:
        store = stand_in_store(tmp_path / "minio")
        source = put_file(store, breast_cancer_csv, "inputs/breast_cancer.csv")
        with pytest.raises(ComponentRunError, match="No module named 'kfp_mlops'"):
            run_component(
                image_cache.buildah,
                compiled["ingest_dataset"],
                store,
                "ingest-dataset",
                {"source_uri": source},
                image=broken.reference,
            )
    finally:
        image_cache.buildah.remove_images([broken.reference])
        prune(image_cache)
