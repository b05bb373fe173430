"""``torch.optim``: optimizers and learning-rate schedulers."""

from . import lr_scheduler
