"""In-place changes: PyTorch's rules, version counters, read-only saved leaves.

Every in-place change made through tensorgrad (``+=``, ``add_``, ..., the optimisers' updates)
goes through :func:`in_place`, which advances the write clock ``_writes`` and stamps the
VersionCounter of the array's base with it. A node remembers the clock when it was recorded
(``node.stamp``): the reverse pass (:mod:`tensorgrad.autograd`) refuses a node whose output or
any array it saved carries a later stamp (:func:`_check_unchanged`), so only a clock
comparison per node is paid when nothing changed.

Direct writes into ``.data`` cannot be seen. One case is caught where it is cheap: after a
backward that retains the graph (retain_graph=True, create_graph=True), the arrays of the
leaves that require grad which the graph saved are read-only until the node that guards
them is released by a later backward or collected (its guard dies; :func:`_protect_leaves`).
The reverse pass walks those nodes anyway, so recording pays nothing. Doing the same from the
moment an op is recorded would catch a direct write between the forward and the first
backward too, but costs two flag flips and a guard per leaf and graph, and a loop per op
(measured in docs/inplace_and_versions.md): too much for recording. in_place lifts the
protection for the length of its own write, so optimisers work with a retained graph.

The protection takes no lock and is safe under threads by its order of steps: a guard
makes an array read-only *before* publishing it in ``counter.protected``; a dying guard
unpublishes it *before* making it writeable; a lifted write makes it read-only again and
then checks that it is still published. So the last step on an array whose guard is gone
is always "writeable" (a race may only leave an array unprotected while a graph lives: a
missed detection, never a refused write).
"""
from __future__ import annotations

import threading

import numpy as np

from .errors import BackwardError, ShapeError
from .state import _state, no_grad
from .tensor import Tensor, version_counter

_writes = 0  # the write clock: in-place changes made through tensorgrad so far
_write_lock = threading.Lock()  # the clock, the version counts and lifted writes


def _set_writeable(array):
    try:
        array.setflags(write=True)
    except ValueError:  # its base was made read-only by someone else meanwhile: leave it
        pass


class _Guard(list):
    """The (VersionCounter, ndarray) pairs one node made read-only. Only the node refers to
    it, so it dies, and makes them writeable again, when the node is released by backward
    or collected."""

    __slots__ = ()

    def __del__(self, _set_writeable=_set_writeable):  # bound now: usable at exit
        for counter, array in self:
            if counter.protected is array:
                counter.protected = None
                _set_writeable(array)


def _protect_leaves(node):
    """Make the arrays of ``node``'s leaf inputs that require grad read-only until ``node``
    is released or collected (those no other live guard protects yet). The node gets a
    guard, empty or not: the next retained backward passes it by."""
    guard = node.guard = _Guard()
    for p in node.parents:
        if not (isinstance(p, Tensor) and p.grad_fn is None and p.requires_grad):
            continue
        array = p.data
        counter = version_counter(array)
        if counter.protected is not None or not array.flags.writeable:
            continue  # already guarded, or read-only for its own reasons: not ours
        array.setflags(write=False)  # first read-only, then published (see above)
        counter.protected = array
        guard.append((counter, array))


def _refuse_result_dtype(op, out):
    if out.dtype.kind == "c":
        raise TypeError(f"{op.name}: the result has dtype {out.dtype}, computed from a Tensor "
                        "that requires grad, but complex numbers are not supported for "
                        "gradients; compute on .detach() (or under tg.no_grad()) if no "
                        "gradient is needed")
    raise TypeError(f"{op.name}: the result has dtype {out.dtype}, computed from a Tensor that "
                    "requires grad, but only real floating-point results can carry gradients; "
                    "declare the op with differentiable=False, or compute on .detach()")


