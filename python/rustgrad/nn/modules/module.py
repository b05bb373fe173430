"""``torch.nn`` layers: module."""

__all__ = []
