"""``torch.cuda``: CUDA is optional; this build reports whether it has it."""

from . import _core


def is_available():
    return _core.cuda_is_available()


def device_count():
    return _core.cuda_device_count()
