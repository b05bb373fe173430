"""``torch.nn.parameter``."""

__all__ = []
