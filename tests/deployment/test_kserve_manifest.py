"""InferenceService manifests: every combination the deployment can produce validates against the
CRD, keys are the API's camelCase, the formats map to stock runtimes, bad input is refused."""

import itertools

import pytest
import yaml
from deployment import crd

from kfp_mlops.components.common.errors import ComponentInputError
from kfp_mlops.components.deployment import kserve_manifest as km

FORMATS = sorted(km.MODEL_FORMATS)
FRAMEWORK_FORMATS = sorted(
    (framework, name) for framework, formats in km.FORMATS_BY_FRAMEWORK.items() for name in formats
)
"""Every (Model framework, serving format) pair the deployment accepts."""
RESOURCES = {
    "cpu-only": km.Resources({"cpu": "1", "memory": "2Gi"}),
    "limits": km.Resources({"cpu": "500m", "memory": "1Gi"}, {"cpu": "2", "memory": "4Gi"}),
    "gpu": km.Resources({"cpu": "4", "memory": "16Gi"}, gpu_count=1),
    "two-amd-gpus": km.Resources(
        {"cpu": "8", "memory": "32Gi"}, gpu_count=2, gpu_resource="amd.com/gpu"
    ),
}
CANARIES = (None, 0, 10, 100)
REPLICAS = ((1, 1), (0, 3), (2, 10))


def spec(**overrides: object) -> km.ServiceSpec:
    serving_format, subpath = km.model_format(
        str(overrides.pop("format", "sklearn")), str(overrides.pop("framework", "sklearn"))
    )
    values = {
        "name": "breast-cancer",
        "namespace": "models",
        "storage_uri": km.storage_uri("s3://mlpipeline/v2/artifacts/run/model", subpath),
        "serving_format": serving_format,
        "resources": RESOURCES["cpu-only"],
    }
    values.update(overrides)
    return km.ServiceSpec(**values)


def _keys(node: object) -> set[str]:
    if isinstance(node, dict):
        return set(node) | set().union(*(_keys(value) for value in node.values()))
    if isinstance(node, list):
        return set().union(*(_keys(item) for item in node)) if node else set()
    return set()


@pytest.mark.parametrize(
    ("framework_format", "resources", "service_account", "runtime"),
    list(
        itertools.product(
            FRAMEWORK_FORMATS, RESOURCES, (None, "kserve-storage"), (None, "my-runtime")
        )
    ),
)
def test_every_combination_validates_against_the_crd(
    framework_format, resources, service_account, runtime
):
    framework, serving_format = framework_format
    for canary, (low, high) in itertools.product(CANARIES, REPLICAS):
        manifest = km.manifest(
            spec(
                framework=framework,
                format=serving_format,
                resources=RESOURCES[resources],
                service_account=service_account,
                runtime=runtime,
                min_replicas=low,
                max_replicas=high,
                annotations={"kfp-mlops/artifact-uri": "s3://mlpipeline/v2/artifacts/run/model"},
            ),
            canary,
        )
        assert crd.errors(manifest) == [], (framework, serving_format, resources, canary, low)


def test_the_validator_catches_what_the_api_server_refuses():
    manifest = km.manifest(spec())
    manifest["spec"]["predictor"]["minReplicas"] = "one"
    manifest["spec"]["predictor"]["model"]["resources"]["limits"]["cpu"] = "lots"
    manifest["spec"]["predictor"]["model"]["storage_uri"] = "s3://x"  # snake_case: unknown field
    del manifest["spec"]["predictor"]["model"]["modelFormat"]["name"]

    problems = "\n".join(crd.errors(manifest))

    assert "spec.predictor.minReplicas: 'one' is not of type 'integer'" in problems
    assert "spec.predictor.model.resources.limits.cpu: 'lots' does not match" in problems
    assert "'storage_uri' was unexpected" in problems
    assert "spec.predictor.model.modelFormat: 'name' is a required property" in problems


def test_manifest_is_camel_case_without_nulls():
    manifest = km.manifest(spec(format="onnx", service_account="sa"), 10)

    predictor = manifest["spec"]["predictor"]
    assert manifest["apiVersion"] == "serving.kserve.io/v1beta1"
    assert manifest["kind"] == "InferenceService"
    assert predictor["canaryTrafficPercent"] == 10
    assert predictor["serviceAccountName"] == "sa"
    assert predictor["model"] == {
        "name": "kserve-container",
        "modelFormat": {"name": "onnx", "version": "1"},
        "protocolVersion": "v2",
        "storageUri": "s3://mlpipeline/v2/artifacts/run/model/onnx",
        "resources": {
            "requests": {"cpu": "1", "memory": "2Gi"},
            "limits": {"cpu": "1", "memory": "2Gi"},
        },
    }
    assert not any("_" in key for key in _keys(manifest))
    assert None not in yaml.safe_load(yaml.safe_dump(manifest)).values()
    assert manifest["metadata"]["annotations"]["serving.kserve.io/deploymentMode"] == "Serverless"


def test_pytorch_model_is_served_as_onnx_by_triton_from_its_directory():
    manifest = km.manifest(spec(framework="pytorch", format="onnx"), 10)

    model = manifest["spec"]["predictor"]["model"]
    assert model["modelFormat"] == {"name": "onnx", "version": "1"}
    assert model["protocolVersion"] == "v2"
    # The Model directory itself is the Triton repository (model/config.pbtxt, model/1/...).
    assert model["storageUri"] == "s3://mlpipeline/v2/artifacts/run/model"
    assert km.MODEL_FORMATS["onnx"].stock_runtime == "kserve-tritonserver"
    assert km.MODEL_FORMATS["onnx"].model_name("tumours") == "model"
    assert crd.errors(manifest) == []


