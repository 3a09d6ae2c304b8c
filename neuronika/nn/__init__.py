"""Neural-network building blocks: ``Module`` and ``ModelStatus``, the containers, the layers,
``init``, ``loss`` and ``utils`` (gradient clipping).

>>> import neuronika as nk
>>> from neuronika import nn
>>> layer = nn.Linear(3, 2)
>>> layer(nk.ones((4, 3))).shape
(4, 2)
"""

from . import functional, init, loss, utils
from .activation import (
    CELU, ELU, GELU, SELU, Flatten, Hardsigmoid, Hardswish, Hardtanh, Identity, LeakyReLU, LogSigmoid, LogSoftmax,
    Mish, ReLU, ReLU6, Sigmoid, SiLU, Softmax, Softplus, Softsign, Tanh,
)
from .container import ModuleDict, ModuleList, Sequential
from .conv import Conv1d, Conv2d, Conv3d, GroupedConv1d, GroupedConv2d, GroupedConv3d
from .dropout import Dropout
from .attention import MultiheadAttention
from .embedding import Embedding
from .linear import Linear
from .loss_modules import (
    BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, HuberLoss, KLDivLoss, L1Loss, MSELoss, NLLLoss, SmoothL1Loss,
)
from .module import LoadResult, Module
from .normalization import BatchNorm1d, BatchNorm2d, BatchNorm3d, GroupNorm, LayerNorm
from .pooling import (
    AdaptiveAvgPool1d, AdaptiveAvgPool2d, AdaptiveAvgPool3d, AdaptiveMaxPool2d,
    AvgPool1d, AvgPool2d, AvgPool3d, MaxPool1d, MaxPool2d, MaxPool3d,
)
from .recurrent import GRUCell, LSTMCell
from .rnn import GRU, LSTM, RNN
from .status import ModelStatus
from .transformer import TransformerEncoder, TransformerEncoderLayer
from .summary import Summary

__all__ = [
    "Module", "ModelStatus", "LoadResult", "Summary",
    "Sequential", "ModuleList", "ModuleDict", "Identity", "Flatten",
    "ReLU", "LeakyReLU", "Tanh", "Sigmoid", "Softmax", "LogSoftmax", "SiLU", "ELU", "Mish",
    "GELU", "SELU", "CELU", "Hardtanh", "ReLU6", "Hardsigmoid", "Hardswish", "Softsign", "LogSigmoid", "Softplus",
    "Linear", "Conv1d", "Conv2d", "Conv3d", "GroupedConv1d", "GroupedConv2d", "GroupedConv3d",
    "Dropout", "LSTMCell", "GRUCell", "RNN", "LSTM", "GRU",
    "MaxPool1d", "MaxPool2d", "MaxPool3d", "AvgPool1d", "AvgPool2d", "AvgPool3d",
    "AdaptiveAvgPool1d", "AdaptiveAvgPool2d", "AdaptiveAvgPool3d", "AdaptiveMaxPool2d",
    "BatchNorm1d", "BatchNorm2d", "BatchNorm3d", "LayerNorm", "GroupNorm",
    "Embedding", "MultiheadAttention", "TransformerEncoderLayer", "TransformerEncoder",
    "CrossEntropyLoss", "NLLLoss", "MSELoss", "L1Loss", "BCELoss", "BCEWithLogitsLoss", "HuberLoss", "SmoothL1Loss",
    "KLDivLoss", "functional", "init", "loss", "utils",
]
