"""``torch.nn`` layers: sparse."""

__all__ = []
