"""One sample through the reference network and through tensorgrad: :func:`gradients`."""
from __future__ import annotations

import copy
from dataclasses import KW_ONLY, dataclass
from typing import Any, Iterator, Optional, Sequence

import numpy as np

from ..autograd import grad
from ..tensor import Tensor
from .equivalents import BCE, Loss
from .model import as_float_input, build
from .rows import ROW_COLUMNS, Result, Row, diff, row_cells

__all__ = ["Report", "gradients"]


@dataclass(repr=False, eq=False)
class Report(Result):
    """Per-layer differences between the reference network and tensorgrad for one sample.

    Made by :func:`gradients`. Rows come in the order the quantities are computed: the
    forward pass (layer 0 to the last), the loss, then the backward pass (last layer to
    layer 0), so the first failing row is where a fault enters. ``print(report)`` shows the
    table.

    Attributes
    ----------
    rows : list of Row
    atol, rtol : float or None
        The tolerances of the ``ok`` column (None: atol 0 and the dtype's default rtol,
        1e-10 for float64 and 1e-4 for float32).
    learning_rate : float
        Passed to every reference ``backward``.
    isolate : bool
        Whether each reference layer was fed tensorgrad's values (see :func:`gradients`).
    n_layers : int
    """

    rows: list
    _: KW_ONLY
    atol: Optional[float]
    rtol: Optional[float]
    learning_rate: float
    isolate: bool
    n_layers: int

    def _rows(self) -> list:
        return self.rows

    def __iter__(self) -> Iterator[Row]:
        return iter(self.rows)

    def __len__(self) -> int:
        return len(self.rows)

    def failures(self, atol: Optional[float] = None, rtol: Optional[float] = None) -> list:
        """The rows outside the tolerance (the report's own when not given), in order."""
        return self._failing(self.rows, atol, rtol)

    @property
    def ok(self) -> bool:
        """True when every row is within the report's tolerance."""
        return not self.failures()

    def assert_close(self, atol: Optional[float] = None, rtol: Optional[float] = None) -> None:
        """Raise unless every quantity agrees: ``max|ref - tg| <= atol + rtol * max|tg|``.

        Parameters
        ----------
        atol, rtol : float, optional
            Default to the report's (themselves defaulting to atol 0 and rtol 1e-10 for
            float64, 1e-4 for float32).

        Raises
        ------
        AssertionError
            Naming the first offender in the order of computation: its layer (index and
            class), the quantity, the index of the worst element, both values there and the
            tolerance; plus how many quantities fail in all.
        """
        atol, rtol = self._tolerances(atol, rtol)
        bad = self.failures(atol, rtol)
        if bad:
            more = (f" {len(bad)} of {len(self.rows)} quantities fail in all; print the report "
                    f"to see them." if len(bad) > 1 else "")
            raise AssertionError(f"compare: {bad[0].describe(atol, rtol)}.{more}")

    def __repr__(self) -> str:
        state = "ok" if self.ok else f"{len(self.failures())} FAIL"
        return self._repr(f"{self.n_layers} layers", f"{len(self.rows)} quantities", state)

    def __str__(self) -> str:
        mode = ("isolated (each reference layer gets tensorgrad's input and output gradient)"
                if self.isolate else "chained (the reference network runs as one)")
        footer = []
        if any(r.quantity.endswith("*") for r in self.rows):
            footer.append("* the layer stores no gradient: recovered from its update, "
                          "(p_before - p_after) / learning_rate (with learning_rate 1 on a copy "
                          "when it is 0)")
        footer.append(self._verdict("quantities"))
        return self._render(f"{self.n_layers} layers, one sample, "
                            f"learning_rate={self.learning_rate:g}, {mode}", "", ROW_COLUMNS,
                            row_cells(self.rows, self.atol, self.rtol), footer)


def _reference_backward(layer, eq, output_gradient, learning_rate):
    """Call the layer's backward; return (input gradient, {attr: (gradient, recovered)}).

    A gradient the layer does not store is recovered from the update it makes,
    ``(p_before - p_after) / learning_rate``; with learning_rate 0, from the update a copy of
    the layer makes with learning_rate 1.
    """
    before = {attr: np.array(getattr(layer, attr), copy=True) for attr in eq.params.values()}
    for gattr in eq.gradients.values():
        if hasattr(layer, gattr):
            setattr(layer, gattr, None)  # so that a stale gradient is never read
    input_gradient = layer.backward(output_gradient, learning_rate)
    param_grads = {}
    probe = None
    for attr, gattr in eq.gradients.items():
        stored = getattr(layer, gattr, None)
        if stored is not None:
            param_grads[attr] = (np.asarray(stored), False)
        elif learning_rate != 0:
            after = np.asarray(getattr(layer, attr))
            param_grads[attr] = ((before[attr] - after) / learning_rate, True)
        else:
            if probe is None:  # the layer made no update: let a copy make one, with step 1
                probe = copy.deepcopy(layer)
                probe.backward(output_gradient, 1.0)
            param_grads[attr] = (before[attr] - np.asarray(getattr(probe, attr)), True)
    return input_gradient, param_grads


