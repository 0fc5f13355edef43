"""Optimisers and learning-rate schedulers with PyTorch's names, options and update formulas.

Classes
-------
Optimizer
    The base class: ``param_groups`` (per-group options), ``add_param_group``,
    ``zero_grad(set_to_none=True)``, ``step(closure=None)``, ``state_dict`` and
    ``load_state_dict`` in PyTorch's layout.
SGD, Adam, AdamW, RMSprop
    ``torch.optim``'s update rules, evaluated in the same order.

Module ``lr_scheduler``: ``StepLR``, ``ExponentialLR``, ``CosineAnnealingLR``, ``OneCycleLR``,
``LambdaLR`` (``tg.optim.lr_scheduler.StepLR(opt, step_size=10)``).

Examples
--------
>>> import numpy as np
>>> import tensorgrad as tg
>>> from tensorgrad import nn, optim
>>> model = nn.Linear(2, 1, rng=0)
>>> opt = optim.SGD(model.parameters(), lr=0.1)
>>> x, y = np.ones((4, 2)), np.zeros((4, 1))
>>> for _ in range(3):
...     opt.zero_grad()
...     loss = tg.mse_loss(model(x), y)
...     loss.backward()
...     opt.step()
"""
from . import lr_scheduler
from .adam import Adam, AdamW
from .optimizer import Optimizer
from .rmsprop import RMSprop
from .sgd import SGD

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "RMSprop", "lr_scheduler"]
