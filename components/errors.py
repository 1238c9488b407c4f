"""The one error type components raise for problems a person can act on."""


class ComponentInputError(ValueError):
    """Bad input or a broken rule: which column, threshold or URI, and what is wrong with it.

    The message is a single line so that it reads well in the KFP UI, in ``kfp.local`` logs and in
    the ``kfp-mlops run`` summary, which quotes it as the reason a run failed.
    """

    def __init__(self, message: str) -> None:
        super().__init__(" ".join(message.split()))
