"""Optimizers, weight penalties and learning-rate schedulers.

>>> import neuronika as nk
>>> from neuronika import optim
>>> w = nk.ones(3, dtype="float64").requires_grad()
>>> loss = (w * w).sum()
>>> optimizer = optim.SGD(loss.parameters(), lr=0.25)
>>> loss.backward()            # forward runs first when needed
>>> optimizer.step()
>>> optimizer.zero_grad()
>>> w.numpy().tolist()
[0.5, 0.5, 0.5]
"""

from . import lr_scheduler
from .adagrad import Adagrad
from .adam import AMSGrad, Adam, AdamW
from .groups import ParamGroup
from .optimizer import Optimizer
from .penalty import L1, L2, ElasticNet, Penalty
from .rmsprop import RMSProp
from .sgd import SGD

__all__ = [
    "Optimizer", "ParamGroup", "SGD", "Adam", "AdamW", "AMSGrad", "Adagrad", "RMSProp",
    "Penalty", "L1", "L2", "ElasticNet",
    "lr_scheduler",
]
