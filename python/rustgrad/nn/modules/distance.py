"""``torch.nn`` layers: distance."""

__all__ = []
