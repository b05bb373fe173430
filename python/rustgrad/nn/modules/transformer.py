"""``torch.nn`` layers: transformer."""

__all__ = []
