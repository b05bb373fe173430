"""``torch.nn``. For now the functional losses; modules come with the nn issue."""

from . import functional

__all__ = ["functional"]
