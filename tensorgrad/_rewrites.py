"""Rewrites of a recorded step (:mod:`tensorgrad.compiled`): instructions in, instructions out.

The instructions are tuples (see ``compiled._Recorder``): ``("fwd", op, inputs, params, out,
refs)``, ``("view", base, shape, strides, offset, dtype, out)``, ``("vjp", op, idx, g, out,
inputs, params, shape, dtype, result, refs)``, ``("add", a, b, result)``, ``("grad", tensor,
g)``, ``("call", object, method, kwargs)``, ...; the integers are slots of the replay's
environment. A rewrite replaces a group of them by ``("custom", step)`` instructions whose
``step(ctx)`` reads and writes the same slots, so the rest of the record is untouched.

Channel sums of 2-D correlations
    ``Y = stack_i(B[i] + Σ_j correlate2d(X[j], K[i, j], "valid"))`` -- the notebook's
    convolution layer written as expressions, d·n correlations, d·n additions and d·n + d + n
    indexings forward and three times as many VJP calls backward -- becomes one batched
    correlation ``Y = A(X, K) + B`` forward, and backward one weight gradient ``dK = W(X,
    dY)``, one transposed correlation ``dX = Aᵀ(dY, K)`` and ``dB = dY`` (the kernels of
    :mod:`tensorgrad.ops._conv_kernels`). Only where every intermediate is used by the
    pattern alone and K, B and X receive no gradient from anywhere else.

Plain SGD, updated as the gradients come
    ``backward -> .grad -> SGD.step -> zero_grad`` for the parameters of plain SGD groups
    becomes one step that updates each in place, no ``.grad`` handed out: a dense weight
    by one BLAS update from the factors of its gradient (never formed), any other
    parameter by ``p -= lr * g`` (:func:`fuse_sgd_updates`). When that step updates every
    parameter of the optimiser, the calls of its ``step()`` and ``zero_grad()`` fold into it.

Ops whose work the recorded shapes fix
    ``reshape``, a ``mean`` over every element and the products of 2-D operands, forward and
    VJP, conv2d on a batch, forward and VJPs, binary_cross_entropy's forward and the VJPs of
    ``add`` and ``sigmoid`` become one NumPy or kernel call each on the recorded shapes
    (:func:`lower_fixed_shapes`): the same values as the op, without its argument handling.
    A large product runs in whichever of its two layouts its first replay timed faster.

A bias and a sigmoid written into a fresh array
    A bias added to a fresh product or convolution that nothing else reads, and the sigmoid
    of that sum, are written into the product's array (:func:`adds_in_place`).
"""
from __future__ import annotations

import time

import numpy as np

from . import autograd, versions
from .ops import _conv_kernels as ck
from .ops import _openblas
from .ops.conv import conv2d, conv2d_weight_grad, conv_transpose2d
from .ops.elementwise import add, sigmoid, sigmoid_of_negated
from .ops.loss import bce_values, binary_cross_entropy
from .ops.products import linear, matmul
from .ops.reduce import mean
from .ops.shape import reshape
from .state import _state

_ONE, _NO_PAD = (1, 1), (0, 0, 0, 0)


def rewrite_program(code, shapes, kept):
    """The recorded instructions, rewritten (see the module docstring); ``kept``: the slots
    the step returns, which no rewrite may write over."""
    code = list(code)
    while True:
        new = _rewrite_one_channel_sum(code, shapes)
        if new is None:
            return adds_in_place(lower_fixed_shapes(fuse_sgd_updates(code, shapes), shapes),
                                 shapes, kept)
        code = new


# The position of the slot each kind of instruction writes (the others write none a rewrite uses).
_RESULT = {"fwd": 4, "view": 6, "vjp": 9, "add": 3, "derive": 4}


def _index(code):
    """Producer of each slot, and the instructions that read each slot."""
    producer, readers = {}, {}
    for i, ins in enumerate(code):
        at = _RESULT.get(ins[0])
        if at is not None:
            producer[ins[at]] = i
        for s in reads(ins):
            readers.setdefault(s, []).append(i)
    return producer, readers


def reads(ins):
    """The slots instruction ``ins`` reads (a rewrite's step names them in ``step.reads``)."""
    kind = ins[0]
    if kind == "fwd":
        return list(ins[2]) + [r for r in ins[5].values() if isinstance(r, int)] + [
            v for r in ins[5].values() if isinstance(r, tuple) for k, v in r if k == "slot"]
    if kind == "vjp":
        return [ins[3], ins[4], *ins[5]] + [r for r in ins[10].values() if isinstance(r, int)] + [
            v for r in ins[10].values() if isinstance(r, tuple) for k, v in r if k == "slot"]
    if kind == "add":
        return list(ins[1:3])
    if kind == "grad":
        return [ins[2]]
    if kind == "view":
        return [ins[1]]
    if kind == "derive":
        return [ins[2]]
    if kind == "custom":
        return list(ins[1].reads)
    if kind == "results":
        return [s for _, s in ins[1]]
    if kind == "inplace":
        return [s for _, s in ins[3]]
    if kind == "running":
        return [ins[2]]
    return []


