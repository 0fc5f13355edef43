"""The optimiser base class: parameter groups, ``zero_grad``, ``step``, ``state_dict``.

An optimiser holds its parameters (leaf Tensors, usually ``model.parameters()``) in
``param_groups``, PyTorch's list of dicts: each group has its ``"params"`` and its own
hyper-parameters (those it does not give take the optimiser's ``defaults``). :meth:`step`
updates the ``.data`` of every parameter that has a gradient, in place, outside the graph;
this is the only place where parameters change. Each update is an in-place op under
``no_grad`` (:func:`tensorgrad.versions.subtract_in_place`): it advances the parameter's
version, so a graph recorded before the step and differentiated after it
(``retain_graph=True``) raises instead of using the new values.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from numbers import Real
from typing import Any

import numpy as np

from ..errors import ShapeError
from ..state import enable_grad, no_grad
from ..tensor import Tensor
from ..versions import zero_grads

__all__ = ["Optimizer"]


def _hyper(value, name: str, owner: str, low: float = 0.0, high: float | None = None,
           high_open: bool = False) -> float:
    """A real, finite hyper-parameter in [low, high] (or [low, high) with ``high_open``)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, Real):
        raise TypeError(f"{owner}: {name} must be a real number, got {value!r}")
    v = float(value)
    ok = math.isfinite(v) and v >= low
    if high is not None:
        ok = ok and (v < high if high_open else v <= high)
    if not ok:
        if high is None:
            expected = f">= {low}"
        else:
            expected = f"in [{low}, {high})" if high_open else f"in [{low}, {high}]"
        raise ValueError(f"{owner}: invalid {name} {value!r}, expected a finite value {expected}")
    return v


