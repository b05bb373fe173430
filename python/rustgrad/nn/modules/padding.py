"""``torch.nn`` layers: padding."""

__all__ = []