def _fwd(code, producer, s, name):
    i = producer.get(s)
    if i is None or code[i][0] != "fwd" or code[i][1].name != name:
        return None
    return i


def _rewrite_one_channel_sum(code, shapes):
    producer, readers = _index(code)
    for si, ins in enumerate(code):
        if ins[0] == "fwd" and ins[1].name == "stack" and ins[3].get("axis") == 0 and not ins[5]:
            found = _match(code, producer, readers, shapes, si)
            if found is not None:
                return _apply(code, producer, readers, shapes, si, found)
    return None


def _channel(code, producer, shapes, s):
    """(source slot, j) when slot ``s`` is X[j] of a 3-D X: a getitem or a view of an input."""
    i = producer.get(s)
    if i is None:
        return None
    ins = code[i]
    if ins[0] == "fwd" and ins[1].name == "getitem" and not ins[5]:
        index = ins[3]["index"]
        src = ins[2][0]
        if isinstance(index, (int, np.integer)) and len(shapes.get(src, ())) == 3:
            return src, int(index)
        return None
    if ins[0] == "view":
        _, base, shape, strides, offset, dtype, _ = ins
        bshape = shapes.get(base)
        if bshape is None or len(bshape) != 3 or tuple(shape) != tuple(bshape[1:]):
            return None
        row = int(np.prod(shape)) * np.dtype(dtype).itemsize
        c_strides = tuple(int(np.prod(shape[k + 1:])) * np.dtype(dtype).itemsize
                          for k in range(len(shape)))
        if row == 0 or offset % row or tuple(strides) != c_strides:
            return None
        return base, offset // row
    return None


def _match(code, producer, readers, shapes, si):
    """The pattern ending at the stack instruction ``si``, or None."""
    stack = code[si]
    ys = stack[2]
    d = len(ys)
    internal = set()
    k_slot = b_slot = x_slot = None
    n = None
    fwd_instrs = {si}
    for i, y in enumerate(ys):
        terms = []
        s = y
        while True:  # walk the chain of additions back to B[i]
            a = _fwd(code, producer, s, "add")
            if a is not None:
                prev, term = code[a][2]
                terms.append(term)
                internal.add(s)
                fwd_instrs.add(a)
                s = prev
                continue
            g = _fwd(code, producer, s, "getitem")
            if g is None or code[g][5] or code[g][3]["index"] != i:
                return None
            src = code[g][2][0]
            if b_slot is None:
                b_slot = src
            if src != b_slot:
                return None
            internal.add(s)
            fwd_instrs.add(g)
            break
        terms.reverse()
        if n is None:
            n = len(terms)
        if len(terms) != n or n == 0:
            return None
        for j, term in enumerate(terms):
            c = _fwd(code, producer, term, "correlate2d")
            if c is None:
                return None
            cins = code[c]
            if cins[3] != {"mode": "valid", "boundary": "fill", "fillvalue": 0}:
                return None
            xs, ks = cins[2]
            kg = _fwd(code, producer, ks, "getitem")
            if kg is None or code[kg][5] or code[kg][3]["index"] != (i, j):
                return None
            if k_slot is None:
                k_slot = code[kg][2][0]
            if code[kg][2][0] != k_slot:
                return None
            ch = _channel(code, producer, shapes, xs)
            if ch is None or ch[1] != j:
                return None
            if x_slot is None:
                x_slot = ch[0]
            if ch[0] != x_slot:
                return None
            internal.update((term, ks, xs))
            fwd_instrs.update((c, kg, producer[xs]))
    kshape, bshape, xshape = shapes.get(k_slot), shapes.get(b_slot), shapes.get(x_slot)
    if kshape is None or bshape is None or xshape is None or len(kshape) != 4:
        return None
    if kshape[:2] != (d, n) or xshape[0] != n or kshape[2] > xshape[1] or kshape[3] > xshape[2]:
        return None
    out_hw = (xshape[1] - kshape[2] + 1, xshape[2] - kshape[3] + 1)
    if tuple(bshape) != (d, *out_hw) or shapes.get(stack[4]) != (d, *out_hw):
        return None
    # every intermediate is read only by the pattern's forward and by the pattern's VJPs
    nodes = internal | {stack[4]}
    for s in internal:
        for r in readers.get(s, ()):
            ins = code[r]
            if r in fwd_instrs:
                continue
            if ins[0] == "vjp" and ins[4] in nodes:
                continue
            return None
    return {"K": k_slot, "B": b_slot, "X": x_slot, "Y": stack[4], "nodes": nodes,
            "fwd": fwd_instrs, "d": d, "n": n, "kernel": kshape[2:], "xhw": xshape[1:]}


