"""``torch.nn`` layers: loss."""

__all__ = []