def test_gpu_is_requested_and_limited():
    manifest = km.manifest(spec(resources=RESOURCES["gpu"]))
    resources = manifest["spec"]["predictor"]["model"]["resources"]
    assert resources["limits"]["nvidia.com/gpu"] == "1"
    assert resources["requests"]["nvidia.com/gpu"] == "1"


def test_no_canary_field_unless_asked():
    assert "canaryTrafficPercent" not in km.manifest(spec())["spec"]["predictor"]
    assert km.manifest(spec(), 0)["spec"]["predictor"]["canaryTrafficPercent"] == 0


def _stock_runtimes() -> dict[str, dict]:
    runtimes = {}
    for path in crd.KSERVE_DATA.glob("kserve-*.yaml"):
        runtime = yaml.safe_load(path.read_text(encoding="utf-8"))
        runtimes[runtime["metadata"]["name"]] = runtime["spec"]
    return runtimes


@pytest.mark.parametrize("name", FORMATS)
def test_each_format_is_auto_selected_by_its_stock_runtime(name):
    serving_format = km.MODEL_FORMATS[name]
    runtime = _stock_runtimes()[serving_format.stock_runtime]
    supported = [
        item
        for item in runtime["supportedModelFormats"]
        if item["name"] == serving_format.name and item["version"] == serving_format.version
    ]
    assert supported and supported[0].get("autoSelect") is True
    assert serving_format.protocol in runtime["protocolVersions"]


def test_only_the_sklearn_runtime_takes_sklearn_with_the_v1_protocol():
    # kserve-mlserver also lists sklearn but speaks only v2: protocolVersion v1 picks sklearnserver.
    choices = [
        name
        for name, runtime in _stock_runtimes().items()
        if any(item["name"] == "sklearn" for item in runtime["supportedModelFormats"])
        and "v1" in runtime["protocolVersions"]
    ]
    assert choices == ["kserve-sklearnserver"]


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        ("s3://bucket/run/model", "s3://bucket/run/model"),
        ("gs://bucket/run/model/", "gs://bucket/run/model"),
        ("pvc://models-pvc/run/model", "pvc://models-pvc/run/model"),
        ("minio://mlpipeline/v2/artifacts/run/model", "s3://mlpipeline/v2/artifacts/run/model"),
        ("https://models.example.com/run/model", "https://models.example.com/run/model"),
        ("hdfs://namenode/run/model", "hdfs://namenode/run/model"),
        ("oci://registry.example.com/models/run:1", "oci://registry.example.com/models/run:1"),
    ],
)
def test_storage_uri_from_the_artifact_uri(uri, expected):
    assert km.storage_uri(uri, km.model_format("sklearn", "sklearn")[1]) == expected
    assert km.storage_uri(uri, km.model_format("onnx", "sklearn")[1]) == f"{expected}/onnx"


@pytest.mark.parametrize(
    "uri", ["/tmp/run/model", "file:///tmp/run/model", "ftp://x/model", "minio://", "s3://"]
)
def test_a_uri_the_cluster_cannot_read_is_refused_naming_it(uri):
    """A local path, an empty location, or a scheme KServe's controller refuses (utils.go)."""
    with pytest.raises(ComponentInputError, match=f"model URI '{uri}' is not one KServe can fetch"):
        km.storage_uri(uri)


@pytest.mark.parametrize("name", ["Breast", "1model", "model_1", "model-", "a" * 47, ""])
def test_invalid_service_names_are_refused(name):
    with pytest.raises(ComponentInputError, match=r"InferenceService name .* is invalid"):
        spec(name=name)


def test_bad_quantities_and_replicas_are_refused_naming_them():
    with pytest.raises(ComponentInputError, match=r"requests\['memory'\] is '2 GB'"):
        km.manifest(spec(resources=km.Resources({"cpu": "1", "memory": "2 GB"})))
    with pytest.raises(ComponentInputError, match="max_replicas 1 must be at least 1 and at least"):
        spec(min_replicas=2, max_replicas=1)
    with pytest.raises(ComponentInputError, match="gpu_resource 'GPU!'"):
        km.manifest(spec(resources=km.Resources({"cpu": "1"}, gpu_count=1, gpu_resource="GPU!")))


def test_formats_are_chosen_by_framework():
    assert km.model_format("onnx", "sklearn") == (km.MODEL_FORMATS["onnx"], "onnx")
    assert km.model_format("onnx", "pytorch") == (km.MODEL_FORMATS["onnx"], "")
    with pytest.raises(ComponentInputError) as raised:
        km.model_format("sklearn", "pytorch")
    assert str(raised.value) == (
        "a pytorch Model cannot be served as 'sklearn'; its formats are: onnx"
    )
    with pytest.raises(ComponentInputError, match="unknown model_format 'tensorflow'"):
        km.model_format("tensorflow", "sklearn")
    with pytest.raises(
        ComponentInputError, match=r"framework .lightgbm. has no KServe serving format"
    ):
        km.model_format("sklearn", "lightgbm")


def test_the_longest_name_keeps_the_tagged_host_one_dns_label():
    """46 characters: ``latest-<name>-predictor`` is 63, the longest DNS label; 47 is refused."""
    longest = "a" * km.MAX_NAME_LENGTH
    assert len(f"latest-{longest}-predictor") == 63
    assert spec(name=longest).name == longest
