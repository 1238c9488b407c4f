"""The ``kfp-mlops`` command-line tool.

Compile, list, run locally, submit and schedule on Kubeflow Pipelines, serve a model, roll back a
champion, write sample data, name the images.

One module per command in ``commands/``; the option groups they share are defined once in
``commands/options.py`` (images, the cluster, the KFP endpoint) and ``commands/kfp_options.py``
(the pipeline and its arguments); the exit statuses are in ``exits.py``.
"""
