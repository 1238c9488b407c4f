"""Image references: versioned by default, overridable, never a moving tag."""

import pytest

from kfp_mlops.components import images


def test_default_image_is_tagged_with_the_package_version():
    assert f"ghcr.io/kfp-mlops/kfp-mlops:{images.PACKAGE_VERSION}" == images.CPU_IMAGE


def test_registry_tag_and_digest_override():
    digest = "sha256:" + "ab" * 32
    settings = images.ImageSettings(
        registry="registry.example.com/team", tag="2.0.0", digests={"kfp-mlops": digest}
    )
    assert settings.reference("kfp-mlops") == f"registry.example.com/team/kfp-mlops@{digest}"
    assert images.ImageSettings(tag="2.0.0").reference("kfp-mlops").endswith("kfp-mlops:2.0.0")


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"tag": "latest"}, "never 'latest'"),
        ({"tag": "has space"}, "is refused"),
        ({"registry": "https://ghcr.io/x"}, r"HOST\[/NAMESPACE\]"),
        ({"digests": {"kfp-mlops": "sha256:123"}}, "sha256:<64 hex>"),
        ({"digests": {"nope": "sha256:" + "0" * 64}}, "unknown repository 'nope'"),
    ],
)
def test_bad_image_settings_are_refused(arguments, message):
    with pytest.raises(ValueError, match=message):
        images.ImageSettings(**arguments)


def test_retarget_rewrites_only_image_lines():
    text = f"image: {images.CPU_IMAGE}\nother: {images.CPU_IMAGE}\n"
    moved = images.retarget(text, images.ImageSettings(registry="r.example.com/x", tag="9"))
    assert moved == f"image: r.example.com/x/kfp-mlops:9\nother: {images.CPU_IMAGE}\n"
