"""``torch.utils``: data loading (``utils.data``) and DLPack exchange
(``utils.dlpack``)."""

from . import data, dlpack

__all__ = ["data", "dlpack"]