def _plain(value):
    """A group value read back from a file (``tg.load`` of an ``.npz``): 0-d arrays and NumPy
    scalars become Python numbers, 1-d arrays lists; anything else is kept."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.item() if value.ndim == 0 else value.tolist()
    return value


class Optimizer:
    """Base class of the optimisers: parameter groups, :meth:`zero_grad`, :meth:`step`,
    :meth:`state_dict` and :meth:`load_state_dict`, as ``torch.optim.Optimizer``.

    Parameters
    ----------
    params : iterable of Tensor, or iterable of dict
        Leaf Tensors (usually :class:`~tensorgrad.nn.Parameter` from
        ``model.parameters()``), each listed once; or parameter groups, dicts with a
        ``"params"`` entry and any hyper-parameters that differ from ``defaults``, e.g.
        ``[{"params": model[0].parameters()}, {"params": head.parameters(), "lr": 1e-2}]``.
    defaults : dict
        The hyper-parameters a group takes when it does not give them.

    Attributes
    ----------
    param_groups : list of dict
        One dict per group: ``"params"`` (list of Tensor) and every hyper-parameter. A
        learning-rate scheduler (:mod:`tensorgrad.optim.lr_scheduler`) or the user may change
        ``group["lr"]`` between steps.
    defaults : dict
    state : dict
        Per-parameter state (momentum buffers, moment estimates, step counts), keyed by the
        parameter's position in :attr:`params` (PyTorch keys it by the parameter itself;
        the positions are the keys of :meth:`state_dict` in both).
    params : list of Tensor
        Every group's parameters in order.

    Raises
    ------
    TypeError
        ``params`` is a single Tensor (pass a list), holds something that is not a Tensor, or
        mixes Tensors and dicts; a hyper-parameter of the wrong type.
    ValueError
        ``params`` is empty, holds a non-leaf Tensor or the same Tensor twice (in one group or
        in two); a hyper-parameter out of range.

    Notes
    -----
    Subclasses give ``_check_group(group)``, which validates a group's hyper-parameters in
    place, and ``_update(index, p, grad, group)``, which computes on ndarrays and writes
    the parameter through :func:`tensorgrad.versions.subtract_in_place`.
    """

    def __init__(self, params: Iterable[Tensor] | Iterable[dict], defaults: dict[str, Any]) -> None:
        owner = type(self).__name__
        if isinstance(params, Tensor):
            raise TypeError(f"{owner}: params must be an iterable of Tensors, got a single "
                            "Tensor (wrap it in a list)")
        if isinstance(params, dict):
            raise TypeError(f"{owner}: params must be an iterable of Tensors or of parameter "
                            "groups (dicts), got a single dict (wrap it in a list)")
        try:
            params = list(params)
        except TypeError:
            raise TypeError(f"{owner}: params must be an iterable of Tensors, got "
                            f"{type(params).__name__}") from None
        if not params:
            raise ValueError(f"{owner}: got an empty parameter list (did the model register "
                             "its Parameters, and is the parameters() iterator exhausted?)")
        self.defaults: dict[str, Any] = dict(defaults)
        self._check_group(self.defaults)  # bad defaults raise even if every group overrides them
        self.state: dict[int, dict[str, Any]] = {}
        self._buffers: dict[int, np.ndarray] = {}  # _scratch's work arrays, by parameter index
        self.param_groups: list[dict[str, Any]] = []
        self.params: list[Tensor] = []
        if all(isinstance(g, dict) for g in params):
            for group in params:
                self.add_param_group(group)
        elif any(isinstance(g, dict) for g in params):
            raise TypeError(f"{owner}: params mixes Tensors and parameter groups (dicts); pass "
                            "one or the other")
        else:
            self._add_group({"params": params}, "params")

    # -- groups ----------------------------------------------------------------------------
    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Add a parameter group, as ``torch.optim.Optimizer.add_param_group`` (for example
        to train layers that were frozen so far).

        Parameters
        ----------
        param_group : dict
            ``"params"`` (a Tensor or an iterable of Tensors) and the hyper-parameters that
            differ from :attr:`defaults`.

        Raises
        ------
        TypeError
            ``param_group`` is not a dict with ``"params"``, ``"params"`` is a set (its order
            is arbitrary) or holds something that is not a Tensor; a hyper-parameter of the
            wrong type.
        ValueError
            A non-leaf Tensor, a Tensor listed twice or already in another group; a
            hyper-parameter out of range.
        """
        k = len(self.param_groups)
        where = f"param_groups[{k}]['params']"
        if not isinstance(param_group, dict) or "params" not in param_group:
            raise TypeError(f"{type(self).__name__}.add_param_group: expected a dict with a "
                            f"'params' entry, got {type(param_group).__name__}"
                            + (f" with keys {sorted(param_group)}"
                               if isinstance(param_group, dict) else ""))
        self._add_group(param_group, where)

    def _add_group(self, param_group: dict[str, Any], where: str) -> None:
        owner = type(self).__name__
        params = param_group["params"]
        if isinstance(params, Tensor):
            params = [params]
        elif isinstance(params, (set, frozenset)):
            raise TypeError(f"{owner}: {where} is a set, whose order changes from run to run; "
                            "pass a list")
        else:
            try:
                params = list(params)
            except TypeError:
                raise TypeError(f"{owner}: {where} must be an iterable of Tensors, got "
                                f"{type(params).__name__}") from None
        taken = {id(p) for p in self.params}
        seen = set()
        for i, p in enumerate(params):
            if not isinstance(p, Tensor):
                raise TypeError(f"{owner}: {where}[{i}] is a {type(p).__name__}, expected a "
                                "Tensor")
            if not p.is_leaf:
                raise ValueError(f"{owner}: {where}[{i}] (shape {p.shape}) is not a leaf "
                                 f"Tensor (it was produced by '{p.grad_fn.name}'); only leaves "
                                 "can be optimised")
            if id(p) in seen:
                raise ValueError(f"{owner}: {where}[{i}] (shape {p.shape}) appears more than "
                                 "once in the parameter list")
            if id(p) in taken:
                raise ValueError(f"{owner}: {where}[{i}] (shape {p.shape}) is already in "
                                 "another parameter group; a parameter may be in one group only")
            seen.add(id(p))
        group = {key: value for key, value in param_group.items() if key != "params"}
        for key, value in self.defaults.items():
            group.setdefault(key, value)
        self._check_group(group)
        group["params"] = params
        self.param_groups.append(group)
        self.params.extend(params)

    def _check_group(self, group: dict[str, Any]) -> None:
        """Validate (and normalise, in place) a group's hyper-parameters."""

    # -- the update ------------------------------------------------------------------------
    def zero_grad(self, set_to_none: bool = True) -> None:
        """Reset the gradients of every parameter, as PyTorch 2 does.

        Parameters
        ----------
        set_to_none : bool, default True
            True: ``.grad`` becomes None (the next backward assigns a fresh gradient, and
            :meth:`step` skips parameters whose grad is None). False: the gradient Tensor
            is filled with zeros in place (a gradient with a graph, from
            ``create_graph=True``, is replaced by a detached zero Tensor, as PyTorch detaches
            it); the parameter is then updated with a zero gradient, which still moves it
            under momentum or weight decay.
        """
        zero_grads(self.params, set_to_none)

    def step(self, closure: Callable[[], Any] | None = None):
        """Update every parameter that has a gradient, in place, group by group; parameters
        whose ``.grad`` is ``None`` are skipped.

        Parameters
        ----------
        closure : callable, optional
            Re-evaluates the model and returns the loss (called with recording on, before
            the update), as in PyTorch.

        Returns
        -------
        The closure's loss, or None.

        Raises
        ------
        ShapeError (a ValueError)
            A ``.grad`` whose shape differs from its parameter's.
        """
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        with no_grad():
            i = 0
            for group in self.param_groups:
                for p in group["params"]:
                    grad = p._grad  # the slot behind .grad (parameters are leaves)
                    if grad is not None:
                        g = grad.data if isinstance(grad, Tensor) else np.asarray(grad)
                        if g.shape != p.shape:
                            raise ShapeError(f"{type(self).__name__}.step: params[{i}] has "
                                             f"shape {p.shape} but its grad has shape {g.shape}")
                        self._update(i, p, g, group)
                    i += 1
        return loss

    def _update(self, i: int, p: Tensor, g: np.ndarray, group: dict[str, Any]) -> None:
        raise NotImplementedError(f"{type(self).__name__}: _update is not implemented")

    def _scratch(self, i: int, p: Tensor) -> np.ndarray:
        """A work array of p's shape and dtype, kept between steps: updates then allocate
        nothing, which matters where fresh large arrays cost page faults (per-sample SGD)."""
        buf = self._buffers.get(i)
        if buf is None or buf.shape != p.shape or buf.dtype != p.dtype:
            buf = self._buffers[i] = np.empty_like(p.data)
        return buf

    # -- saving ----------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """The optimiser's state and hyper-parameters in PyTorch's layout, with copies.

        Returns
        -------
        dict
            ``{"state": {index: {name: value}}, "param_groups": [{hyper-parameters...,
            "params": [index, ...]}]}``, where ``index`` is a parameter's position in
            :attr:`params` (across groups, in order). Values are ndarrays, Python numbers,
            bools and lists (tuples such as ``betas`` become lists), so that
            ``tg.save`` can store it without pickle.
        """
        state = {i: {k: (v.copy() if isinstance(v, np.ndarray) else v) for k, v in s.items()}
                 for i, s in sorted(self.state.items())}
        groups, start = [], 0
        for group in self.param_groups:
            saved = {k: (list(v) if isinstance(v, tuple) else v)
                     for k, v in group.items() if k != "params"}
            n = len(group["params"])
            saved["params"] = list(range(start, start + n))
            start += n
            groups.append(saved)
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore what :meth:`state_dict` returned, for the same groups of parameters of the
        same shapes (as ``torch.optim.Optimizer.load_state_dict``): the groups'
        hyper-parameters and every parameter's state are replaced.

        Accepts the dict as ``tg.load`` gives it back from a file (string keys, 0-d and 1-d
        arrays for numbers and lists). State arrays are copied and cast to their parameter's
        dtype.

        Raises
        ------
        ValueError
            Not a dict with ``"state"`` and ``"param_groups"``; a different number of groups
            or of parameters in a group; state for an index that no group lists; a
            hyper-parameter out of range.
        ShapeError (a ValueError)
            A state array whose shape differs from its parameter's.
        """
        owner = f"{type(self).__name__}.load_state_dict"
        if not isinstance(state_dict, dict) or not {"state", "param_groups"} <= set(state_dict):
            keys = sorted(state_dict) if isinstance(state_dict, dict) else type(state_dict).__name__
            raise ValueError(f"{owner}: expected a dict with 'state' and 'param_groups' (what "
                             f"state_dict() returns), got {keys}")
        saved_groups = list(state_dict["param_groups"])
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(f"{owner}: the state dict has {len(saved_groups)} parameter groups, "
                             f"this optimiser has {len(self.param_groups)}")
        index_of, new_groups, start = {}, [], 0
        for k, (saved, group) in enumerate(zip(saved_groups, self.param_groups)):
            ids = [int(i) for i in np.asarray(saved["params"]).reshape(-1)]
            n = len(group["params"])
            if len(ids) != n:
                raise ValueError(f"{owner}: parameter group {k} of the state dict has {len(ids)} "
                                 f"parameters, this optimiser's has {n}")
            index_of.update({saved_id: start + j for j, saved_id in enumerate(ids)})
            start += n
            new = {key: value for key, value in group.items() if key != "params"}
            new.update({key: _plain(value) for key, value in saved.items() if key != "params"})
            self._check_group(new)
            new["params"] = group["params"]
            new_groups.append(new)
        new_state = {}
        for saved_id, entries in state_dict["state"].items():
            if int(saved_id) not in index_of:
                raise ValueError(f"{owner}: state for parameter {saved_id}, which no parameter "
                                 f"group of the state dict lists")
            i = index_of[int(saved_id)]
            p = self.params[i]
            entry = {}
            for key, value in entries.items():
                if key == "step":
                    entry[key] = int(np.asarray(value).item())
                    continue
                value = np.asarray(value.data if isinstance(value, Tensor) else value)
                if value.shape != p.shape:
                    raise ShapeError(f"{owner}: '{key}' of parameter {i} has shape "
                                     f"{value.shape}, the parameter has shape {p.shape}")
                entry[key] = value.astype(p.dtype, copy=True)
            new_state[i] = entry
        self.param_groups = new_groups
        self.state = new_state

    def __repr__(self) -> str:
        def describe(group):
            hyper = ", ".join(f"{k}={group[k]!r}" for k in self.defaults)
            return f"{len(group['params'])} parameters, {hyper}"

        if len(self.param_groups) == 1:
            return f"{type(self).__name__}({describe(self.param_groups[0])})"
        groups = "; ".join(f"group {k}: {describe(g)}" for k, g in enumerate(self.param_groups))
        return f"{type(self).__name__}({groups})"