def _check_unchanged(t, fn):
    """Raise if ``fn``'s output ``t`` or one of the arrays it saved (its inputs) changed in
    place after ``fn`` was recorded (its base's counter has a later stamp than the node)."""
    for idx, a in enumerate((t.data, *fn.inputs)):
        if not isinstance(a, np.ndarray):
            continue
        counter = version_counter(a, create=False)
        if counter is None or counter.stamp <= fn.stamp:
            continue
        x = t if idx == 0 else fn.parents[idx - 1]
        if idx == 0:
            what = f"the output of '{fn.name}'"
        else:
            kind = ("a constant array" if not isinstance(x, Tensor) else
                    "a leaf that requires grad" if x.grad_fn is None and x.requires_grad else
                    "a leaf that does not require grad" if x.grad_fn is None else
                    f"the output of '{x.grad_fn.name}'")
            what = f"input {idx - 1} of '{fn.name}' ({kind})"
        where = (f"'{fn.name}' was recorded at {fn.site}" if fn.site is not None else
                 "to see the line that recorded it, run the forward pass inside "
                 "`with tg.record_sites():`")
        raise BackwardError(
            f"backward: {what}, of shape {a.shape} and dtype {a.dtype}, was modified by an "
            f"in-place operation after '{fn.name}' was recorded (it is now at version "
            f"{counter.version}), so its gradient would use the new values; {where}. "
            "tensorgrad checks every input and the output of a recorded op, since its VJP may "
            "read any of them. Change the tensor after backward (or before the forward), or "
            "compute out of place (x = x + 1).")


def in_place(t, name, write, operands=()):
    """Change Tensor ``t``'s array in place with ``write(array)``, under PyTorch's rules.

    Parameters
    ----------
    t : Tensor
    name : str
        The method, for messages (``"add_"``; ``+=`` is ``add_``).
    write : callable
        ``write(array)`` updates the ndarray in place with NumPy's ``same_kind`` casting
        (ufuncs with ``out=``, ``np.copyto``, assignment).
    operands : tuple
        The values written from (Tensors, arrays or scalars), for the checks and messages.

    Returns
    -------
    Tensor
        ``t``, with its version (shared with its views) advanced by one.

    Raises
    ------
    RuntimeError
        While recording (grad mode on): ``t`` is a leaf that requires grad (PyTorch's
        message), ``t`` is a recorded non-leaf, or an operand requires grad; tensorgrad
        records values, not mutations. Under ``no_grad`` every change is allowed.
    TypeError
        The result's dtype cannot be stored in ``t``'s dtype (NumPy's ``same_kind`` rule).
    ShapeError
        The operands broadcast to a shape other than ``t``'s.
    ValueError
        ``t``'s array is read-only (and not by a live graph's protection).
    """
    if _state.enabled:
        _check_may_change(t, name, operands)
    if t.data.flags.writeable:
        _write(t, name, write, operands)
    else:
        with _write_lock:
            _write_protected(t, name, write, operands)
    _advance(t.data)
    return t


def _advance(array):
    """Advance the version of ``array``'s base (shared with its views) and the write clock."""
    global _writes
    with _write_lock:
        counter = version_counter(array)
        _writes += 1
        counter.version += 1
        counter.stamp = _writes


def subtract_in_place(t, delta, owner=None, index=None):
    """``t.data -= delta`` as :meth:`Tensor.sub_` does it under ``no_grad`` (the optimisers'
    update): a writeable array is written directly, then its version advances; anything
    else takes :func:`in_place`'s full path, its errors naming ``owner.step`` and the
    parameter's ``index`` when given (``sub_`` otherwise)."""
    data = t.data
    if data.flags.writeable and not _state.enabled and data.shape == np.shape(delta):
        np.subtract(data, delta, out=data)
        _advance(data)
        return t
    name = "sub_" if owner is None else f"{owner}.step: params[{index}]"
    return in_place(t, name, lambda a: np.subtract(a, delta, out=a), (delta,))


