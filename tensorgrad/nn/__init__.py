"""Model building with PyTorch's vocabulary: ``Module``, ``Parameter`` and layers.

Layers take their randomness only from a keyword ``rng=`` (a ``numpy.random.Generator``
or an int seed), never from NumPy's global state. Parameter updates live in
:mod:`tensorgrad.optim`.

Examples
--------
>>> import numpy as np
>>> import tensorgrad as tg
>>> from tensorgrad import nn
>>> rng = np.random.default_rng(0)
>>> model = nn.Sequential(nn.Linear(2, 4, rng=rng), nn.Tanh(), nn.Linear(4, 1, rng=rng))
>>> loss = tg.mse_loss(model(np.ones((3, 2))), np.zeros((3, 1)))
>>> loss.backward()
>>> [p.grad.shape for p in model.parameters()]
[(4, 2), (4,), (1, 4), (1,)]
"""
from .containers import Sequential
from .layers import (
    AvgPool2d,
    Conv2d,
    Flatten,
    Identity,
    Linear,
    LogSoftmax,
    MaxPool2d,
    ReLU,
    Reshape,
    Sigmoid,
    Softmax,
    Tanh,
    UntiedConv2d,
)
from .loss import (
    BCELoss,
    BCEWithLogitsLoss,
    CrossEntropyLoss,
    HuberLoss,
    KLDivLoss,
    L1Loss,
    MSELoss,
    NLLLoss,
    SmoothL1Loss,
)
from .module import IncompatibleKeys, Module, Parameter

__all__ = [
    "AvgPool2d", "BCELoss", "BCEWithLogitsLoss", "Conv2d", "CrossEntropyLoss", "Flatten",
    "Identity", "IncompatibleKeys", "Linear", "LogSoftmax", "MSELoss", "MaxPool2d", "Module",
    "Parameter", "ReLU", "Reshape", "Sequential", "Sigmoid", "Softmax", "Tanh", "UntiedConv2d",
]
__all__ += ["HuberLoss", "KLDivLoss", "L1Loss", "NLLLoss", "SmoothL1Loss"]  # nn/loss.py
