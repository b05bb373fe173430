"""``torch.backends.mps``: Apple's Metal backend, which rustgrad lacks."""


def is_available():
    """False: rustgrad has no MPS backend."""
    return False


def is_built():
    """False: rustgrad is not built with MPS."""
    return False
