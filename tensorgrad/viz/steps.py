"""The reverse pass one node at a time: :func:`backward_steps`.

The steps come from the engine's own sweep (:func:`tensorgrad.autograd.run_backward` in its
recording mode), so they are the nodes in the order a ``backward`` runs them, with the very
gradients it computes; nothing is stored in ``.grad`` and the graph is not released.
"""
from __future__ import annotations

import numpy as np

from ..autograd import _seed, local_vjp, run_backward
from ..errors import BackwardError
from ..tensor import Tensor

__all__ = ["Step", "Steps", "backward_steps"]

JACOBIAN_LIMIT = 64  # total input + output elements up to which step.jacobian() is built


def backward_steps(output, grad=None):
    """The reverse pass from ``output``, one recorded op (node) at a time.

    Parameters
    ----------
    output : Tensor
        A tensor that requires grad (any shape).
    grad : array-like or Tensor, optional
        The cotangent, of ``output``'s shape (ones of a one-element output when omitted), as
        in :meth:`Tensor.backward`.

    Returns
    -------
    Steps
        A list of :class:`Step`, in the order the engine runs the nodes: for each, the op,
        its source line (when recorded under :class:`tensorgrad.record_sites`), the
        cotangent coming in and each input's gradient going out (summed back to the input's
        shape when the op broadcast it). ``print(steps)`` shows a table.

    Raises
    ------
    BackwardError
        ``output`` does not require grad, needs an explicit ``grad``, or its graph was
        released by an earlier ``backward``.
    ShapeError
        ``grad`` has the wrong shape.

    Notes
    -----
    No ``.grad`` is touched, no hook runs and the graph stays alive (a later ``backward``
    works as before). The gradients a leaf receives are the sums of the steps' outgoing
    gradients to it; they equal what ``tensorgrad.grad`` returns.

    Examples
    --------
    >>> x = tg.tensor([1.0, 2.0], requires_grad=True)
    >>> steps = tg.backward_steps((x * x).sum())
    >>> [s.op for s in steps]
    ['sum', 'multiply']
    >>> steps[1].grad_inputs
    (array([1., 2.]), array([1., 2.]))
    """
    if not isinstance(output, Tensor) or not output.requires_grad:
        raise BackwardError("backward_steps: output must be a Tensor that requires grad, got "
                            + (f"a Tensor of shape {output.shape} that does not require grad"
                               if isinstance(output, Tensor) else type(output).__name__))
    seed = _seed(output, grad, "backward_steps")
    record = []
    run_backward([output], [seed], retain_graph=True, create_graph=False, record=record)
    return Steps(Step(i, t, g, dict(outgoing)) for i, (t, g, outgoing) in enumerate(record))