def _apply(code, producer, readers, shapes, si, m):
    nodes = m["nodes"]
    grad_of = {}
    removed = set(m["fwd"])
    g_y = None
    for i, ins in enumerate(code):
        if ins[0] == "vjp":
            grad_of[ins[9]] = ins[5][ins[2]]
            if ins[4] in nodes:
                removed.add(i)
                if ins[4] == m["Y"]:
                    g_y = ins[3] if g_y is None else g_y
                    if ins[3] != g_y:
                        return None
        elif ins[0] == "add" and ins[1] in grad_of:
            grad_of[ins[3]] = grad_of[ins[1]]
    targets = {m["K"]: None, m["B"]: None, m["X"]: None}
    for i, ins in enumerate(code):  # the sums of gradients of K, B, X and of the internals
        if ins[0] == "add" and grad_of.get(ins[3]) in (nodes | set(targets)):
            if producer.get(ins[1]) in removed and producer.get(ins[2]) in removed:
                removed.add(i)
    for i, ins in enumerate(code):
        if i in removed or ins[0] not in ("vjp", "add"):
            continue
        res = ins[9] if ins[0] == "vjp" else ins[3]
        if grad_of.get(res) in targets:
            return None  # a gradient of K, B or X from outside the pattern: leave it
    consumed = set()
    for i in removed:
        if code[i][0] == "add":
            consumed.update(code[i][1:3])
    for i in removed:
        ins = code[i]
        if ins[0] in ("vjp", "add"):
            res = ins[9] if ins[0] == "vjp" else ins[3]
            f = grad_of.get(res)
            if f in targets and res not in consumed:
                targets[f] = res
    out = []
    first_backward = min((i for i in removed if code[i][0] in ("vjp", "add")), default=None)
    forward = _channel_sum_forward(m["X"], m["K"], m["B"], m["Y"])
    backward = None
    if first_backward is not None:
        if g_y is None:
            return None
        backward = _channel_sum_backward(m["X"], m["K"], g_y, targets[m["K"]], targets[m["B"]],
                                         targets[m["X"]], m["xhw"])
    for i, ins in enumerate(code):
        if i == si:
            out.append(("custom", forward))
        elif i == first_backward:
            out.append(("custom", backward))
        elif i not in removed:
            out.append(ins)
    return out


def _channel_sum_forward(x, k, b, y):
    def step(ctx):
        env = ctx.env
        out = ck.correlate_nchw(env[x][None], env[k], _ONE, _NO_PAD, _ONE, 1)[0]
        out += env[b]
        env[y] = out
    step.kind = "channel sum of correlate2d -> one batched correlation"
    step.reads, step.fresh = (x, k, b), y
    return step


def _channel_sum_backward(x, k, g, dk, db, dx, xhw):
    def step(ctx):
        env = ctx.env
        gy = env[g][None]
        if dk is not None:
            kern = env[k]
            env[dk] = ck.weight_grad_nchw(env[x][None], gy, kern.shape[2:], _ONE, _NO_PAD,
                                          _ONE, 1)
        if db is not None:
            env[db] = env[g].copy()
        if dx is not None:
            env[dx] = ck.conv_transpose_nchw(gy, env[k], xhw, _ONE, _NO_PAD, _ONE, 1)[0]
    step.kind = "its VJPs -> one weight gradient and one transposed correlation"
    step.reads = (x, k, g)
    return step


# ----------------------------------------------------------------------------------------
# A dense layer's weight gradient and a plain SGD update -> one in-place BLAS update
# ----------------------------------------------------------------------------------------
# A dense weight smaller than this is updated by NumPy (its product into the optimiser's work
# array, then p -= lr * dW as the step does: 1.7 us for 2 x 100) rather than by a BLAS update
# through ctypes (6.5 us whatever the size up to here; measured crossover 32 KiB, both dtypes).
SMALL_WEIGHT_BYTES = 1 << 15
_NEUTRAL = {"params": None, "lr": None, "momentum": 0, "weight_decay": 0, "nesterov": False,
            "maximize": False, "dampening": None, "foreach": None, "differentiable": None,
            "fused": None, "initial_lr": None}


