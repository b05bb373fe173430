"""``torch.nn`` layers: container."""

__all__ = []