class Step:
    """One node of the reverse pass, as :func:`backward_steps` saw it.

    Attributes
    ----------
    index : int
        Position in the order the engine runs the nodes (0 is the output's node).
    tensor : Tensor
        The tensor the op produced (``tensor.grad_fn is node``).
    node : Node
        The recorded op.
    op : str
        Its name (``"correlate2d"``).
    site : str or None
        The user's source line that created it, when recorded under ``tg.record_sites()``.
    params : dict
        The op's static parameters.
    inputs : tuple
        The arrays the forward computed on (constants included), in call order.
    output : ndarray
        The op's result.
    grad_output : ndarray
        The cotangent coming in: d(output of the pass) / d(this op's result), of the
        result's shape.
    grad_inputs : tuple
        One entry per input: the gradient handed to it (an ndarray of the input's shape),
        or None for an input that does not require grad.
    """

    def __init__(self, index, tensor, grad_output, outgoing):
        node = tensor.grad_fn
        self.index = index
        self.tensor = tensor
        self.node = node
        self.op = node.name
        self.site = node.site
        self.params = node.params
        self.inputs = node.inputs
        self.output = tensor.data
        self.grad_output = grad_output
        self.grad_inputs = tuple(outgoing.get(i) for i in range(len(node.parents)))

    def jacobian(self, limit=JACOBIAN_LIMIT):
        """The op's local Jacobians at the recorded inputs, one per input.

        Built by applying the op's VJP to each unit cotangent: row ``o`` of input ``i``'s
        matrix is the gradient the op hands input ``i`` when the cotangent is 1 at output
        element ``o`` and 0 elsewhere. So ``J[o, k] = d output.flat[o] / d input_i.flat[k]``
        and ``jacobian()[i].T @ grad_output.ravel()`` equals ``grad_inputs[i].ravel()``.

        Parameters
        ----------
        limit : int, default 64
            The largest total number of elements (inputs plus output) for which the
            matrices are built.

        Returns
        -------
        tuple
            Per input, an ndarray of shape ``(output.size, input.size)``, or None for an
            input that does not require grad.

        Raises
        ------
        ValueError
            The op is larger than ``limit`` elements.
        BackwardError
            The graph was released by a ``backward`` since the steps were taken.
        """
        total = self.output.size + sum(np.size(a) for a in self.inputs if a is not None)
        if total > limit:
            raise ValueError(f"jacobian: step {self.index} ('{self.op}') has {total} input and "
                             f"output elements, more than limit={limit}; pass a larger limit "
                             "to build the matrices anyway")
        out_size = self.output.size
        result = []
        for i, gi in enumerate(self.grad_inputs):
            if gi is None:
                result.append(None)
                continue
            jac = np.empty((out_size, gi.size), dtype=gi.dtype)
            unit = np.zeros(self.output.shape, dtype=self.output.dtype)
            for o in range(out_size):
                unit.flat[o] = 1
                jac[o] = np.ravel(local_vjp(self.tensor, i, unit))
                unit.flat[o] = 0
            result.append(jac)
        return tuple(result)

    def __repr__(self):
        return (f"<Step {self.index}: {self.op}, output {self.output.shape}, "
                f"{sum(g is not None for g in self.grad_inputs)} gradient(s) out>")

    def __str__(self):
        lines = [f"step {self.index}: {self.op}" + (f"  ({self.site})" if self.site else "")]
        if self.params:
            lines.append("  params: " + ", ".join(f"{k}={v!r}" for k, v in self.params.items()))
        lines.append(f"  gradient in (of the result, shape {self.output.shape}):")
        lines.append(_indent(_full(self.grad_output)))
        for i, gi in enumerate(self.grad_inputs):
            if gi is not None:
                lines.append(f"  gradient out to input {i} (shape {gi.shape}):")
                lines.append(_indent(_full(gi)))
        return "\n".join(lines)


class Steps(list):
    """The list of :class:`Step` that :func:`backward_steps` returns; prints as a table
    (step, op, result shape, gradient in, gradients out, and the source line when lines
    were recorded). Small arrays are
    shown in full, larger ones by shape and norm; ``print(steps[i])`` shows one step's
    arrays in full."""

    def __str__(self):
        if not self:
            return "backward_steps: no recorded op (the output is a leaf)"
        header = ("#", "op", "result", "gradient in", "gradients out (input: gradient)", "site")
        rows = []
        for s in self:
            outs = "; ".join(f"{i}: {_brief(g)}" for i, g in enumerate(s.grad_inputs)
                             if g is not None)
            rows.append((str(s.index), s.op, str(s.output.shape), _brief(s.grad_output), outs,
                         _short_site(s.site)))
        if not any(s.site for s in self):  # no source lines recorded: no empty column
            header, rows = header[:-1], [r[:-1] for r in rows]
        widths = [max(len(r[c]) for r in [header, *rows]) for c in range(len(header))]
        text = [" | ".join(v.ljust(w) for v, w in zip(r, widths)).rstrip()
                for r in [header, *rows]]
        text.insert(1, "-+-".join("-" * w for w in widths))
        return "\n".join(text)

    def __repr__(self):
        return self.__str__()


def _brief(a, limit=12):
    """A small array's values on one line; a larger one's shape and norm."""
    a = np.asarray(a)
    if a.size <= limit:
        return np.array2string(a, precision=4, separator=", ", max_line_width=10**6,
                               suppress_small=True).replace("\n", "")
    return f"{a.shape} |g|={np.linalg.norm(a.ravel()):.4g}"


def _full(a):
    return np.array2string(np.asarray(a), precision=6, separator=", ", suppress_small=True)


def _indent(text, spaces=4):
    return "\n".join(" " * spaces + line for line in text.split("\n"))


def _short_site(site):
    """``file.py:12: source`` from the recorded ``path:line in function: source``."""
    if not site:
        return ""
    location, _, source = site.partition(" in ")
    path, _, line = location.rpartition(":")
    source = source.partition(": ")[2]
    return f"{path.rsplit('/', 1)[-1]}:{line}: {source}"