def _check_may_change(t, name, operands):
    if t.requires_grad:
        if t.grad_fn is None:
            raise RuntimeError(
                f"{name}: a leaf Variable that requires grad is being used in an in-place "
                "operation. Change parameters under `with tg.no_grad():` (as optimisers do), "
                "or compute out of place (w = w - lr * g makes a new, non-leaf tensor).")
        raise RuntimeError(
            f"{name}: this tensor requires grad (it is the output of '{t.grad_fn.name}') and "
            "grad mode is on; tensorgrad records values, not mutations, so the graph cannot "
            "follow an in-place change. Compute out of place (y = y + 1), or change it under "
            "tg.no_grad() (a later backward through it then raises).")
    for o in operands:
        if isinstance(o, Tensor) and o.requires_grad:
            raise RuntimeError(
                f"{name}: an operand requires grad and grad mode is on; tensorgrad records "
                "values, not mutations, so the change could not be differentiated. Compute "
                "out of place (x = x + w), or use tg.no_grad() to change values only.")


def _write(t, name, write, operands):
    """``write(t.data)``, NumPy's casting and broadcasting errors explained."""
    try:
        write(t.data)
    except TypeError as e:
        values = [o.data if isinstance(o, Tensor) else
                  np.asarray(o) if isinstance(o, (list, tuple)) else o for o in operands]
        result = getattr(e, "from_", None)  # a ufunc's casting error knows its result dtype
        try:
            result = result or np.result_type(t.data, *values)
        except (TypeError, ValueError):
            raise TypeError(f"{name}: {e}") from None
        raise TypeError(
            f"{name}: the result has dtype {result}, which cannot be stored in place in this "
            f"tensor's {t.dtype} data (NumPy's same_kind casting, as for ndarray +=); "
            "compute out of place or cast first") from None
    except ValueError as e:
        shapes = [np.shape(o) for o in operands]
        try:
            fits = np.broadcast_shapes(t.shape, *shapes) == t.shape
        except ValueError:
            fits = False
        if fits:  # not a question of shapes (integers to negative powers, ...)
            raise ValueError(f"{name}: {e}") from None
        shapes = ", ".join(map(str, shapes))
        raise ShapeError(
            f"{name}: cannot write a result computed from operands of shape {shapes} in place "
            f"into this tensor of shape {t.shape} (the operands must broadcast to the "
            f"tensor's own shape): {e}") from None


def _write_protected(t, name, write, operands):
    """``_write`` into a read-only array made read-only by a live graph's guard (``t``'s
    own array or the base of its view): writeable for the write, then read-only again.
    ValueError when the array is read-only for another reason."""
    counter = version_counter(t.data, create=False)
    protected = None if counter is None else counter.protected
    if protected is None:
        _refuse_read_only(name)
    array = t.data
    view = array is not protected
    protected.setflags(write=True)
    try:
        if view:
            _make_writeable(array, name)
        _write(t, name, write, operands)
    finally:
        if view:
            array.setflags(write=False)
        protected.setflags(write=False)
        if counter.protected is not protected:  # its guard died meanwhile
            _set_writeable(protected)


def _make_writeable(array, name):
    try:
        array.setflags(write=True)
    except ValueError:  # a view of memory that is read-only for another reason
        _refuse_read_only(name)


def _refuse_read_only(name):
    raise ValueError(f"{name}: this tensor's data is a read-only array (for example a "
                     "broadcast view, or a read-only array given to Tensor), so it cannot be "
                     "changed in place; copy it first (tg.tensor(x))")


def zero_grads(params, set_to_none=True) -> None:
    """Reset the ``.grad`` of each Tensor of ``params``, as PyTorch 2's ``zero_grad``:
    to None, or (``set_to_none=False``) to zeros in place; a gradient that carries a graph
    (from ``create_graph=True``) or is read-only is replaced by a detached zero Tensor, as
    PyTorch detaches it. The one implementation of ``Optimizer.zero_grad`` and
    ``Module.zero_grad``."""
    if set_to_none:
        for p in params:
            p._grad = None
        return
    with no_grad():
        for p in params:
            grad = p._grad
            if grad is None:
                continue
            if (isinstance(grad, Tensor) and grad.grad_fn is None and not grad.requires_grad
                    and grad.data.flags.writeable):
                in_place(grad, "zero_grad", _fill_zero)
            else:
                p._grad = Tensor(np.zeros(p.shape, dtype=p.dtype))


def _fill_zero(a: np.ndarray) -> None:
    a.fill(0)