def fuse_sgd_updates(code, shapes):
    """Rewrite ``backward -> .grad -> SGD.step -> zero_grad`` for the parameters plain SGD
    updates into one step that updates them in place as the gradients come, no ``.grad``
    handed out: a weight gradient of a 2-D ``matmul``/``linear`` by one BLAS update of the
    weight (``ger`` for a rank-1 gradient, ``gemm`` with ``beta = 1`` otherwise; the
    gradient is never formed), any other parameter by ``p -= lr * g`` into the optimiser's
    own work array, as its step does. The optimiser's ``step`` and ``zero_grad`` calls are
    kept after it for the parameters it does not take (the step skips those whose ``.grad``
    is None); when it takes every parameter, they fold into it and are made only when a
    gradient went to ``.grad`` (:func:`_sgd_update`)."""
    out = list(code)
    for ci, ins in enumerate(code):
        if ins[0] != "call" or ins[2] != "step" or ci + 1 >= len(code):
            continue
        opt = ins[1]
        nxt = code[ci + 1]
        if not (nxt[0] == "call" and nxt[1] is opt and nxt[2] == "zero_grad"
                and nxt[3].get("set_to_none", True)):
            continue
        if type(opt).__name__ != "SGD" or not type(opt).__module__.startswith("tensorgrad.optim"):
            continue
        position = {id(p): i for i, p in enumerate(
            p for group in opt.param_groups for p in group["params"])}
        group_of = {id(p): k for k, group in enumerate(opt.param_groups) for p in group["params"]}
        lrs = _plain_lrs(opt)
        fused = []
        for gi in range(ci - 1, -1, -1):
            g_ins = code[gi]
            if g_ins[0] in ("call", "inplace", "custom", "results", "derive", "view"):
                break  # something between the backward and the step: leave the rest
            if g_ins[0] != "grad" or g_ins[1][0] != "obj":
                continue
            w = g_ins[1][1]
            if id(w) not in position or lrs[group_of[id(w)]] is None:
                continue
            found = _weight_vjp(code, gi, g_ins[2], w)
            if found is not None:
                fused.append((gi, found, w))
            elif not any(g_ins[2] in reads(c) for i, c in enumerate(code) if i != gi):
                fused.append((gi, ([], "axpy", g_ins[2], None), w))
        if not fused:
            continue
        for gi, (drop, _, _, _), _ in fused:
            out[gi] = None
            for vi in drop:
                out[vi] = None
        items = [(form, g, other, w, position[id(w)], group_of[id(w)])
                 for _, (_, form, g, other), w in fused][::-1]
        if (len({id(w) for *_, w, _, _ in items}) == len(position)  # (one twice: two backwards)
                and ins[3].get("closure") is None
                and not {"step", "zero_grad"} & set(vars(opt))):
            out[ci] = ("custom", _sgd_update(items, opt, zero_grad=nxt[3]))  # the calls folded in
            out[ci + 1] = None
        else:
            out[ci] = ([("custom", _sgd_update(items, opt))], ins)
    result = []
    for ins in out:
        if ins is None:
            continue
        if isinstance(ins, tuple) and isinstance(ins[0], list):
            result.extend(ins[0])
            result.append(ins[1])
        else:
            result.append(ins)
    return result


def _weight_vjp(code, gi, g_slot, w):
    """``(VJP instructions to drop, form, cotangent slot, other factor's slot)`` when slot
    ``g_slot`` (read by the ``.grad`` instruction ``gi`` alone) is the weight gradient of a
    2-D ``matmul(W, h)`` (form "matmul": dW = g hᵀ), ``linear(x, W)`` or
    ``matmul(x, transpose(W))`` (form "linear": dW = gᵀ x); else None."""
    if w.data.ndim != 2 or any(g_slot in reads(ins) for i, ins in enumerate(code) if i != gi):
        return None
    vi = _producer_vjp(code, gi, g_slot)
    if vi is None:
        return None
    ins = code[vi]
    op, idx = ins[1].name, ins[2]
    if ins[10] or ins[7] != w.data.shape:
        return None
    if op == "matmul" and idx == 0:
        return [vi], "matmul", ins[3], ins[5][1]
    if op == "linear" and idx == 1:
        return [vi], "linear", ins[3], ins[5][0]
    if op == "transpose" and idx == 0 and ins[6].get("axes") in (None, (1, 0), [1, 0]):
        t_slot, gt = ins[4], ins[3]  # transpose(W) and the gradient handed to it
        if any(gt in reads(c) for i, c in enumerate(code) if i != vi):
            return None
        mi = _producer_vjp(code, vi, gt)
        if mi is None:
            return None
        m = code[mi]
        if m[1].name == "matmul" and m[2] == 1 and m[5][1] == t_slot and not m[10]:
            shapes = m[7]
            if len(shapes) == 2:
                return [vi, mi], "linear", m[3], m[5][0]
    return None


def _producer_vjp(code, before, slot):
    for vi in range(before - 1, -1, -1):
        ins = code[vi]
        if ins[0] == "vjp" and ins[9] == slot:
            return vi
        if ins[0] == "add" and ins[3] == slot:
            return None  # a sum of gradients: more than one contribution
    return None


def _plain_lrs(opt):
    """Learning rate of each parameter group that plain SGD updates (None for the others),
    read from the optimiser now, as its step would."""
    return [float(group["lr"]) if all(
        k in _NEUTRAL and (_NEUTRAL[k] is None or v == _NEUTRAL[k]) for k, v in group.items())
        else None for group in opt.param_groups]


def in_callers_state(step):
    """``step`` run in the grad mode of the replay's caller (an optimiser's step, a
    method of a buffer: code of the library's or a user's that calls ops on Tensors), the
    rest of the replay running as a backward pass does (recording off, ops on arrays)."""
    def run(ctx):
        _state.enabled, _state.raw = ctx.state
        try:
            step(ctx)
        finally:
            _state.enabled, _state.raw = False, True
    return run


