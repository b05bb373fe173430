"""``torch.backends``: the switches training scripts set for accelerator
libraries (``cudnn.benchmark``, ``cudnn.deterministic``, ...). rustgrad has
none of those libraries: the switches are kept, so scripts that set them
run, and report that the backends are unavailable."""

from . import cuda, cudnn, mps

__all__ = ["cuda", "cudnn", "mps"]
