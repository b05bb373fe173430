"""``torch.nn`` layers: ``Flatten`` and ``Unflatten`` (after
``torch/nn/modules/flatten.py``)."""

from .module import Module

__all__ = ["Flatten", "Unflatten"]


class Flatten(Module):
    """Flattens dims ``start_dim`` to ``end_dim`` into one:
    (N, C, H, W) -> (N, C*H*W) with the defaults (``start_dim=1``,
    ``end_dim=-1``). Returns a view where ``Tensor.flatten`` does."""

    __constants__ = ["start_dim", "end_dim"]

    def __init__(self, start_dim=1, end_dim=-1):
        super().__init__()
        self.start_dim = start_dim
        self.end_dim = end_dim

    def forward(self, input):
        return input.flatten(self.start_dim, self.end_dim)

    def extra_repr(self):
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class Unflatten(Module):
    """Expands dim ``dim`` into ``unflattened_size`` (a tuple or list of
    ints; one may be -1). TypeError for other sizes; the tensor's
    RuntimeError when the sizes do not multiply to the dim's size."""

    __constants__ = ["dim", "unflattened_size"]

    def __init__(self, dim, unflattened_size):
        super().__init__()
        _require_tuple_int(unflattened_size)
        self.dim = dim
        self.unflattened_size = unflattened_size

    def forward(self, input):
        return input.unflatten(self.dim, self.unflattened_size)

    def extra_repr(self):
        return f"dim={self.dim}, unflattened_size={self.unflattened_size}"


def _require_tuple_int(sizes):
    """PyTorch's check of ``unflattened_size`` (named sizes are not
    supported: rustgrad has no named tensors)."""
    if not isinstance(sizes, (tuple, list)):
        raise TypeError(f"unflattened_size must be a tuple of ints, but found type {type(sizes).__name__}")
    for idx, elem in enumerate(sizes):
        if not isinstance(elem, int):
            raise TypeError("unflattened_size must be tuple of ints, "
                            f"but found element of type {type(elem).__name__} at pos {idx}")
