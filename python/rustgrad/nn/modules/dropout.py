"""``torch.nn`` layers: dropout. Active in training mode only; each calls
the functional form with ``self.training``. Repr ``Dropout(p=0.5,
inplace=False)``. After ``torch/nn/modules/dropout.py``."""

from .. import functional as F
from .module import Module

__all__ = ["Dropout", "Dropout1d", "Dropout2d", "Dropout3d", "AlphaDropout", "FeatureAlphaDropout"]


class _DropoutNd(Module):
    """Holds ``p`` (ValueError outside ``[0, 1]``) and ``inplace``;
    ``forward`` calls ``F.<_fn>``."""

    __constants__ = ["p", "inplace"]
    _fn = None
    _takes_inplace = True

    def __init__(self, p=0.5, inplace=False):
        super().__init__()
        if p < 0 or p > 1:
            raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
        self.p = p
        self.inplace = inplace

    def forward(self, input):
        # The alpha variants ignore ``inplace``, as PyTorch's modules do.
        inplace = (self.inplace,) if self._takes_inplace else ()
        return getattr(F, self._fn)(input, self.p, self.training, *inplace)

    def extra_repr(self):
        return f"p={self.p}, inplace={self.inplace}"


class Dropout(_DropoutNd):
    """Zeroes elements with probability ``p`` in training, scaling the
    others by ``1 / (1 - p)``; any input shape."""

    _fn = "dropout"


class Dropout1d(_DropoutNd):
    """Zeroes whole channels of ``(N, C, L)`` or ``(C, L)`` input."""

    _fn = "dropout1d"


class Dropout2d(_DropoutNd):
    """Zeroes whole channels of ``(N, C, H, W)`` input (3-D input is
    taken as ``(N, C, L)``, with a warning)."""

    _fn = "dropout2d"


class Dropout3d(_DropoutNd):
    """Zeroes whole channels of ``(N, C, D, H, W)`` or ``(C, D, H, W)``
    input."""

    _fn = "dropout3d"


class AlphaDropout(_DropoutNd):
    """Alpha dropout for SELU networks (keeps zero mean, unit variance)."""

    _fn = "alpha_dropout"
    _takes_inplace = False


class FeatureAlphaDropout(_DropoutNd):
    """Alpha dropout of whole channels."""

    _fn = "feature_alpha_dropout"
    _takes_inplace = False