def gradients(layers: Sequence[Any], x, y, *, learning_rate: float = 0.0, loss: Loss = BCE,
              isolate: bool = False, atol: Optional[float] = None,
              rtol: Optional[float] = None) -> Report:
    """Run one sample through the reference network and through tensorgrad; compare.

    The tensorgrad network is built over the very same parameter arrays (see
    :func:`~tensorgrad.compare.engine_model`). The reference network runs the notebook's loop::

        output = x
        for layer in layers: output = layer.forward(output)
        grad = loss.prime(y, output)
        for layer in reversed(layers): grad = layer.backward(grad, learning_rate)

    and tensorgrad its forward pass, the loss and one reverse pass giving the gradient of every
    layer's output, of the input and of every parameter, all before the reference backward
    pass: tensorgrad's gradients are those of the weights the forward pass used, even when
    the reference layers update them. Then every quantity is compared.

    Parameters
    ----------
    layers : sequence of layers
        Reference layers (:mod:`tensorgrad.reference`), or layers whose class is registered
        with :func:`~tensorgrad.compare.engine_equivalent`.
    x : array_like
        One sample, unbatched, as the first layer takes it (e.g. ``(1, 28, 28)``). Integer
        data is converted to float64.
    y : array_like
        The target, with the network output's shape (e.g. a one-hot column ``(2, 1)``).
    learning_rate : float, default 0.0
        Passed to every reference ``backward``. A non-zero rate makes the layers update,
        which exposes a backward that computes its input gradient *after* the update. The
        layers are then deep-copied first, so the network passed in is never modified.
    loss : Loss, default BCE
        The loss in both conventions.
    isolate : bool, default False
        False: the reference network runs as one chain, so a fault shows in its own row and
        every row computed after it. True: each reference layer is fed tensorgrad's input to
        it and tensorgrad's gradient of its output, so only the faulty layer's rows fail.
    atol, rtol : float, optional
        Tolerances of the ``ok`` column and of :meth:`Report.assert_close`:
        ``max|ref - tg| <= atol + rtol * max|tg|``; by default atol 0 and rtol 1e-10 for
        float64 (1e-4 for float32).

    Returns
    -------
    Report
        Rows: every layer's output, the loss value and its gradient with respect to the
        network's output, then for every layer (last to first) each parameter's gradient and
        the input gradient.

    Raises
    ------
    TypeError
        A layer with no known tensorgrad expression, or an input that is not real.
    ValueError
        An empty network, or shapes the layers refuse.

    Examples
    --------
    >>> import numpy as np
    >>> from tensorgrad import compare, reference as ref
    >>> net = [ref.Convolution((1, 5, 5), 3, 2, rng=0), ref.Sigmoid(),
    ...        ref.Reshape((2, 3, 3), (18, 1)), ref.Dense(18, 2, rng=1), ref.Sigmoid()]
    >>> x = np.random.default_rng(0).random((1, 5, 5))
    >>> report = compare.gradients(net, x, np.array([[1.0], [0.0]]))
    >>> report.max_rel < 1e-12
    True
    >>> [r.quantity for r in report.rows if r.layer == 0]
    ['output', 'kernels grad', 'bias grad', 'input grad']
    """
    if learning_rate != 0:
        layers = copy.deepcopy(list(layers))
    layers, model = build(layers, "gradients", copy=False)
    x = as_float_input(x, "gradients")
    target = np.asarray(y)

    # reference forward first: a hand-written layer's own message about a wrong shape is
    # the clearest one (the forward pass updates nothing)
    reference_outputs = []
    h = x
    for layer in layers:
        h = np.array(layer.forward(h), copy=True)
        reference_outputs.append(h)

    # tensorgrad: forward, loss, one reverse pass (all before any reference update)
    x_t = Tensor(x, requires_grad=True)
    outs = model.trace(x_t)
    loss_t = loss.engine(outs[-1], target)
    params = [t for layer in model.layers for t in layer.params.values()]
    wanted = [x_t, *outs, *params]
    found = grad(loss_t, wanted, allow_unused=True)
    found = [np.zeros(w.shape, w.dtype) if g is None else g.data for w, g in zip(wanted, found)]
    n = len(layers)
    in_grads, out_grads = found[:n], found[1:n + 1]  # of the input, the output of layer i
    flat_param_grads = iter(found[n + 1:])
    engine_param_grads = [{attr: next(flat_param_grads) for attr in layer.equivalent.params.values()}
                          for layer in model.layers]
    engine_inputs = [x] + [o.data.copy() for o in outs[:-1]]
    engine_outputs = [o.data.copy() for o in outs]

    rows = []
    for i, layer in enumerate(layers):
        if isolate:  # run again on tensorgrad's input to this layer (saved for backward)
            reference_outputs[i] = np.array(layer.forward(engine_inputs[i]), copy=True)
        rows.append(diff("forward", i, model.layers[i].name, "output", reference_outputs[i],
                         engine_outputs[i]))
    prediction = engine_outputs[-1] if isolate else reference_outputs[-1]
    rows.append(diff("loss", None, loss.name, "value", loss.value(target, prediction),
                     np.asarray(loss_t.data).copy()))
    g = np.asarray(loss.prime(target, prediction))
    rows.append(diff("loss", None, loss.name, "output grad", g, out_grads[-1]))

    # reference: backward, last layer first
    for i in reversed(range(n)):
        engine_layer = model.layers[i]
        g, param_grads = _reference_backward(layers[i], engine_layer.equivalent,
                                             out_grads[i] if isolate else g, learning_rate)
        for attr, (pg, recovered) in param_grads.items():
            rows.append(diff("backward", i, engine_layer.name,
                             f"{attr} grad" + ("*" if recovered else ""), pg,
                             engine_param_grads[i][attr]))
        rows.append(diff("backward", i, engine_layer.name, "input grad", g, in_grads[i]))
    return Report(rows, atol=atol, rtol=rtol, learning_rate=learning_rate, isolate=isolate,
                  n_layers=n)
