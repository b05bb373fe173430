"""``torch.nn`` layers: linear."""

__all__ = []
