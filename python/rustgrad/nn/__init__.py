"""``torch.nn``: modules and parameters, layers, losses, initialisation
(``nn.init``), utilities (``nn.utils``) and the functional forms
(``nn.functional``)."""

from . import functional, init, utils
from .parameter import *  # noqa: F401,F403
from .modules import *  # noqa: F401,F403