def _sgd_update(items, opt, zero_grad=None):
    """One step updating, in place, the parameters of ``items`` (form, gradient slot, other
    factor's slot, parameter, its position in the optimiser, its group): form "axpy" ``p -= lr * g``
    (``lr * g`` written into the optimiser's work array, as :meth:`SGD.step` does), form
    "matmul" ``W -= lr * g hᵀ`` (h (n, k), g (m, k); a vector h (n,) or a stack (..., n, k)
    taken as (n, 1) or (n, Σk)) and "linear" ``W -= lr * gᵀ x``
    (x (..., n), g (..., m)) by one BLAS update, dW never formed (a weight under
    :data:`SMALL_WEIGHT_BYTES`: dW formed in the work array by NumPy). A parameter whose group is
    no longer plain SGD, whose ``.grad`` is set, or whose array is read-only or not
    contiguous, and every parameter once the groups hold other parameters than when
    recorded, gets its gradient in ``.grad`` instead, which the optimiser's step, run
    next, uses as eagerly. A batch's product runs on OpenBLAS's threads, a rank-1 update
    on them only for a weight larger than a core's cache (``_openblas.rank1_update``).

    ``zero_grad`` (its keyword arguments) when ``items`` are all the optimiser's parameters:
    the step then stands for the calls of ``step()`` and ``zero_grad()`` too, made only when
    a gradient went to ``.grad`` (otherwise both would find every ``.grad`` None and do
    nothing)."""
    layout = _layout(opt)

    @in_callers_state
    def calls(ctx):  # (the folded calls, made in the caller's grad mode)
        opt.step()
        opt.zero_grad(**zero_grad)

    def step(ctx):
        env = ctx.env
        lrs = (_plain_lrs(opt) if _same_layout(_layout(opt), layout)
               else [None] * len(layout))  # parameters moved between groups: all to .grad
        in_place = True
        for form, g, other, w, i, k in items:
            if not _update_one(opt, ctx, form, env[g], None if other is None else env[other],
                               w, i, lrs[k]):
                in_place = False
        if zero_grad is not None and not in_place:  # the optimiser's step takes the .grad
            calls(ctx)

    n_dense = sum(form != "axpy" for form, *_ in items)
    step.kind = (f"SGD update in place: {n_dense} dense weights from their gradient's factors, "
                 f"{len(items) - n_dense} parameters by p -= lr * g")
    step.reads = tuple(s for form, g, other, *_ in items for s in (g, other) if s is not None)
    return step


def _layout(opt):
    """The parameters of each group of ``opt``."""
    return [tuple(group["params"]) for group in opt.param_groups]


def _same_layout(a, b):
    return len(a) == len(b) and all(
        len(x) == len(y) and all(p is q for p, q in zip(x, y)) for x, y in zip(a, b))


def _update_one(opt, ctx, form, gy, h, w, i, lr):
    """One parameter's update of :func:`_sgd_update`: True when done in place, False when
    its gradient went to ``.grad`` instead."""
    wd = w.data
    fallback = lr is None or w._grad is not None or not wd.flags.writeable
    if form == "axpy":
        if fallback or gy.shape != wd.shape:
            autograd._accumulate_grad(w, gy, False, ctx.handed)
            return False
        _subtract_scaled(opt, i, w, gy, lr)
        return True
    linear = form == "linear"
    if linear:
        h, gy = h.reshape(-1, wd.shape[1]), gy.reshape(-1, wd.shape[0])
    elif h.ndim == 1:  # W @ h of a vector: dW = g hᵀ, an outer product
        h, gy = h[:, None], gy[:, None]
    elif h.ndim > 2:  # W @ h of a stack of matrices: dW = Σ_b g_b h_bᵀ
        h = np.moveaxis(h, -2, 0).reshape(wd.shape[1], -1)
        gy = np.moveaxis(gy, -2, 0).reshape(wd.shape[0], -1)
    if fallback or not wd.flags.c_contiguous:
        dw = gy.T @ h if linear else gy @ h.T
        autograd._accumulate_grad(w, np.asarray(dw, dtype=wd.dtype), False, ctx.handed)
        return False
    if wd.nbytes < SMALL_WEIGHT_BYTES:  # NumPy's product into the work array, then the step
        dw = opt._scratch(i, w)
        np.matmul(gy.T, h, out=dw) if linear else np.matmul(gy, h.T, out=dw)
        _subtract_scaled(opt, i, w, dw, lr)
        return True
    if linear:
        done = (_openblas.rank1_update(wd, -lr, gy[0], h[0]) if h.shape[0] == 1 else
                _openblas.product_update(wd, -lr, gy, h, trans_a=True))
    elif h.ndim == 2 and h.shape[1] == 1:
        done = _openblas.rank1_update(wd, -lr, gy[:, 0], h[:, 0])
    else:
        done = _openblas.product_update(wd, -lr, gy, h, trans_b=True)
    if not done:  # no BLAS of NumPy's at hand: the same update with NumPy
        _subtract_scaled(opt, i, w, gy.T @ h if linear else gy @ h.T, lr)
    else:
        versions._advance(wd)
    return True


def _subtract_scaled(opt, i, w, g, lr):
    """``w.data -= lr * g`` as :meth:`SGD.step` does it (``lr * g`` written into the
    optimiser's work array, which ``g`` may be), its version advanced."""
    wd = w.data
    scratch = opt._scratch(i, w)
    np.multiply(g, lr, out=scratch)
    np.subtract(wd, scratch, out=wd)
    versions._advance(wd)


# ----------------------------------------------------------------------------------------
# Ops whose work the recorded shapes fix -> one NumPy call each
# ----------------------------------------------------------------------------------------
_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))


