"""The dot-product (adjoint) test of a linear op's VJP: exact up to rounding, no finite
differences."""
from __future__ import annotations

import numpy as np

from .._random import as_generator
from ..autograd import grad
from ..inputs import callable_name
from ..state import no_grad
from ..tensor import Tensor


def _array(out, what):
    if not isinstance(out, Tensor):
        raise TypeError(f"check_adjoint: {what} must return a Tensor (build it from tensorgrad "
                        f"ops so that it has a VJP), got {type(out).__name__}")
    return out.data


def check_adjoint(op, x_shape, y_shape=None, *, rng=None, rtol=1e-12, dtype=np.float64,
                  **params):
    """Check that the VJP of a linear op is its exact adjoint: ⟨A x, y⟩ = ⟨x, Aᵀ y⟩.

    For a linear map ``A = op(·, **params)`` the VJP with cotangent ``y`` is ``Aᵀ y`` at any
    point, so the two inner products agree up to rounding (about 1e-16 times the sizes
    involved in float64): a far sharper test than finite differences, and one that does not
    depend on a step size. Random ``x`` and ``y`` are drawn from ``rng``; ``Aᵀ y`` is the
    engine's VJP (``tg.grad`` with cotangent ``y``) taken at a *second*, independent random
    point, so an op that is not linear (an affine map, ``relu``) fails the check too.

    Parameters
    ----------
    op : callable
        ``op(x, **params) -> Tensor``, linear in ``x`` (a Tensor of shape ``x_shape``); other
        operands are fixed, e.g. ``lambda x: tg.correlate2d(x, k, "same")`` for the map
        linear in the first input with the kernel ``k`` held constant.
    x_shape : int or tuple of int
        Shape of the input.
    y_shape : tuple of int, optional
        Expected shape of ``op``'s output (checked when given); by default the output's.
    rng : None, int or numpy.random.Generator
        Source of ``x``, ``y`` and the linearisation point; ``None`` means seed 0, so the
        check is reproducible.
    rtol : float
        Largest accepted relative error. 1e-12 suits float64; use about 1e-5 for float32.
    dtype : floating dtype
        dtype of ``x`` (and of ``y``).
    **params
        Passed to ``op`` unchanged (stride, padding, mode, ...).

    Returns
    -------
    float
        The relative error ``|⟨A x, y⟩ - ⟨x, Aᵀ y⟩| / max(‖A x‖·‖y‖, ‖x‖·‖Aᵀ y‖)``, measured
        against the Cauchy-Schwarz bound of the inner products, so that cancellation inside
        a sum cannot inflate it.

    Raises
    ------
    AssertionError
        The relative error exceeds ``rtol``, or the output's shape differs from ``y_shape``;
        the message gives both inner products and the relative error.
    TypeError
        ``op`` does not return a Tensor, or ``rng`` is not None, an int or a Generator.

    Examples
    --------
    A user's linear op, its VJP declared with ``tg.primitive``, checked exactly:

    >>> import numpy as np
    >>> import tensorgrad as tg
    >>> from tensorgrad.testing._adjoint import check_adjoint
    >>> @tg.primitive
    ... def running_sum(x):
    ...     "Running sum along the last axis."
    ...     return np.cumsum(x, axis=-1)
    >>> @running_sum.defvjp
    ... def running_sum_vjp(g, out, x):   # the adjoint: a reversed running sum
    ...     return running_sum(g[..., ::-1])[..., ::-1]
    >>> check_adjoint(running_sum, (3, 5)) < 1e-12
    True
    >>> check_adjoint(lambda x: tg.conv2d(x, np.ones((2, 1, 3, 3)), stride=2),
    ...               (1, 1, 7, 7)) < 1e-12
    True
    """
    gen = as_generator(0 if rng is None else rng, "check_adjoint")
    x_shape = (x_shape,) if isinstance(x_shape, (int, np.integer)) else tuple(x_shape)
    name = callable_name(op)
    x = gen.standard_normal(x_shape).astype(dtype)
    x0 = gen.standard_normal(x_shape).astype(dtype)  # the linearisation point
    with no_grad():
        ax = _array(op(Tensor(x), **params), name)
    if y_shape is not None and tuple(ax.shape) != tuple(y_shape):
        raise AssertionError(f"check_adjoint: {name} returned shape {ax.shape} for an input of "
                             f"shape {x_shape}, expected {tuple(y_shape)}")
    y = gen.standard_normal(ax.shape).astype(ax.dtype)
    aty = _transpose_times(op, x0, y, params, name)
    lhs = float(np.vdot(ax.astype(np.float64), y.astype(np.float64)))
    rhs = float(np.vdot(x.astype(np.float64), aty.astype(np.float64)))
    scale = max(float(np.linalg.norm(ax)) * float(np.linalg.norm(y)),
                float(np.linalg.norm(x)) * float(np.linalg.norm(aty)))
    err = abs(lhs - rhs) / scale if scale > 0 else abs(lhs - rhs)
    if not err <= rtol:
        raise AssertionError(
            f"check_adjoint: {name} with {params or 'no parameters'}, input shape {x_shape}, "
            f"output shape {ax.shape}: <A x, y> = {lhs!r} but <x, A^T y> = {rhs!r} (A^T y from "
            f"the VJP); relative error {err:.3e} > rtol {rtol:.1e}. Either the VJP is not the "
            "adjoint of the forward, or the op is not linear in its input.")
    return err


def _transpose_times(op, x0, y, params, name):
    """Aᵀ y: the engine's VJP of ``op`` at ``x0`` with cotangent ``y`` (zeros if unused)."""
    xt = Tensor(x0, requires_grad=True)
    out = op(xt, **params)
    _array(out, name)
    if tuple(out.shape) != y.shape:
        raise AssertionError(f"check_adjoint: {name} returned shape {out.shape} at one point "
                             f"and {y.shape} at another")
    if not out.requires_grad:  # the output does not depend on x at all: Aᵀ = 0
        return np.zeros(x0.shape, dtype=x0.dtype)
    (aty,) = grad(out, xt, grad_outputs=y, allow_unused=True)
    return np.zeros(x0.shape, dtype=x0.dtype) if aty is None else aty.data
