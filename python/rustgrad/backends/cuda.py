"""``torch.backends.cuda``: the matmul precision switches scripts set
(``matmul.allow_tf32``); plain attributes, since rustgrad has no CUDA
matmul yet."""

import types

matmul = types.SimpleNamespace(allow_tf32=False, allow_fp16_reduced_precision_reduction=True,
                               allow_bf16_reduced_precision_reduction=True)


def is_built():
    """Whether this build has the CUDA backend."""
    from .. import _core

    return _core.cuda_is_available()
