"""The ``kfp-mlops`` command-line tool: compile, run locally, list."""