def lower_fixed_shapes(code, shapes):
    """Ops whose work the recorded shapes fix, as one NumPy or kernel call each:
    ``reshape`` (``x.reshape(shape)``) and its VJP; a ``mean`` over every element
    (``np.add.reduce(x) / n``, as ``np.mean`` computes a float32/float64 mean; other dtypes
    take the op) and its gradient ``np.full(shape, g / n)``; ``matmul`` and ``linear`` of 2-D
    operands and their VJPs (``np.matmul``; a contraction of length 1, which the op computes
    as an outer product, is left to it); conv2d on 4-D arrays, forward and VJPs (the
    forwards of the primitives they bind, called directly); binary_cross_entropy's forward
    (its check of the probabilities kept, the shapes' dropped); the VJPs of ``add`` and
    ``sigmoid``. Only instructions whose parameters are all recorded values. Each gives the
    op's values bit for bit (tested), a large product's forward in the layout timed faster
    aside (:func:`_product_step`); what the op checks, the recorded shapes have already
    passed."""
    out = []
    for ins in code:
        step = None
        if ins[0] == "fwd" and not ins[5]:  # (no parameter read from a slot)
            step = _lowered_forward(*ins[1:5], shapes)
        elif ins[0] == "vjp" and not ins[10]:
            step = _lowered_vjp(*ins[1:10], shapes)
        out.append(ins if step is None else ("custom", step))
    return out


def _lowered_forward(op, ins, params, out, shapes):
    """The step of :func:`lower_fixed_shapes` for the forward ``out = op(*ins, **params)``,
    or None where it keeps the op."""
    if op is reshape:
        return _reshape_step(ins[0], params["shape"], out)
    if op is mean and params["axis"] is None:
        return _mean_step(ins[0], params["keepdims"], out)
    if op is linear or op is matmul:
        return _product_step(op, ins, shapes, out)
    if op is binary_cross_entropy:
        return _bce_step(*ins, out)
    if op is conv2d and len(shapes.get(ins[0], ())) == 4:
        return _conv2d_step(ins, params, out)
    return None


def _lowered_vjp(op, idx, g, out, ins, params, shape, dtype, res, shapes):
    """The step of :func:`lower_fixed_shapes` for the VJP of ``op`` at input ``idx``
    (cotangent ``g``, forward result ``out``, gradient of ``shape`` and ``dtype`` to slot
    ``res``), or None where it keeps the op's VJP."""
    if op is reshape:
        return _reshape_vjp_step(g, shape, dtype, res)
    if op is mean and params["axis"] is None and 0 not in shape:  # (an empty one: the op's)
        return _mean_vjp_step(g, shape, dtype, res)
    if op is linear or op is matmul:
        return _product_vjp_step(op, idx, g, ins, shapes, shape, dtype, res)
    if op is sigmoid:
        return _sigmoid_vjp_step(g, out, shape, dtype, res)
    if op is add:
        return _add_vjp_step(g, shape, dtype, res)
    if op is conv2d:
        return _conv2d_vjp_step(idx, g, ins, params, shapes, shape, dtype, res)
    return None


def _two_d(shapes, *slots):
    """Whether every slot of ``slots`` was recorded 2-D."""
    return all(len(shapes.get(s, ())) == 2 for s in slots)


# A product of at least this many multiply-adds is timed in both layouts at its first replay
# (:func:`_product_step`); below it the direct one is kept without timing.
TUNED_PRODUCT_MACS = 1 << 20


def _product_step(op, ins, shapes, out):
    """The forward of a 2-D ``matmul``/``linear``: ``np.matmul``, or for a large product
    whichever of its two layouts, C = A B or C = (Bᵀ Aᵀ)ᵀ copied back to C order, its first
    replay timed faster by a tenth or more (OpenBLAS runs them at different speeds: a batch of
    32 through the notebook's 2880 -> 100 layer took 232 us one way and 155 us the other, in
    float32, with the same values in all but the last bit here and there)."""
    a, b = ins
    if not _two_d(shapes, a, b) or shapes[a][1] == 1:
        return None  # (K = 1: the op's outer product)
    if op is linear:
        def direct(x, w):
            return np.matmul(x, w.T)

        def swapped(x, w):
            return np.ascontiguousarray(np.matmul(w, x.T).T)
        n = shapes[b][0]
    else:
        direct = np.matmul

        def swapped(x, y):
            return np.ascontiguousarray(np.matmul(y.T, x.T).T)
        n = shapes[b][1]
    m, k = shapes[a]
    chosen = [direct if m * k * n < TUNED_PRODUCT_MACS or 1 in (m, n) else None]

    def step(ctx):
        env = ctx.env
        f = chosen[0]
        if f is None:
            f = chosen[0] = _faster(direct, swapped, env[a], env[b])
            if f is swapped:
                step.kind = f"{op.name}, as (Bᵀ Aᵀ)ᵀ"
        env[out] = f(env[a], env[b])
    step.kind, step.reads, step.fresh = op.name, (a, b), out
    return step


