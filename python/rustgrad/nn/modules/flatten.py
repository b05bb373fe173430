"""``torch.nn`` layers: flatten."""

__all__ = []
