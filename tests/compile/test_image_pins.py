"""Compiled YAML names every image by a fixed version tag, or by digest for a release."""

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from kfp_mlops.compile.cli import main
from kfp_mlops.compile.image_refs import (
    referenced_images,
    split_reference,
    unpinned_images,
    unpinned_reason,
)
from kfp_mlops.components import images

DIGESTS = {
    repository: "sha256:" + f"{number:x}" * 64
    for number, repository in enumerate(images.REPOSITORIES, start=10)
}
DIGEST_OPTIONS = [
    argument
    for repository, digest in DIGESTS.items()
    for argument in ("--image-digest", f"{repository}={digest}")
]


def _compiled(folder: Path) -> dict[Path, str]:
    return {path: path.read_text(encoding="utf-8") for path in sorted(folder.rglob("*.yaml"))}


def _ours(reference: str) -> bool:
    name, _, _ = split_reference(reference)
    return name.rpartition("/")[2] in images.REPOSITORIES


def _compile(*arguments: str) -> None:
    result = CliRunner().invoke(main, ["compile", *arguments], catch_exceptions=False)
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize(
    ("reference", "reason"),
    [
        ("ghcr.io/kfp-mlops/kfp-mlops", "no tag and no digest"),
        ("ghcr.io/kfp-mlops/kfp-mlops:latest", "'latest'"),
        ("localhost:5000/kfp-mlops", "no tag and no digest"),
        ("python", "no tag and no digest"),
        ("ghcr.io/x/y@sha256:abc", "not sha256:<64 hex>"),
    ],
)
def test_moving_references_are_found(reference, reason):
    assert reason in unpinned_reason(reference)


@pytest.mark.parametrize(
    "reference",
    [
        "ghcr.io/kfp-mlops/kfp-mlops:0.1.0",
        "localhost:5000/kfp-mlops:0.1.0",
        "gcr.io/ml-pipeline/google-cloud-pipeline-components:2.22.0",
        "ghcr.io/kfp-mlops/kfp-mlops@sha256:" + "0" * 64,
        "ghcr.io/kfp-mlops/kfp-mlops:0.1.0@sha256:" + "0" * 64,
    ],
)
def test_pinned_references_pass(reference):
    assert unpinned_reason(reference) is None


def test_the_check_finds_latest_and_untagged_images_in_compiled_yaml(compiled_dir: Path):
    text = (compiled_dir / "components" / "ingest_dataset.yaml").read_text(encoding="utf-8")
    assert unpinned_images(text) == []
    for moving in (f"{images.CPU_IMAGE.rsplit(':', 1)[0]}:latest", "python"):
        broken = text.replace(f"image: {images.CPU_IMAGE}\n", f"image: {moving}\n")
        assert [reference for reference, _ in unpinned_images(broken)] == [moving]


def test_default_compile_pins_every_image_to_the_package_version(compiled_dir: Path):
    for path, text in _compiled(compiled_dir).items():
        named = referenced_images(text)
        assert named, f"{path.name} names no image"
        assert unpinned_images(text) == [], path.name
        ours = [reference for reference in named if _ours(reference)]
        assert ours, f"{path.name} names none of our images"
        assert {split_reference(reference)[1] for reference in ours} == {images.PACKAGE_VERSION}


@pytest.mark.parametrize(
    "target",
    [
        ["--target", "kubeflow"],
        # GPU training on Vertex AI runs as a CustomJob: its worker pool names the image too.
        ["--target", "vertex", "--gpu", "nvidia-t4"],
    ],
)
def test_image_digest_names_every_image_by_digest(tmp_path: Path, target: list[str]):
    _compile("--out", str(tmp_path), *target, *DIGEST_OPTIONS)
    compiled = _compiled(tmp_path)
    assert compiled
    for path, text in compiled.items():
        assert unpinned_images(text) == [], path.name
        ours = [reference for reference in referenced_images(text) if _ours(reference)]
        assert ours, path.name
        for reference in ours:
            name, tag, digest = split_reference(reference)
            assert (tag, digest) == ("", DIGESTS[name.rpartition("/")[2]]), reference
        assert f":{images.PACKAGE_VERSION}\n" not in text, path.name


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--image-digest", "kfp-mlops"], "is not REPOSITORY=sha256:DIGEST"),
        (["--image-digest", f"kfp-mlops={DIGESTS['kfp-mlops']}"], "pin every image or none"),
        ([*DIGEST_OPTIONS, "--image-digest", "kfp-mlops=sha256:1"], "given twice"),
        (["--image-digest", "nope=sha256:1", *DIGEST_OPTIONS], "unknown repository 'nope'"),
        (["--image-tag", "latest"], "never 'latest'"),
    ],
)
def test_bad_image_options_are_refused_in_one_line(tmp_path: Path, arguments, message):
    result = CliRunner().invoke(main, ["compile", "--out", str(tmp_path), *arguments])
    assert result.exit_code == 2
    assert message in result.output
    assert not list(tmp_path.rglob("*.yaml"))


def test_images_command_prints_what_the_compiled_yaml_names(tmp_path: Path):
    options = ["--image-registry", "registry.example.com/team", *DIGEST_OPTIONS]
    _compile("--out", str(tmp_path), *options)
    result = CliRunner().invoke(main, ["images", "--json", *options], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    printed = json.loads(result.output)
    written = {
        path.stem: referenced_images(path.read_text(encoding="utf-8"))
        for path in (tmp_path / "components").glob("*.yaml")
    }
    assert printed == written
    assert all(
        reference.startswith("registry.example.com/team/") and "@sha256:" in reference
        for references in printed.values()
        for reference in references
    )


def test_images_command_table_names_the_versioned_default_images():
    result = CliRunner().invoke(main, ["images"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    rows = dict(line.split(maxsplit=1) for line in result.output.splitlines())
    assert rows["ingest_dataset"] == images.CPU_IMAGE
    assert rows["train_sklearn"] == images.CPU_IMAGE
    assert set(rows.values()) <= {images.DEFAULT_SETTINGS.reference(r) for r in images.REPOSITORIES}
