"""``torch.utils``: DLPack exchange (``utils.dlpack``)."""

from . import dlpack

__all__ = ["dlpack"]
