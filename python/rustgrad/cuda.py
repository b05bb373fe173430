"""``torch.cuda``: CUDA is optional; this build reports whether it has it."""

from . import _core


def is_available():
    return _core.cuda_is_available()


def device_count():
    return _core.cuda_device_count()


def manual_seed(seed):
    """Seeds the CUDA generators: there are none without CUDA, so this does
    nothing, as PyTorch's lazy seeding does on a machine without a GPU."""


def manual_seed_all(seed):
    """Seeds every CUDA generator: nothing to seed without CUDA."""


def seed():
    """Seeds the CUDA generator randomly: nothing to seed without CUDA."""


def seed_all():
    """Seeds every CUDA generator randomly: nothing to seed without CUDA."""


def empty_cache():
    """Frees cached CUDA memory: there is none without CUDA."""
