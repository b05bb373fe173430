"""``torch.nn`` layers: attention."""

__all__ = []
