"""The CPU image: its size, and its build time cold, with the pip cache warm, and cached.

    python bench/bench_images.py [--repeats N]

Needs root and Debian's buildah and debootstrap (scripts/system-packages.txt), like tests/images.
Each repeat starts from an empty cache folder and, in this order:

1. cold, pip inside the build: the debootstrap'ed base, then containers/Dockerfile with pip
   downloading every package from the index inside the build (this machine's CA bundle mounted),
   as `docker build` does on a fresh machine;
2. cold, wheelhouse: the test harness's way from nothing: the wheelhouse filled by this machine's
   pip, then the build installing from it offline (base already there, timed in 1);
3. pip cache warm: the layer cache dropped, the base and the wheelhouse kept;
4. layer cache: the same build again, nothing changed.

Sizes: the image's layers as `buildah push` writes them to an OCI layout, uncompressed and gzip.
Timings are wall-clock seconds; ratios are against the cold pip-inside-the-build build. The machine
is shared: read the best and the median.
"""

import argparse
import gzip
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from support.buildah import Buildah, Volume  # noqa: E402
from support.image_base import DebianBase, ensure_base  # noqa: E402
from support.image_build import (  # noqa: E402
    KFP_VERSION,
    RECIPES,
    REPOSITORY_ROOT,
    WHEELHOUSE_MOUNT,
    ImageCache,
    build_image,
    fill_wheelhouse,
)

from kfp_mlops.components import images  # noqa: E402

RECIPE = RECIPES[images.CPU_REPOSITORY]


def _host_ca_bundle() -> Path:
    done = subprocess.run(
        [sys.executable, "-m", "pip", "config", "get", "global.cert"],
        capture_output=True,
        text=True,
        check=False,
    )
    bundle = Path(done.stdout.strip() or "/etc/ssl/certs/ca-certificates.crt")
    if not bundle.is_file():
        sys.exit(f"no CA bundle at {bundle}: pip's global.cert names none")
    return bundle


def build_from_index(cache: ImageCache, base: str, folder: Path) -> float:
    """Builds the CPU image with pip downloading inside the build; returns seconds."""
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(_host_ca_bundle(), folder / "ca.crt")
    (folder / "pip.conf").write_text(f"[global]\ncert = {WHEELHOUSE_MOUNT}/ca.crt\n", "utf-8")
    started = time.perf_counter()
    cache.buildah.build(
        REPOSITORY_ROOT / RECIPE.dockerfile,
        REPOSITORY_ROOT,
        "localhost/kfp-mlops-bench:index",
        {
            "BASE": base,
            "VERSION": images.PACKAGE_VERSION,
            "KFP_VERSION": KFP_VERSION,
            "PIP_CONFIG_FILE": f"{WHEELHOUSE_MOUNT}/pip.conf",
        },
        [Volume(folder, WHEELHOUSE_MOUNT)],
        cache.log("bench-index"),
    )
    return time.perf_counter() - started


def drop_all_but(buildah: Buildah, keep: str) -> None:
    """Removes every image (the layer cache included) except ``keep``."""
    buildah.remove_images(
        [image_id for image_id, names in buildah.image_ids().items() if keep not in names]
    )


def layer_sizes(buildah: Buildah, reference: str, folder: Path) -> tuple[int, int]:
    """Bytes of the image's layers as pushed to an OCI layout: (uncompressed, compressed).

    buildah 1.28 writes gzip layers to an OCI layout whatever its compression flags say, so the
    uncompressed size is measured by decompressing each layer blob.
    """
    layout = folder / "layout"
    buildah.call("push", reference, f"oci:{layout}:bench", timeout=1800)
    blobs = layout / "blobs" / "sha256"
    index = json.loads((layout / "index.json").read_text(encoding="utf-8"))
    digest = index["manifests"][0]["digest"].split(":", 1)[1]
    manifest = json.loads((blobs / digest).read_text(encoding="utf-8"))
    uncompressed = compressed = 0
    for layer in manifest["layers"]:
        blob = blobs / layer["digest"].split(":", 1)[1]
        compressed += blob.stat().st_size
        opener = gzip.open if layer["mediaType"].endswith("+gzip") else open
        with opener(blob, "rb") as stream:
            while chunk := stream.read(1 << 20):
                uncompressed += len(chunk)
    return uncompressed, compressed


def one_round(scratch: Path) -> dict[str, float]:
    """Every measurement from an empty cache folder."""
    cache = ImageCache(scratch / "cache")
    results: dict[str, float] = {}
    started = time.perf_counter()
    base = ensure_base(cache.buildah, DebianBase(), cache.log("debootstrap"))
    results["base"] = time.perf_counter() - started
    results["cold_index"] = results["base"] + build_from_index(cache, base, scratch / "index")
    drop_all_but(cache.buildah, base)

    started = time.perf_counter()
    fill_wheelhouse(cache, RECIPE.extras)
    results["wheelhouse"] = time.perf_counter() - started
    built = build_image(cache, RECIPE)
    results["cold_wheelhouse"] = results["base"] + results["wheelhouse"] + built.seconds

    drop_all_but(cache.buildah, base)
    results["warm_pip"] = build_image(cache, RECIPE).seconds
    results["layer_cache"] = build_image(cache, RECIPE).seconds

    results["size_plain"], results["size_gzip"] = layer_sizes(
        cache.buildah, RECIPE.reference, scratch
    )
    shutil.rmtree(scratch)
    return results


def main() -> None:
    """Runs the rounds and prints a markdown table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=1)
    options = parser.parse_args()
    rounds = []
    for number in range(options.repeats):
        with tempfile.TemporaryDirectory(prefix="kfp-mlops-bench-", dir="/var/tmp") as scratch:
            rounds.append(one_round(Path(scratch) / "round"))
        print(f"round {number + 1}: {json.dumps({k: round(v, 1) for k, v in rounds[-1].items()})}")

    def column(key: str) -> list[float]:
        return [result[key] for result in rounds]

    baseline = statistics.median(column("cold_index"))
    print(f"\nCPU image ({RECIPE.reference}), {len(rounds)} round(s), seconds:\n")
    print("| build | best | median | vs cold (pip in build) |")
    print("| --- | ---: | ---: | ---: |")
    rows = [
        ("cold: base + pip downloading inside the build", "cold_index"),
        ("cold: base + wheelhouse + offline build (the tests' way)", "cold_wheelhouse"),
        ("  of which: debootstrap base", "base"),
        ("  of which: filling the wheelhouse", "wheelhouse"),
        ("pip cache warm (wheelhouse kept, no layer cache)", "warm_pip"),
        ("layer cache, nothing changed", "layer_cache"),
    ]
    for title, key in rows:
        values = column(key)
        median = statistics.median(values)
        print(f"| {title} | {min(values):.0f} | {median:.0f} | {median / baseline:.2f} |")
    plain = statistics.median(column("size_plain")) / 1e6
    gzip = statistics.median(column("size_gzip")) / 1e6
    print(f"\nImage size: {plain:.0f} MB uncompressed, {gzip:.0f} MB gzip-compressed layers.")


if __name__ == "__main__":
    main()
