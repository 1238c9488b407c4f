"""One module per ``kfp-mlops`` command; ``compile/cli.py`` gathers them."""
