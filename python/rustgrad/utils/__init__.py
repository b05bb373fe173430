"""``torch.utils``: data loading (``utils.data``) and DLPack exchange
(``utils.dlpack``)."""

from . import data, dlpack, hooks

__all__ = ["data", "dlpack", "hooks"]
