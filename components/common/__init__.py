"""The shared layer: what more than one stage needs, and nothing that belongs to one stage.

- :mod:`.errors`: the two kinds of failure (bad input, a failing system), each one line.
- :mod:`.atomic`: writes that leave nothing half-written behind.
- :mod:`.tables`: reading and writing the Parquet datasets between steps; their fingerprints.
- :mod:`.features`: which columns a model uses and the preprocessing fitted into it.
- :mod:`.estimators`: scikit-learn estimators by name, with checked hyperparameters.
- :mod:`.model_io`: the Model folder layout (exactly one model file) and its loaders;
  :mod:`.model_loading` loads that file with a restricted unpickler; :mod:`.torch_artifact` is the
  layout of a PyTorch Model; :mod:`.onnx_model` runs ONNX exports behind ``predict``.
- :mod:`.protocols`: the request forms a KServe model server takes (V1, V2).
- :mod:`.mlflow_registry`: reaching MLflow and a registered model's versions and aliases.
- :mod:`.metrics`: metric names, their direction, and scoring a classifier on a labelled table.

Stages (data, training, tuning, evaluation, registry, serving, deployment, monitoring) import this
layer, kfp and their own modules, never each other; ``tests/test_layering.py`` keeps it so.
"""
