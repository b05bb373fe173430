"""``torch.accelerator``: the current accelerator, as current PyTorch
tutorials pick their device (``torch.accelerator.current_accelerator().type
if torch.accelerator.is_available() else "cpu"``)."""

from . import cuda


def is_available():
    """True when a CUDA device can be used (never on a CPU-only build)."""
    return cuda.is_available()


def current_accelerator(check_available=False):
    """The accelerator's device type (``device("cuda")``), or None on a
    CPU-only build."""
    if not cuda.is_available():
        return None
    from . import device
    return device("cuda")


def device_count():
    return cuda.device_count()
