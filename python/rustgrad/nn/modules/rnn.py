"""``torch.nn`` layers: rnn."""

__all__ = []
