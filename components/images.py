"""The one place that names the container image each component runs in.

Components are declared with the default references below
(``ghcr.io/kfp-mlops/<repository>:<version>``, the tag equal to this package's version, never
``:latest``). ``kfp-mlops compile`` can point the compiled YAML at another registry, tag or digest
with :class:`ImageSettings`, so a user publishes the images to their own registry without editing
code.
"""

import dataclasses
import re
from importlib.metadata import version

PACKAGE_VERSION = version("kfp-mlops")
DEFAULT_REGISTRY = "ghcr.io/kfp-mlops"

CPU_REPOSITORY = "kfp-mlops"
"""Every CPU component: data, scikit-learn training, evaluation, registry, deployment."""

GPU_REPOSITORY = "kfp-mlops-gpu"
"""PyTorch training (train_pytorch): the same package on a CUDA base (containers/Dockerfile.gpu)."""

REPOSITORIES = (CPU_REPOSITORY, GPU_REPOSITORY)

_DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")
_TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")


@dataclasses.dataclass(frozen=True)
class ImageSettings:
    """Where the compiled YAML says the images are.

    Attributes:
        registry: Registry and namespace that hold the repositories, e.g. ``ghcr.io/my-org``.
        tag: The tag of every image; a moving tag such as ``latest`` is refused.
        digests: Repository name to ``sha256:...`` digest; a repository listed here is named by
            digest.
    """

    registry: str = DEFAULT_REGISTRY
    tag: str = PACKAGE_VERSION
    digests: dict[str, str] = dataclasses.field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.registry or self.registry.endswith("/") or "://" in self.registry:
            raise ValueError(
                f"image registry {self.registry!r} is not of the form HOST[/NAMESPACE], "
                "e.g. ghcr.io/my-org"
            )
        if self.tag == "latest" or not _TAG.match(self.tag):
            raise ValueError(
                f"image tag {self.tag!r} is refused: use a fixed version tag such as "
                f"{PACKAGE_VERSION!r} (or a digest), never 'latest'"
            )
        for repository, digest in self.digests.items():
            if repository not in REPOSITORIES:
                raise ValueError(
                    f"image digest given for unknown repository {repository!r}; "
                    f"known: {', '.join(REPOSITORIES)}"
                )
            if not _DIGEST.match(digest):
                raise ValueError(
                    f"image digest {digest!r} for {repository!r} is not of the form sha256:<64 hex>"
                )

    def reference(self, repository: str) -> str:
        """The full image reference of ``repository`` under these settings."""
        digest = self.digests.get(repository)
        if digest:
            return f"{self.registry}/{repository}@{digest}"
        return f"{self.registry}/{repository}:{self.tag}"


DEFAULT_SETTINGS = ImageSettings()
CPU_IMAGE = DEFAULT_SETTINGS.reference(CPU_REPOSITORY)
GPU_IMAGE = DEFAULT_SETTINGS.reference(GPU_REPOSITORY)


def retarget(compiled_yaml: str, settings: ImageSettings) -> str:
    """Rewrites the default image references in a compiled pipeline or component YAML.

    Container images (``image:``) and the images of Vertex AI CustomJob worker pools
    (``image_uri:``) are rewritten.
    """
    for repository in REPOSITORIES:
        default = DEFAULT_SETTINGS.reference(repository)
        for key in ("image", "image_uri"):
            compiled_yaml = compiled_yaml.replace(
                f"{key}: {default}\n", f"{key}: {settings.reference(repository)}\n"
            )
    return compiled_yaml