def _faster(first, second, *args):
    """``second`` if it runs faster than ``first`` on ``args`` by a tenth or more (the best of
    three timings each, taken in turn after one call of each), else ``first``."""
    times = {first: [], second: []}
    first(*args), second(*args)
    for _ in range(3):
        for f in times:
            start = time.perf_counter()
            f(*args)
            times[f].append(time.perf_counter() - start)
    return second if min(times[second]) < 0.9 * min(times[first]) else first


def _product_vjp_step(op, idx, g, ins, shapes, shape, dtype, res):
    """The VJP of a 2-D ``matmul``/``linear`` at input ``idx`` as one ``np.matmul`` of the
    cotangent and the other operand; None where the op computes it otherwise (an operand not
    2-D, a product over a length-1 axis: the op's outer product)."""
    a, b = ins
    if not _two_d(shapes, a, b):
        return None
    if op is linear and idx == 0 and shapes[b][0] > 1:  # dx = g @ W
        def f(env):
            return np.matmul(env[g], env[b])
    elif op is linear and idx == 1 and shapes[a][0] > 1:  # dW = gᵀ @ x
        def f(env):
            return np.matmul(env[g].T, env[a])
    elif op is matmul and idx == 0 and shapes[b][1] > 1:  # dA = g @ Bᵀ
        def f(env):
            return np.matmul(env[g], env[b].T)
    elif op is matmul and idx == 1 and shapes[a][0] > 1:  # dB = Aᵀ @ g
        def f(env):
            return np.matmul(env[a].T, env[g])
    else:
        return None
    return _vjp_result_step(f, dtype, res, f"{op.name}'s VJP", (g, a, b))


def _vjp_result_step(f, dtype, res, kind, reads):
    """The step writing ``f(env)``, cast to the input's ``dtype`` where it differs, to slot
    ``res``: a lowered VJP whose result has the input's shape (no sum as in :class:`ToInput`)."""
    def step(ctx):
        env = ctx.env
        r = f(env)
        env[res] = r if r.dtype == dtype else r.astype(dtype)
    step.kind, step.reads = kind, reads
    return step


def _reshape_step(x, shape, out):
    """``reshape``'s forward: ``x.reshape(shape)``."""
    def step(ctx):
        env = ctx.env
        env[out] = env[x].reshape(shape)
    step.kind, step.reads = "reshape", (x,)
    return step


def _reshape_vjp_step(g, shape, dtype, res):
    """``reshape``'s VJP: the cotangent reshaped to the input's ``shape``, cast to its ``dtype``."""
    def f(env):
        return env[g].reshape(shape)
    return _vjp_result_step(f, dtype, res, "reshape's VJP", (g,))


def _mean_step(x, keepdims, out):
    """The ``mean`` of every element: ``np.add.reduce(x) / n`` for a non-empty float32/float64
    array (as ``np.mean`` computes it), the op's forward otherwise."""
    def step(ctx):
        env = ctx.env
        a = env[x]
        if a.dtype in _FLOATS and a.size:
            env[out] = np.asarray(np.true_divide(np.add.reduce(a, axis=None, keepdims=keepdims),
                                                 a.size))
        else:
            env[out] = np.asarray(mean.forward(a, axis=None, keepdims=keepdims))
    step.kind, step.reads = "mean of every element", (x,)
    return step


def _mean_vjp_step(g, shape, dtype, res):
    """The VJP of a ``mean`` of every element of a non-empty input: ``np.full(shape, g / n)``."""
    n = int(np.prod(shape))

    def step(ctx):
        env = ctx.env
        env[res] = np.full(shape, np.true_divide(env[g], n), dtype=dtype)
    step.kind, step.reads = "mean's VJP", (g,)
    return step


def _conv2d_vjp_step(idx, g, ins, params, shapes, shape, dtype, res):
    """conv2d's VJPs on 4-D arrays as the forwards of the primitives they bind, called
    directly: the transposed correlation (input), the weight gradient, the cotangent summed
    over (N, H, W) (bias)."""
    x, w = ins[:2]
    if len(shapes.get(x, ())) != 4:
        return None
    if idx == 0:
        transpose, size = conv_transpose2d.forward, tuple(shape[2:])

        def f(env):
            return transpose(env[g], env[w], input_size=size, **params)
    elif idx == 1:
        weight_grad, kernel = conv2d_weight_grad.forward, tuple(shape[2:])

        def f(env):
            return weight_grad(env[x], env[g], kernel_size=kernel, **params)
    else:
        def f(env):
            return np.sum(env[g], axis=(0, 2, 3))
    return _vjp_result_step(f, dtype, res, "conv2d's VJP", (g, x, w))


class ToInput:
    """A VJP's result made the gradient of an input of ``shape`` and ``dtype``, as the
    recorded pass made it (``sum_to_shape``, then the cast): summed over the axes the input
    was broadcast along (found once per shape given), then cast."""

    __slots__ = ("shape", "dtype", "axes")

    def __init__(self, shape, dtype):
        self.shape, self.dtype, self.axes = shape, dtype, {}

    def __call__(self, gp):
        if gp.shape != self.shape:
            axes = self.axes.get(gp.shape)
            if axes is None:
                axes = self.axes[gp.shape] = _summed_axes(gp.shape, self.shape)
            gp = (np.sum(gp, axis=axes) if axes else gp).reshape(self.shape)
        return gp if gp.dtype == self.dtype else gp.astype(self.dtype)


