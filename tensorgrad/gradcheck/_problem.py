"""What one check works on: a function at its inputs, its outputs and random cotangents."""
from __future__ import annotations

import dataclasses
import warnings

import numpy as np

from .._random import as_generator
from ..autograd import grad
from ..errors import GraphEscapeWarning
from ..state import record_sites
from ..tensor import Tensor


@dataclasses.dataclass(frozen=True)
class Settings:
    """The finite-difference step, the tolerances and the seed of one check."""

    eps: float
    atol: float
    rtol: float
    seed: int

    def describe(self) -> str:
        return (f"atol={self.atol}, rtol={self.rtol}, eps={self.eps}; "
                "numerical side in float64")

    def allowed(self, numerical):
        """The error allowed against a numerical value: atol + rtol·|numerical|."""
        return self.atol + self.rtol * np.abs(numerical)

    def excess(self, analytical, numerical):
        """|analytical - numerical| minus the allowed error (inf where NaN): > 0 fails."""
        over = np.abs(analytical - numerical) - self.allowed(numerical)
        return np.where(np.isnan(over), np.inf, over)

    def between(self, analytical, forward, backward):
        """Whether ``analytical`` lies between the one-sided differences (up to the error
        allowed against the larger one): a subgradient where the step crossed a kink."""
        tol = self.allowed(np.maximum(np.abs(forward), np.abs(backward)))
        return ((analytical >= np.minimum(forward, backward) - tol)
                & (analytical <= np.maximum(forward, backward) + tol))


def as_outputs(result, name) -> list:
    """``fn``'s result as a list of Tensors; TypeError for anything else."""
    outs = list(result) if isinstance(result, (tuple, list)) else [result]
    for k, o in enumerate(outs):
        if not isinstance(o, Tensor):
            raise TypeError(f"gradcheck: {name} must return a Tensor or a tuple of Tensors; "
                            f"output {k} is {type(o).__name__}")
    return outs


def differentiable_positions(inputs) -> list:
    return [i for i, x in enumerate(inputs) if isinstance(x, Tensor) and x.requires_grad]


def forward_order(outs) -> list:
    """Recorded nodes reachable from ``outs``, in the order they were created."""
    nodes, seen = [], set()
    stack = [o for o in outs if o.grad_fn is not None]
    while stack:
        node = stack.pop().grad_fn
        if id(node) in seen or not hasattr(node, "seq"):  # no seq: recorded before fn ran
            continue
        seen.add(id(node))
        nodes.append(node)
        stack.extend(p for p in node.parents if isinstance(p, Tensor) and p.grad_fn is not None)
    return sorted(nodes, key=lambda n: n.seq)


def recorded_run(fn, args, name) -> tuple:
    """Run ``fn(*args)`` recording the source line of every op: (its nodes in creation order,
    the texts of the :class:`GraphEscapeWarning` it emitted). ``fn`` already ran in the
    check, so the warnings of this repeat run are not shown again."""
    with record_sites(), warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always", GraphEscapeWarning)
        nodes = forward_order(as_outputs(fn(*args), name))
    return nodes, [str(w.message) for w in seen if issubclass(w.category, GraphEscapeWarning)]


class Problem:
    """``fn`` at ``inputs``, called once: what reverse mode and finite differences compare.

    Attributes
    ----------
    diff_pos, diff : list
        Positions of the inputs that require grad, and those Tensors.
    outs : list of Tensor
        ``fn``'s outputs, their graph kept for repeated backward passes.
    checked : list of int
        Indices of the floating-point outputs (the others have no gradient).
    cots : dict
        A random cotangent u of each checked output, of its shape and dtype.
    base : list
        The inputs as float64 arrays (other entries unchanged), which finite differences
        perturb in place.
    rng : numpy.random.Generator
        Seeded with ``seed``; the cotangents are drawn first, then fast mode's directions.
    """

    def __init__(self, fn, inputs, name, seed):
        self.fn, self.inputs, self.name = fn, inputs, name
        self.diff_pos = differentiable_positions(inputs)
        self.diff = [inputs[i] for i in self.diff_pos]
        self.rng = as_generator(seed, "gradcheck", "seed")
        self.outs = as_outputs(fn(*inputs), name)
        self.checked = [k for k, o in enumerate(self.outs) if np.issubdtype(o.dtype, np.floating)]
        if not self.checked:
            raise ValueError(f"gradcheck: {name} returns no floating-point output (dtypes "
                             f"{[str(o.dtype) for o in self.outs]}), so there is no gradient "
                             "to check")
        self.cots = {k: self.rng.standard_normal(self.outs[k].shape).astype(self.outs[k].dtype)
                     for k in self.checked}
        self.base = [np.array(x.data, dtype=np.float64) if isinstance(x, Tensor) else x
                     for x in inputs]
        self._centre = self._recorded = None

    def centre(self) -> list:
        """Every output at the unperturbed ``base``, in float64 (evaluated once)."""
        if self._centre is None:
            self._centre = self.evaluate()
        return self._centre

    def recorded(self, j=None, step=None) -> list:
        """The recorded nodes of ``fn`` at ``base`` (the differentiable inputs as float64
        leaves that require grad), with ``step`` added to differentiable input ``j`` if given;
        in creation order. The run at ``base`` itself is made once."""
        if step is None and self._recorded is not None:
            return self._recorded
        args = [Tensor(b + step if step is not None and i == self.diff_pos[j] else b.copy(),
                       requires_grad=True) if i in self.diff_pos else self.inputs[i]
                for i, b in enumerate(self.base)]
        nodes, _ = recorded_run(self.fn, args, self.name)
        if step is None:
            self._recorded = nodes
        return nodes

    def where(self, j, k) -> str:
        """Differentiable input ``j`` and output ``k``, as reports name them."""
        return (f"input {self.diff_pos[j]} (shape {self.diff[j].shape}), output {k} "
                f"(shape {self.outs[k].shape})")

    def vjps(self, k, cot) -> list:
        """Reverse-mode cot·J of output ``k`` for every differentiable input (zeros if unused)."""
        y = self.outs[k]
        if not y.requires_grad:
            return [np.zeros(x.shape, dtype=x.dtype) for x in self.diff]
        gs = grad(y, self.diff, grad_outputs=cot, retain_graph=True, allow_unused=True)
        return [np.zeros(x.shape, dtype=x.dtype) if g is None else g.data
                for x, g in zip(self.diff, gs)]

    def jacobian(self, k, j) -> np.ndarray:
        """The reverse-mode Jacobian of output ``k`` by input ``j``, one VJP per row."""
        y = self.outs[k]
        rows = []
        for e in range(y.size):
            u = np.zeros(y.size, dtype=y.dtype)
            u[e] = 1
            rows.append(self.vjps(k, u.reshape(y.shape))[j].ravel().astype(np.float64))
        return np.stack(rows)

    def evaluate(self) -> list:
        """Every output at the current ``base`` (float64 Tensors), as float64 copies."""
        args = [Tensor(b) if i in self.diff_pos else self.inputs[i]
                for i, b in enumerate(self.base)]
        return [np.array(r.data, dtype=np.float64, copy=True)  # never a view
                for r in as_outputs(self.fn(*args), self.name)]
