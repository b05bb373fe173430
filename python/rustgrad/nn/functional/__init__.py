"""``torch.nn.functional``: the stateless forms of the layers and losses.

One submodule per family (activations, losses, convolution and pooling,
normalization, ...); everything is re-exported here, so
``import rustgrad.nn.functional as F`` works as with PyTorch.
"""

from .activations import *  # noqa: F401,F403
from .linear import *  # noqa: F401,F403
from .losses import *  # noqa: F401,F403
from .convolution import *  # noqa: F401,F403
from .pooling import *  # noqa: F401,F403
from .normalization import *  # noqa: F401,F403
from .dropout import *  # noqa: F401,F403
from .sparse import *  # noqa: F401,F403
from .distance import *  # noqa: F401,F403
from .padding import *  # noqa: F401,F403
from .sampling import *  # noqa: F401,F403
from .attention import *  # noqa: F401,F403
from .pixelshuffle import *  # noqa: F401,F403
