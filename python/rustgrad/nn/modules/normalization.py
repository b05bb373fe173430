"""``torch.nn`` layers: normalization."""

__all__ = []
