"""``torch.nn.functional``: convolution."""

__all__ = []
