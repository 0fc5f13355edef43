"""Model building with PyTorch's vocabulary: ``Module``, ``Parameter`` and layers.

Layers take their randomness from a keyword ``rng=`` (a ``numpy.random.Generator`` or an int
seed), else from the default generator that ``tg.manual_seed`` reseeds, never from NumPy's
global state; their parameters take ``tg.get_default_dtype()`` unless given ``dtype=``.
Parameter updates live in :mod:`tensorgrad.optim`. The submodules :mod:`.functional`
(``torch.nn.functional``), :mod:`.init` (``torch.nn.init``) and :mod:`.utils`
(``torch.nn.utils``' gradient clipping) are reached as ``tg.nn.functional`` etc.

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
from . import functional, init, utils
from .containers import ModuleDict, ModuleList, Sequential
from .layers import (
    ELU,
    AvgPool2d,
    Conv2d,
    Dropout,
    Embedding,
    Flatten,
    Identity,
    LeakyReLU,
    Linear,
    LogSoftmax,
    MaxPool2d,
    ReLU,
    Reshape,
    Sigmoid,
    SiLU,
    Softmax,
    Softplus,
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
from .normalization import BatchNorm1d, BatchNorm2d, LayerNorm

__all__ = [
    "AvgPool2d", "BCELoss", "BCEWithLogitsLoss", "BatchNorm1d", "BatchNorm2d", "Conv2d",
    "CrossEntropyLoss", "Dropout", "ELU", "Embedding", "Flatten", "Identity",
    "IncompatibleKeys", "LayerNorm", "LeakyReLU", "Linear", "LogSoftmax", "MSELoss",
    "MaxPool2d", "Module", "ModuleDict", "ModuleList", "Parameter", "ReLU", "Reshape",
    "Sequential", "SiLU", "Sigmoid", "Softmax", "Softplus", "Tanh", "UntiedConv2d",
    "functional", "init", "utils",
]
__all__ += ["HuberLoss", "KLDivLoss", "L1Loss", "NLLLoss", "SmoothL1Loss"]  # nn/loss.py