def _summed_axes(given, shape):
    """The axes of a gradient of shape ``given`` that sum it down to the broadcast input's
    ``shape``, as ``sum_to_shape`` (which the recorded pass ran on these shapes): the
    leading ones and those where ``shape`` has 1; axes of length 1 need no sum (a reshape
    drops them)."""
    lead = len(given) - len(shape)
    return tuple(a for a in range(len(given))
                 if given[a] != 1 and (a < lead or shape[a - lead] == 1))


def _add_vjp_step(g, shape, dtype, res):
    """``add``'s VJP: the cotangent summed to the input's shape and cast (:class:`ToInput`)."""
    to_input = ToInput(shape, dtype)

    def step(ctx):
        env = ctx.env
        env[res] = to_input(env[g])
    step.kind, step.reads = "add's VJP", (g,)
    return step


# Forwards whose result is a fresh array, which the step may then write over.
_FRESH_FORWARDS = frozenset({"conv2d", "matmul", "linear", "correlate2d", "convolve2d"})


def adds_in_place(code, shapes, kept):
    """``y + b`` written into ``y``, and then ``sigmoid(y + b)`` into the same array, when
    ``y`` is a fresh product or convolution that nothing else reads (not the VJPs, which
    read only the cotangent and the result once lowered, not the step's results ``kept``)
    and has the result's shape: a batch's bias and activation without two new arrays. The
    add keeps a new array when the dtypes differ, the sigmoid under 512 elements (its
    ``expit`` path) and outside float32/float64. The same values as the ops."""
    made = {}
    for i, ins in enumerate(code):
        if ins[0] == "fwd" and ins[1].name in _FRESH_FORWARDS and not ins[5]:
            made[ins[4]] = i
        elif ins[0] == "custom" and getattr(ins[1], "fresh", None) is not None:
            made[ins[1].fresh] = i
    readers = {}
    for i, ins in enumerate(code):
        for s in reads(ins):
            readers.setdefault(s, set()).add(i)
    out = list(code)
    for i, ins in enumerate(code):
        if ins[0] != "fwd" or ins[1] not in (add, sigmoid) or ins[5]:
            continue
        y = ins[2][0]
        if not (y in made and y not in kept and readers.get(y) == {i}
                and shapes.get(y) is not None and shapes.get(y) == shapes.get(ins[4])):
            continue
        if ins[1] is add and y != ins[2][1]:
            out[i] = ("custom", _add_in_place_step(y, ins[2][1], ins[4]))
            made[ins[4]] = i
        elif ins[1] is sigmoid and np.prod(shapes[y]) >= 512:  # (its vectorised path)
            out[i] = ("custom", _sigmoid_in_place_step(y, ins[4]))
    return out


def _add_in_place_step(y, b, out):
    """``y + b`` written into ``y``'s array when ``b`` is an array of its dtype, else a new
    array (:func:`adds_in_place`)."""
    def step(ctx):
        env = ctx.env
        a, c = env[y], env[b]
        if type(c) is np.ndarray and c.dtype == a.dtype:
            env[out] = np.add(a, c, out=a)
        else:
            env[out] = np.add(a, c)
    step.kind, step.reads = "add, written into its first operand", (y, b)
    return step


def _sigmoid_in_place_step(x, out):
    """``sigmoid(x)`` written into ``x``'s array for float32/float64 (the op's vectorised
    path), the op's forward otherwise (:func:`adds_in_place`)."""
    f = sigmoid.forward

    def step(ctx):
        env = ctx.env
        a = env[x]
        if a.dtype in _FLOATS:
            env[out] = sigmoid_of_negated(np.negative(a, out=a))
        else:
            env[out] = f(a)
    step.kind, step.reads = "sigmoid, written into its input", (x,)
    return step


def _sigmoid_vjp_step(g, out, shape, dtype, res):
    """``sigmoid``'s VJP from its result alone, made the input's gradient (:class:`ToInput`)."""
    vjp = sigmoid.vjp_for(0)
    to_input = ToInput(shape, dtype)

    def step(ctx):
        env = ctx.env
        env[res] = to_input(vjp(env[g], env[out], None))  # (σ' from the result alone)
    step.kind, step.reads = "sigmoid's VJP", (g, out)
    return step


def _bce_step(p, t, out):
    """``binary_cross_entropy``'s forward without the shape check, the check of the
    probabilities kept (:func:`tensorgrad.ops.loss.bce_values`)."""
    def step(ctx):
        env = ctx.env
        env[out] = bce_values(env[p], env[t])
    step.kind, step.reads = "binary_cross_entropy", (p, t)
    return step


def _conv2d_step(ins, params, out):
    """conv2d's forward on a 4-D input: the primitive's forward called directly."""
    x, w, b = ins
    forward = conv2d.forward

    def step(ctx):
        env = ctx.env
        env[out] = forward(env[x], env[w], env[b], **params)
    step.kind, step.reads, step.fresh = "conv2d", tuple(ins), out
    return step
