"""``torch.utils.dlpack``: tensors to and from DLPack capsules, sharing
memory (the DLPack protocol: https://dmlc.github.io/dlpack/latest/)."""

from .._core import from_dlpack


def to_dlpack(tensor):
    """A legacy ``dltensor`` capsule sharing ``tensor``'s memory, for
    consumers that take capsules rather than objects with ``__dlpack__``.
    As PyTorch's, it exports a tensor that requires grad too (detached)."""
    return tensor.detach().__dlpack__()


__all__ = ["from_dlpack", "to_dlpack"]
