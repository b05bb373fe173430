"""``torch.backends.cudnn``: not available in rustgrad; the flags scripts
set (``benchmark``, ``deterministic``, ``enabled``, ``allow_tf32``) are
plain attributes with PyTorch's defaults."""

enabled = True
benchmark = False
deterministic = False
allow_tf32 = True


def is_available():
    """False: rustgrad has no cuDNN."""
    return False


def version():
    """None: no cuDNN is loaded."""
    return None
