"""``torch.nn.functional``: sampling."""

__all__ = []
