"""Compare hand-derived back-propagation with tensorgrad's, layer by layer.

Give it a network in the notebook style (a list of :mod:`tensorgrad.reference` layers, or of
your own layers with ``forward(input)`` and ``backward(output_gradient, learning_rate)``). It
builds the same network in tensorgrad over the very same parameter arrays, runs one sample
through both, and reports for every layer the largest absolute and relative difference of the
output, of the input gradient and of every parameter gradient. It can also run a few SGD steps
on both and compare the parameter trajectories.

Public names
------------
gradients, Report, Row
    One sample through both networks (``report.py``; rows and the shared table: ``rows.py``).
trajectories, TrajectoryReport, StepRecord
    Several plain SGD steps on both networks (``trajectory.py``).
engine_model, EngineModel
    The tensorgrad network built from a list of layers (``model.py``).
engine_equivalent, Equivalent, ACTIVATIONS, Loss, BCE
    How each layer and the loss are written in tensorgrad, and how to register a layer class
    of your own (``equivalents.py``).

How each layer is written in tensorgrad (the derivation, term by term):

===========================  ==============================================================
reference layer              tensorgrad expression
===========================  ==============================================================
``Convolution``              ``Y_i = Σ_j tg.correlate2d(X_j, K_ij, "valid") + B_i``
``Reshape``                  ``tg.reshape(X, output_shape)``
``Dense``                    ``W @ X + b`` (column vectors)
``Sigmoid``                  ``tg.sigmoid(X)``
``Activation(f, f')``        ``ACTIVATIONS[f](X)``, e.g. ``np.tanh`` -> ``tg.tanh``
your own layer class         ``@engine_equivalent.register(YourLayer)`` returning an
                             ``Equivalent(fn, params=...)``
===========================  ==============================================================

Examples
--------
>>> import numpy as np
>>> from tensorgrad import compare, reference as ref
>>> net = [ref.Dense(3, 2, rng=0), ref.Sigmoid()]
>>> report = compare.gradients(net, np.ones((3, 1)), np.array([[1.0], [0.0]]))
>>> report.ok
True
>>> report.assert_close(rtol=1e-12)
"""
from .equivalents import ACTIVATIONS, BCE, Equivalent, Loss, engine_equivalent
from .model import EngineModel, engine_model
from .report import Report, gradients
from .rows import Row
from .trajectory import StepRecord, TrajectoryReport, trajectories

__all__ = [
    "ACTIVATIONS",
    "BCE",
    "EngineModel",
    "Equivalent",
    "Loss",
    "Report",
    "Row",
    "StepRecord",
    "TrajectoryReport",
    "engine_equivalent",
    "engine_model",
    "gradients",
    "trajectories",
]
