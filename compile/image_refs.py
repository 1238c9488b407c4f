"""The images a compiled YAML names, and whether each is pinned.

A reference is pinned when it names a digest (``NAME@sha256:<64 hex>``) or a fixed tag; a reference
with no tag (which means ``latest``) or with the tag ``latest`` moves under the YAML, so the same
file runs different code from one day to the next.
"""

import re
from collections.abc import Iterator

import yaml

IMAGE_KEYS = ("image", "image_uri", "imageUri")
"""Keys whose text value is an image: executor containers, Vertex AI worker pools."""

_DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")


def _walk(node: object) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key in IMAGE_KEYS and isinstance(value, str):
                yield value
            else:
                yield from _walk(value)
    elif isinstance(node, list):
        for item in node:
            yield from _walk(item)


def referenced_images(compiled_yaml: str) -> list[str]:
    """Every image named in a compiled pipeline or component, each once, in the order met.

    All the YAML documents of the file are read.
    """
    found: list[str] = []
    for document in yaml.safe_load_all(compiled_yaml):
        for reference in _walk(document):
            if reference not in found:
                found.append(reference)
    return found


def split_reference(reference: str) -> tuple[str, str, str]:
    """``(name, tag, digest)`` of an image reference; tag and digest are "" when absent.

    The tag is what follows the last ``:`` of the last path component, so a registry port
    (``localhost:5000/name``) is not mistaken for a tag.
    """
    name, _, digest = reference.partition("@")
    head, slash, last = name.rpartition("/")
    last, _, tag = last.partition(":")
    return f"{head}{slash}{last}", tag, digest


def unpinned_reason(reference: str) -> str | None:
    """Why ``reference`` is not pinned, or None when it names a digest or a fixed tag."""
    _, tag, digest = split_reference(reference)
    if digest:
        return None if _DIGEST.match(digest) else f"digest {digest!r} is not sha256:<64 hex>"
    if not tag:
        return "no tag and no digest (that means 'latest')"
    if tag == "latest":
        return "the moving tag 'latest'"
    return None


def unpinned_images(compiled_yaml: str) -> list[tuple[str, str]]:
    """``(reference, reason)`` for every image in ``compiled_yaml`` that is not pinned."""
    found = []
    for reference in referenced_images(compiled_yaml):
        reason = unpinned_reason(reference)
        if reason is not None:
            found.append((reference, reason))
    return found
