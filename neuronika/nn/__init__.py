"""Neural-network building blocks: ``Module`` and ``ModelStatus``, the containers, the layers,
``init``, ``loss`` and ``utils`` (gradient clipping).

>>> import neuronika as nk
>>> from neuronika import nn
>>> layer = nn.Linear(3, 2)
>>> layer(nk.ones((4, 3))).shape
(4, 2)
"""

from . import init, loss, utils
from .activation import ELU, Flatten, Identity, LeakyReLU, LogSoftmax, Mish, ReLU, Sigmoid, SiLU, Softmax, Tanh
from .container import ModuleDict, ModuleList, Sequential
from .conv import Conv1d, Conv2d, Conv3d, GroupedConv1d, GroupedConv2d, GroupedConv3d
from .dropout import Dropout
from .linear import Linear
from .module import LoadResult, Module
from .recurrent import GRUCell, LSTMCell
from .status import ModelStatus
from .summary import Summary

__all__ = [
    "Module", "ModelStatus", "LoadResult", "Summary",
    "Sequential", "ModuleList", "ModuleDict", "Identity", "Flatten",
    "ReLU", "LeakyReLU", "Tanh", "Sigmoid", "Softmax", "LogSoftmax", "SiLU", "ELU", "Mish",
    "Linear", "Conv1d", "Conv2d", "Conv3d", "GroupedConv1d", "GroupedConv2d", "GroupedConv3d",
    "Dropout", "LSTMCell", "GRUCell",
    "init", "loss", "utils",
]
