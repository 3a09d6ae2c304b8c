"""Neural-network building blocks: ``Module`` and ``ModelStatus``, the layers, ``init`` and
``loss``.

>>> import neuronika as nk
>>> from neuronika import nn
>>> layer = nn.Linear(3, 2)
>>> layer(nk.ones((4, 3))).shape
(4, 2)
"""

from . import init, loss
from .conv import Conv1d, Conv2d, Conv3d, GroupedConv1d, GroupedConv2d, GroupedConv3d
from .dropout import Dropout
from .linear import Linear
from .module import LoadResult, ModelStatus, Module
from .recurrent import GRUCell, LSTMCell

__all__ = [
    "Module", "ModelStatus", "LoadResult",
    "Linear", "Conv1d", "Conv2d", "Conv3d", "GroupedConv1d", "GroupedConv2d", "GroupedConv3d",
    "Dropout", "LSTMCell", "GRUCell",
    "init", "loss",
]
