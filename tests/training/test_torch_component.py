"""The train_pytorch component: called directly with artifacts, and its compiled interface."""

from kfp import compiler
from kfp.dsl import Dataset, Model

from kfp_mlops.components import images, training


def test_train_pytorch_fills_the_model_artifact(breast_cancer_splits, tmp_path):
    model = Model(uri=str(tmp_path / "model"))
    training.train_pytorch.python_func(
        train=Dataset(uri=breast_cancer_splits["train"]),
        validation=Dataset(uri=breast_cancer_splits["validation"]),
        target_column="target",
        model=model,
        architecture="mlp",
        hyperparameters={"hidden_sizes": [16.0], "dropout": 0.0},
        max_epochs=4,
        learning_rate=0.01,
        checkpoint_every=2,
        checkpoint_uri="",
        seed=3,
    )
    assert (tmp_path / "model" / "kfp_mlops_model.json").is_file()
    assert model.metadata["framework"] == "pytorch"
    assert model.metadata["hyperparameters"] == {"hidden_sizes": [16], "dropout": 0.0}
    assert model.metadata["training"]["seed"] == 3
    assert model.metadata["checkpoint_location"] == ""
    assert model.metadata["validation_accuracy"] >= 0.85


def test_compiled_component_runs_in_the_gpu_image(tmp_path):
    path = tmp_path / "train_pytorch.yaml"
    compiler.Compiler().compile(training.train_pytorch, str(path))
    text = path.read_text()
    assert f"image: {images.GPU_IMAGE}\n" in text
    assert f"ghcr.io/kfp-mlops/kfp-mlops-gpu:{images.PACKAGE_VERSION}" == images.GPU_IMAGE
    spec = training.train_pytorch.component_spec
    assert spec.inputs["checkpoint_uri"].optional and spec.inputs["hyperparameters"].optional
    assert not spec.inputs["validation"].optional
    described = [name for name, item in spec.inputs.items() if item.description]
    assert sorted(described) == sorted(spec.inputs)
    assert spec.outputs["model"].description.startswith("A model repository for KServe's Triton")
