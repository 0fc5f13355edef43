"""``tg.compile``: record a training step once, replay it as a flat list of NumPy calls.

The first call of a compiled function with given input shapes and dtypes runs it eagerly
while a recorder watches (a profile function, :func:`sys.setprofile`, in this thread only:
the eager engine is not changed and pays nothing). The recorder keeps

* every primitive the step runs (``autograd.apply``: the op, the arrays it computed on, its
  static parameters),
* every reverse pass (``autograd.run_backward``): its schedule, read from the tape before
  the pass runs (the look-only mode of ``run_backward``), one VJP call per recorded input,
  the sums of gradients and the accumulation into ``.grad``,
* the calls of the optimisers and schedulers (any ``step``/``zero_grad`` of an object of
  :mod:`tensorgrad.optim`, and ``Module.zero_grad``) and the in-place changes of tensors
  made outside them (``buffer.copy_(...)`` of batch norm's running statistics).

Later calls with the same shapes and dtypes replay that record (:class:`_Program`): each
primitive's NumPy forward and each VJP called directly on arrays, with no Tensor, node,
graph sort or argument check; the optimiser's own ``step`` is called, so its learning rate,
step counts and state are read at replay. See docs/compile.md for what is refused and the
rewrites.
"""
from __future__ import annotations

import functools
import math
import operator
import os
import sys
import tempfile
import threading
import warnings
import zlib
from collections import OrderedDict
from itertools import chain

import numpy as np

from . import _random, autograd, defaults, functional, numpy_dispatch, optim, versions
from ._rewrites import ToInput, in_callers_state, reads, rewrite_program
from .inputs import callable_name
from .nn import functional as nn_functional
from .nn.module import Module
from .ops import indexing
from .state import _state, no_grad
from .tensor import Tensor

__all__ = ["compile", "CompileError", "CompileWarning", "Compiled"]

_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep


MAX_SIGNATURES = 64  # input signatures one compiled function records; new ones then run eagerly


class CompileError(RuntimeError):
    """A compiled step that cannot be replayed faithfully (``strict=True``), or a replay that
    ``verify`` found to differ from the eager run."""


class CompileWarning(UserWarning):
    """A step that cannot be replayed faithfully: it runs eagerly (always correct)."""


# ----------------------------------------------------------------------------------------
# What the recorder recognises
# ----------------------------------------------------------------------------------------
_APPLY = autograd.apply.__code__
_BACKWARD = autograd.run_backward.__code__
_IN_PLACE = versions.in_place.__code__
_VALUE_READS = {f.__code__: name for name, f in (
    ("item()", Tensor.item), ("bool()", Tensor.__bool__), ("float()", Tensor.__float__),
    ("int()", Tensor.__int__), ("tolist()", Tensor.tolist), ("numpy()", Tensor.numpy),
    ("a conversion to a NumPy array (__array__)", numpy_dispatch._array),
    ("repr()/print", Tensor.__repr__))}
_AS_GENERATOR = _random.as_generator.__code__  # every draw of tensorgrad's goes through it
_OPTIM_MODULE = optim.__name__
_MODULE_ZERO_GRAD = Module.zero_grad.__code__
_MODULE_CALL = Module.__call__.__code__
_BATCH_NORM = nn_functional.batch_norm.__code__
_CLASS_INDEX = functional._class_index.__code__
_INT_INDICES = indexing._int_indices.__code__
_DROPOUT = nn_functional.dropout.__code__
_DROPOUT_SCALE = nn_functional._dropout_scale.__code__
_NLL_TERMS = functional._nll_terms.__code__
_WRITE_RUNNING = nn_functional._write_running.__code__


def _softmax_shift(x, axis):
    """The constant ``log_softmax`` subtracts: the maximum along ``axis`` (0 where it is not
    finite), as :func:`tensorgrad.functional._log_softmax` computes it from the values."""
    m = np.max(x, axis=axis, keepdims=True) if x.size else 0
    return np.where(np.isfinite(m), m, 0).astype(x.dtype, copy=False)


# Library functions that compute a constant from a Tensor's values with NumPy and feed it to
# an op: the replay computes it again from the replayed array (the op's first input).
_DERIVED = {functional._log_softmax.__code__: ("subtract", _softmax_shift, ("axis",))}


def _intp(indices):
    """take's and take_along_axis's index array as :func:`tensorgrad.ops.indexing._int_indices`
    makes it from an integer argument: a copy as ``np.intp``."""
    return indices.astype(np.intp)


def _safe_targets(t, ignore_index):
    """The class of each target, 0 where it is ``ignore_index``: the index array of
    :func:`tensorgrad.functional._class_index`, made again from the replayed labels."""
    return np.where(t != ignore_index, t, 0)


def _same_count(mask, count):
    """Whether boolean ``mask`` selects ``count`` elements, as the recorded call's did (the
    shapes recorded after an index by it depend on that number)."""
    return np.count_nonzero(mask.data if isinstance(mask, Tensor) else mask) == count


def _targets_fit(t, ignore_index, classes):
    """Whether every label of ``t`` is a class in [0, classes) other than ``ignore_index``:
    the labels of the recorded call were, which the record relies on."""
    t = t.data if isinstance(t, Tensor) else t
    return t.size == 0 or bool(t.min() >= 0 and t.max() < classes and np.all(t != ignore_index))


# Library code whose work the record cannot see (NumPy on gradients and values): a call of it
# inside the step is refused, naming it.
_UNRECORDED = tuple(_PACKAGE_DIR + p for p in ("viz" + os.sep, os.path.join("nn", "utils.py")))


def _is_library(code) -> bool:
    return code.co_filename.startswith(_PACKAGE_DIR)


def _opaque_call(frame):
    """``(object, method name, keyword arguments)`` when ``frame`` is a call the replay makes
    as it is: ``step``/``zero_grad`` of an optimiser (a subclass of ``optim.Optimizer``, a
    user's included) or of any object of :mod:`tensorgrad.optim` (schedulers), and
    ``Module.zero_grad``."""
    code = frame.f_code
    if code.co_name not in ("step", "zero_grad") or code.co_argcount < 1:
        return None
    local = frame.f_locals
    obj = local.get(code.co_varnames[0])
    if obj is None:
        return None
    owner = type(obj).__module__ or ""
    if not (owner.startswith(_OPTIM_MODULE) or isinstance(obj, optim.Optimizer)
            or code is _MODULE_ZERO_GRAD):
        return None
    names = code.co_varnames[1:code.co_argcount]
    return obj, code.co_name, {n: local[n] for n in names}


def _params_of(obj):
    """The parameters of the optimiser ``obj`` whose ``step``/``zero_grad`` is recorded (its
    ``param_groups``, else its ``params``); none for an object without them (a scheduler)."""
    for group in getattr(obj, "param_groups", None) or [{"params": getattr(obj, "params", ())}]:
        yield from group.get("params", ())


_RANDOM = ("the step draws random numbers other than dropout's mask (an init, a generator "
           "of its own): a replay would reuse the recorded draw")
_RESEED = ("the step sets the default generator (tg.manual_seed): a replay would not, and would "
           "draw dropout's masks from where the generator then is")


def _plain(v):
    """Whether ``v`` is a setting compared by value (a number, a string, None, a tuple of them)."""
    return (v is None or isinstance(v, (bool, int, float, str))
            or isinstance(v, tuple) and all(map(_plain, v)))


def _module_state(module):
    """What decides the ops a module runs besides its arrays' values: its plain settings
    (``training``, dropout's ``p``, a slope), how many hooks it has, and the parameters,
    buffers and submodules it holds (kept, compared by identity)."""
    plain, held = [], []
    for k, v in vars(module).items():
        if _plain(v):
            plain.append((k, v))
        elif k.endswith("hooks"):
            plain.append((k, len(v)))
        elif k in ("_parameters", "_buffers", "_modules"):
            for name, obj in v.items():
                plain.append((k, name))
                held.append(obj)
        else:
            held.append(v)
    return tuple(plain), tuple(held)


def _same_state(a, b):
    return a[0] == b[0] and len(a[1]) == len(b[1]) and all(x is y for x, y in zip(a[1], b[1]))


class _Identities:
    """The dicts of the modules a record called -- each module's attributes and its dict
    attributes (parameters, buffers, submodules, hooks) -- and the objects they held: when
    every one holds the same objects still, the modules are unchanged. Checked first by
    :meth:`_Program.guards_hold`, in a few C-level passes, where :func:`_module_state`
    walks every setting of every module."""

    def __init__(self, modules):
        self.dicts = tuple(d for m in modules for d in (vars(m), *(
            v for v in vars(m).values() if type(v) in (dict, OrderedDict))))
        self.lengths = tuple(map(len, self.dicts))
        self.held = tuple(chain.from_iterable(map(dict.values, self.dicts)))

    def hold(self):
        return (tuple(map(len, self.dicts)) == self.lengths and all(
            map(operator.is_, chain.from_iterable(map(dict.values, self.dicts)), self.held)))


def _random_states():
    """The states of tensorgrad's default generator and of NumPy's global one."""
    return (repr(defaults.default_generator().bit_generator.state),
            repr(np.random.get_state(legacy=False)))


def _only_recorded_draws(start, draws):
    """Whether the default generator, from ``start`` (its state before the call), reaches its
    state now by the recorded draws from it alone (``draws``: dropout's, rng None)."""
    current = defaults.default_generator()
    gen = np.random.Generator(type(current.bit_generator)())
    gen.bit_generator.state = start
    for shape, p, dtype in draws:
        nn_functional._dropout_scale(gen, shape, p, dtype)
    return repr(gen.bit_generator.state) == repr(current.bit_generator.state)


def _generator(rng):
    return _random.as_generator(rng, "dropout")


def _draw_step(rng, shape, p, dtype, out):
    scale = nn_functional._dropout_scale

    def step(ctx):  # dropout's mask, drawn again from the same generator
        ctx.env[out] = scale(_generator(rng), shape, p, dtype)
    return step


def _checksum(a):
    """A CRC of an array's bytes (no copy of a contiguous array): whether a parameter changed
    during the recorded call, without holding a copy of it."""
    return zlib.crc32(memoryview(np.ascontiguousarray(a)).cast("B"))


class _Refused(Exception):
    pass


class _Recorder:
    """Watches one eager call and builds the list of instructions that repeat it.

    Slots: every array the step computes on gets an index into the replay's environment
    (a list). Its source is an input of the call, a Tensor that lives outside the step (a
    parameter or a buffer: its ``.data`` is read at every replay), a constant (an array
    or number made inside the step from no Tensor), or an instruction's result."""

    def __init__(self, inputs):
        self.slot = {}          # id(array) -> slot
        self.shapes = {}        # slot -> shape of the array recorded there
        self.keep = []          # the arrays seen, kept alive so that ids stay unique
        self.n = 0
        self.inputs = []        # (slot, index of the flat input)
        self.free = []          # (slot, Tensor)
        self.free_seen = {}     # id(Tensor) -> (Tensor, its array, a checksum of its values)
        self.consts = []        # (slot, value)
        self.code = []          # instructions (tuples, see _Program)
        self.refusal = None
        self.ignore = None      # the frame whose calls are not recorded (backward, optimiser)
        self.applies = []       # frames of the apply calls under way, with their arguments
        self.writers = set()    # id(Tensor) of tensors that recorded calls may change
        self.input_tensors = {}
        self.modules = {}       # id -> the nn.Modules called (their .training is a guard)
        self.batch_norm = None  # the frame of a batch_norm call under way
        self.wanted_results = None  # id(tensor) -> slot of the gradient tg.grad returns
        self.flat = inputs
        self.input_arrays = []  # (slot, array) of the inputs
        self.derive = None      # (frame, op name, function, parameters) inside a _DERIVED call
        self.class_index = None  # the frame of a _class_index call under way
        self.int_indices = None  # the frame of an _int_indices call under way (take's index)
        self.checks = []        # (input index, test, arguments): what a replay needs of an input
        self.dropout = None     # the frame of a _dropout_scale call under way
        self.default_draws = []  # (shape, p, dtype) of dropout masks from the default generator
        self.grad_owners = []   # the tensors given a .grad by a recorded backward
        self.grads_made = []    # the .grad Tensors those backward passes made
        self.values = []        # (Tensor or array, a copy): values the record was made from
        for k, a in enumerate(inputs):
            arr = a.data if isinstance(a, Tensor) else a
            s = self._new(arr)
            self.inputs.append((s, k))
            if isinstance(arr, np.ndarray):
                self.input_arrays.append((s, arr))
            if isinstance(a, Tensor):
                self.input_tensors[id(a)] = k

    # -- slots ------------------------------------------------------------------------
    def _new(self, arr):
        s = self.n
        self.n += 1
        if isinstance(arr, np.ndarray):
            self.slot[id(arr)] = s
            self.keep.append(arr)
            self.shapes[s] = arr.shape
        return s

    def const(self, value):
        s = self._new(value)
        self.consts.append((s, value))
        return s

    def of_array(self, arr, tensor=None):
        """The slot of an array an op reads (``tensor``: the Tensor it came from, if any)."""
        if not isinstance(arr, np.ndarray):
            return self.const(arr)  # a Python number or None
        s = self.slot.get(id(arr))
        if s is not None:
            return s
        if tensor is not None:  # a Tensor from outside the step: read its .data at replay
            if self._is_a_grad(tensor):
                raise _Refused("an op reads a .grad (a gradient norm, a report): the record "
                               "would keep the recorded gradient's values; compute it after "
                               "the call")
            s = self._new(arr)
            self.free.append((s, tensor))
            self.free_seen[id(tensor)] = (tensor, arr, _checksum(arr))
            return s
        for s_in, base in self.input_arrays:
            if np.may_share_memory(arr, base):
                return self._view(arr, s_in, base)
        for _t, a, _ in self.free_seen.values():
            if np.may_share_memory(arr, a):
                raise _Refused("an op reads NumPy work on the .data of a parameter or buffer; "
                               "use the Tensor itself")
        return self.const(arr)

    def _is_a_grad(self, tensor):
        """Whether ``tensor`` is the ``.grad`` of a parameter, an input or a leaf the step's
        backward reached: a new Tensor at every backward, which a record cannot capture."""
        owners = self._outside_tensors() + self.grad_owners
        return (any(t._grad is tensor for t in owners)
                or any(g is tensor for g in self.grads_made))

    def _outside_tensors(self):
        """The Tensors read from outside the step (parameters, buffers) and its Tensor
        arguments."""
        return [t for t, _, _ in self.free_seen.values()] + [
            a for a in self.flat if isinstance(a, Tensor)]

    def _view(self, arr, s_in, base):
        """A NumPy view of an input (``x[j]`` of an ndarray input): made again from the
        replayed input, at the same offset with the same strides."""
        if not base.flags.c_contiguous:
            raise _Refused("an op reads a NumPy view of an input that is not C-contiguous")
        offset = arr.__array_interface__["data"][0] - base.__array_interface__["data"][0]
        if offset < 0 or offset + (arr.nbytes and max(
                (n - 1) * st for n, st in zip(arr.shape, arr.strides)) + arr.itemsize) > base.nbytes:
            raise _Refused("an op reads an array that overlaps an input's memory")
        s = self._new(arr)
        self.code.append(("view", s_in, arr.shape, arr.strides, offset, arr.dtype, s))
        return s

    def ref(self, t):
        """How the replay finds Tensor ``t``: an input, a Tensor from outside, or a slot."""
        k = self.input_tensors.get(id(t))
        if k is not None:
            return ("in", k)
        s = self.slot.get(id(t.data))
        if s is not None and not any(ft is t for _, ft in self.free):
            return ("slot", s)
        return ("obj", t)

    # -- the profile function ---------------------------------------------------------
    def profile(self, frame, event, arg):
        if self.refusal is not None:
            return
        try:
            self._event(frame, event, arg)
        except _Refused as e:
            self.refusal = str(e)

    def _event(self, frame, event, arg):
        if self.ignore is not None:
            if event == "return" and frame is self.ignore:
                self.ignore = None
                if frame.f_code is _BACKWARD:
                    self.grads_made += [t._grad for t in self.grad_owners if t._grad is not None]
                if frame.f_code is _BACKWARD and isinstance(arg, dict) and self.wanted_results:
                    for key, g in arg.items():  # tg.grad's arrays: the record's slots
                        if isinstance(g, np.ndarray) and key in self.wanted_results:
                            self.slot[id(g)] = self.wanted_results[key]
                            self.keep.append(g)
                    self.wanted_results = None
            return
        if event == "call":
            code = frame.f_code
            if code is _APPLY:
                self.applies.append((frame, frame.f_locals["args"]))
            elif code is _BACKWARD:
                self._backward(frame.f_locals)
                self.ignore = frame
            elif code in _DERIVED:
                name, f, names = _DERIVED[code]
                local = frame.f_locals
                self.derive = (frame, name, f, {n: local[n] for n in names})
            elif code is _IN_PLACE:
                self._in_place(frame.f_locals)
                self.ignore = frame
            elif code is _MODULE_CALL:
                module = frame.f_locals["self"]
                if any(v for k, v in vars(module).items() if k.endswith("hooks")):
                    raise _Refused(f"a {type(module).__name__} module of the step has hooks: they "
                                   "run Python code the replay would not run")
                self.modules[id(module)] = module
            elif code is _BATCH_NORM:
                self.batch_norm = frame
                local = frame.f_locals
                if not local["training"]:  # normalised by the running statistics' values,
                    for stat in (local["running_mean"], local["running_var"]):  # with NumPy
                        arr = stat.data if isinstance(stat, Tensor) else stat
                        if isinstance(arr, np.ndarray):
                            self.values.append((stat, arr.copy()))
            elif code is _CLASS_INDEX:
                self.class_index = frame
            elif code is _INT_INDICES:
                self.int_indices = frame
            elif code is _WRITE_RUNNING:
                self._running(frame)
                self.ignore = frame
            elif code is _AS_GENERATOR:
                if frame.f_back is None or frame.f_back.f_code is not _DROPOUT:
                    raise _Refused(_RANDOM)
            elif code is _DROPOUT_SCALE:
                self.dropout = frame
            elif code in _VALUE_READS:
                caller = frame.f_back
                if caller is not None and not _is_library(caller.f_code):
                    raise _Refused(f"the step reads a Tensor's value ({_VALUE_READS[code]} at "
                                   f"{caller.f_code.co_filename}:{caller.f_lineno}): the record "
                                   "could depend on it; return the Tensor and read it outside")
            elif code.co_filename.startswith(_UNRECORDED):
                raise _Refused(f"the step calls {frame.f_globals.get('__name__')}.{code.co_name} "
                               "(gradient clipping and gradient reports work on the values with "
                               "NumPy, which the record does not see)")
            else:
                call = _opaque_call(frame)
                if call is not None:
                    obj, name, kwargs = call
                    if name == "step" and kwargs.get("closure") is not None:
                        raise _Refused(f"{type(obj).__name__}.step is called with a closure")
                    self.code.append(("call", obj, name, kwargs))
                    self.writers.update(map(id, _params_of(obj)))
                    self.ignore = frame
        elif event == "return":
            if self.derive is not None and frame is self.derive[0]:
                self.derive = None
            if frame is self.class_index:
                self.class_index = None
                self._class_targets(frame, arg)
            if frame is self.int_indices:
                self.int_indices = None
                self._int_indices(frame, arg)
            if frame is self.dropout:
                self.dropout = None
                self._draw(frame, arg)
            if self.applies and frame is self.applies[-1][0]:
                _, args = self.applies.pop()
                self._forward(frame.f_locals, args, arg)

    def _forward(self, local, args, result):
        op = local["op"]
        arrays = local.get("arrays")
        out = local.get("out")
        if arrays is None or not isinstance(out, np.ndarray):
            return  # the call raised
        ins = []
        for a, arr in zip(args, arrays):
            if (self.derive is not None and op.name == self.derive[1] and ins
                    and isinstance(arr, np.ndarray) and id(arr) not in self.slot):
                _, _, f, kw = self.derive
                s = self._new(arr)
                self.code.append(("derive", f, ins[0], kw, s))
                ins.append(s)
                continue
            ins.append(self.of_array(arr, a if isinstance(a, Tensor) else None))
        params = local["params"]
        s = self._new(out)
        self.code.append(("fwd", op, tuple(ins), params, s, self.param_refs(params)))

    def param_refs(self, params):
        """Static parameters that hold arrays of the step (an index that is an input, as
        cross_entropy's target): parameter name -> slot, or a tuple of ("slot", s) and
        ("value", v) for a tuple index."""
        refs = {}
        for k, v in params.items():
            v = v.data if isinstance(v, Tensor) else v  # an index Tensor: its array's slot
            s = self.array_slot(v)
            if s is not None:
                refs[k] = s
                self._mask_check(v, s)
            elif isinstance(v, tuple):
                v = tuple(e.data if isinstance(e, Tensor) else e for e in v)
                slots = [self.array_slot(e) for e in v]
                if any(s is not None for s in slots):
                    refs[k] = tuple(("value", e) if s is None else ("slot", s)
                                    for e, s in zip(v, slots))
                    for e, s in zip(v, slots):
                        if s is not None:
                            self._mask_check(e, s)
        return refs

    def _mask_check(self, v, s):
        """A boolean mask of the step indexing an op: the number of elements it selects sets
        the shapes recorded after it. A mask that is an argument is checked at every replay
        (another count runs that call eagerly); one computed in the step is refused."""
        if v.dtype != bool:
            return
        k = dict(self.inputs).get(s)
        if k is None:
            raise _Refused("a boolean mask computed in the step indexes an op: the shapes after "
                           "it depend on its values")
        self.checks.append((k, _same_count, (int(np.count_nonzero(v)),)))

    def array_slot(self, v):
        """The slot of array ``v``, also when it is another view object of an input's exact
        memory (``np.asarray(y.data)`` of an ndarray ``y``) or a NumPy view of an input
        (``i[:, None]``: made again from it at replay); None for other values."""
        if not isinstance(v, np.ndarray):
            return None
        s = self.slot.get(id(v))
        if s is not None:
            return s
        where = (v.__array_interface__["data"][0], v.shape, v.strides, v.dtype)
        for s, a in self.input_arrays:
            if where == (
                    a.__array_interface__["data"][0], a.shape, a.strides, a.dtype):
                return s
        for s, a in self.input_arrays:
            if np.may_share_memory(v, a):
                return self._view(v, s, a)
        return None

    def _backward(self, local):
        if local["record"] is not None:
            return  # a look-only pass (tg.backward_steps)
        if local["create_graph"]:
            raise _Refused("backward with create_graph=True (a graph of the backward pass)")
        roots, seeds, wanted = local["roots"], local["root_grads"], local["wanted"]
        steps = []
        autograd.run_backward(roots, seeds, retain_graph=True, create_graph=False,
                              wanted=wanted, record=steps)
        grads = {}  # id(tensor) -> slot of its gradient so far
        tensors = {}
        for r, g in zip(roots, seeds):
            self._add_grad(grads, tensors, r, self.of_array(g))
        results = {}
        for t, _, outgoing in steps:
            if t._hooks:
                raise _Refused("a tensor of the step has a hook (register_hook): it runs Python "
                               "code on its gradient")
            g = grads.pop(id(t))
            tensors.pop(id(t), None)
            if wanted is not None:
                if id(t) in wanted:
                    results[id(t)] = g
            elif t._retains_grad:
                self.code.append(("grad", self.ref(t), g))
                self.grad_owners.append(t)
            fn = t.grad_fn
            out = self.slot[id(t.data)]
            ins = tuple(self.of_array(a) for a in fn.inputs)
            for idx, _gp in outgoing:
                p = fn.parents[idx]
                s = self._new(None)
                self.code.append(("vjp", fn.op, idx, g, out, ins, fn.params, p.shape, p.dtype, s,
                                  self.param_refs(fn.params)))
                self._add_grad(grads, tensors, p, s)
        for key, s in grads.items():  # the leaves (and wanted tensors whose node never ran)
            t = tensors[key]
            if t._hooks:
                raise _Refused("a tensor of the step has a hook (register_hook)")
            if wanted is not None:
                if key in wanted:
                    results[key] = s
            else:
                self.code.append(("grad", self.ref(t), s))
                self.grad_owners.append(t)
        if wanted is not None:
            self.code.append(("results", tuple(results.items())))
            self.wanted_results = results

    def _draw(self, frame, mask):
        """dropout's mask: drawn again at every replay from what dropout was given as ``rng``
        (None: the default generator as it is then, after any :func:`tensorgrad.manual_seed`;
        a Generator: that one, advanced by each draw; a seed: a new generator, as eagerly)."""
        if not isinstance(mask, np.ndarray):
            return  # it raised
        caller = frame.f_back
        if caller is None or caller.f_code is not _DROPOUT:
            raise _Refused("an unexpected call of _dropout_scale")
        local = frame.f_locals
        rng = caller.f_locals["rng"]  # a seed makes a new generator at each call, as eagerly
        shape, p, dtype = local["shape"], local["p"], local["dtype"]
        out = self._new(mask)
        self.code.append(("draw", rng, shape, p, dtype, out))
        if rng is None:
            self.default_draws.append((shape, p, dtype))

    def _class_targets(self, frame, result):
        """cross_entropy/nll_loss picking the target classes: an index made from the labels,
        made again from the replayed labels (a "derive"), with a check at every replay that
        the labels are still classes other than ignore_index (else that call runs eagerly,
        which weighs ignored targets out or raises for a bad label as usual)."""
        local = frame.f_locals
        caller = frame.f_back
        if result is None:
            return  # it raised
        index, valid = result
        if local["ndim"] == 1 or caller is None or caller.f_code is not _NLL_TERMS:
            raise _Refused("cross_entropy/nll_loss of one sample's (C,) log-probabilities: its "
                           "class is a Python int made from the label's value")
        if caller.f_locals.get("w") is not None or not np.all(valid):
            raise _Refused("cross_entropy/nll_loss with class weights or ignored targets: the "
                           "mean's divisor is computed from the labels' values with NumPy")
        s = self.array_slot(local["t"])
        k = dict(self.inputs).get(s)
        if k is None:
            raise _Refused("cross_entropy/nll_loss with class labels that are not an argument "
                           "of the step (an array of integers): the replay must read them")
        out = self._new(index[1])
        self.code.append(("derive", _safe_targets, s, {"ignore_index": local["ignore_index"]},
                          out))
        self.checks.append((k, _targets_fit, (local["ignore_index"],
                                              caller.f_locals["logp"].shape[1])))

    def _int_indices(self, frame, result):
        """take's index, a copy of an integer array: when that array is one of the step's
        (an argument, an op's result), the copy is made again from it at replay."""
        if not isinstance(result, np.ndarray):
            return  # it raised
        given = frame.f_locals["indices"]
        s = self.array_slot(given.data if isinstance(given, Tensor) else given)
        if s is not None:
            out = self._new(result)
            self.code.append(("derive", _intp, s, {}, out))

    def _add_grad(self, grads, tensors, t, s):
        prev = grads.get(id(t))
        if prev is None:
            grads[id(t)] = s
            tensors[id(t)] = t
        else:
            total = self._new(None)
            self.code.append(("add", prev, s, total))
            grads[id(t)] = total

    def _running(self, frame):
        """batch_norm's update of a running statistic, made from the batch's with NumPy:
        recorded as that formula on the statistic's slot."""
        bn = self.batch_norm
        if bn is None or frame.f_back is not bn:
            raise _Refused("an unexpected call of batch_norm's running-statistics update")
        outer = bn.f_locals
        local = frame.f_locals
        buffer, what = local["buffer"], local["what"]
        stat = outer["mean"] if what == "running_mean" else outer["var"]
        if not isinstance(buffer, Tensor):
            raise _Refused("batch_norm's running statistics are arrays, not Tensors: their update "
                           "is NumPy work the record does not see")
        n, c, momentum = outer["n"], outer["c"], outer["momentum"]
        scale = 1.0 if what == "running_mean" else n / (n - 1)
        self.code.append(("running", buffer, self.slot[id(stat.data)], c, momentum, scale, what))
        self.writers.add(id(buffer))

    def _in_place(self, local):
        t, name, operands = local["t"], local["name"], local["operands"]
        if any(k._grad is t for k in self._outside_tensors()):
            raise _Refused(f"an in-place change ({name}) of a .grad inside the step")
        r = self.ref(t)
        if r[0] != "obj" or not hasattr(Tensor, name):
            raise _Refused(f"an in-place change ({name}) of a tensor computed inside the step")
        ops = tuple(("slot", self.of_array(o.data, o)) if isinstance(o, Tensor) else
                    ("slot", self.of_array(o)) for o in operands)
        self.code.append(("inplace", t, name, ops, _state.enabled))
        self.writers.add(id(t))

    # -- after the call ---------------------------------------------------------------
    def check_free(self):
        """Refuse a step that changed a parameter or buffer in a way it did not record."""
        for t, arr, values in self.free_seen.values():
            if t.data is not arr:
                raise _Refused(f"the step assigns a new array to .data of a tensor of shape "
                               f"{t.shape}; change tensors with tensorgrad ops or an optimiser")
            if id(t) not in self.writers and _checksum(arr) != values:
                raise _Refused(f"the step writes into .data of a tensor of shape {t.shape} "
                               "directly (NumPy work on .data is not recorded); use an "
                               "optimiser (tg.optim) or in-place tensor methods under no_grad")

    def output(self, value):
        """The replay's form of the step's result: the structure with slots for arrays."""
        if isinstance(value, Tensor):
            fn = value.grad_fn
            if fn is not None and not fn.released:
                raise _Refused("the step returns a Tensor whose graph is still alive (the "
                               "backward pass happens outside the step): compile the whole "
                               "step, backward included")
            ref = self.ref(value)
            if ref[0] == "obj" and id(value) not in self.free_seen:
                raise _Refused("the step returns a Tensor that no recorded op made (made from "
                               "NumPy values inside the step?)")
            return ("tensor", ref, value.requires_grad)
        if isinstance(value, (tuple, list)):
            return (type(value), tuple(self.output(v) for v in value))
        if isinstance(value, dict):
            return (dict, tuple((k, self.output(v)) for k, v in value.items()))
        if value is None or isinstance(value, (str, bool, int, float)):
            return ("value", value)
        raise _Refused(f"the step returns a {type(value).__name__}; return Tensors, numbers, "
                       "or tuples, lists and dicts of them")


# ----------------------------------------------------------------------------------------
# Replay
# ----------------------------------------------------------------------------------------
class _Program:
    """The recorded step as closures over one environment list, run in order."""

    def __init__(self, rec, output, rewrite=True):
        code = (rewrite_program(rec.code, rec.shapes, _output_slots(output)) if rewrite
                else rec.code)
        self.env = [None] * rec.n  # the constants in place: each replay starts from a copy
        self.consts = [(s, _read_only(v)) for s, v in rec.consts]
        for s, v in self.consts:
            self.env[s] = v
        self.inputs = rec.inputs
        self.free = rec.free
        self.output = output
        self.recorded_code = rec.code
        self.source = code
        self.steps = _lower(code)
        self.dead = _dead_after(code, _output_slots(output))
        self.guards = tuple((m, _module_state(m)) for m in rec.modules.values())
        self.identities = _Identities(rec.modules.values())
        self.tensor_guards = tuple((t, t.requires_grad, bool(t._hooks)) for _, t in rec.free)
        self.value_guards = tuple(rec.values)
        self.checks = tuple(rec.checks)

    def guards_hold(self):
        """Whether every module called while recording is as it was (its mode, settings,
        parameters, submodules and hooks: ``_module_state``), every tensor read from
        outside the arguments has the same ``requires_grad`` and no new hook, and the values
        the record computed constants from with NumPy (batch_norm's running statistics in
        eval mode) are the same: each decides the ops or constants recorded."""
        if not self.identities.hold():
            for m, state in self.guards:
                if not _same_state(_module_state(m), state):
                    return False
        for t, requires_grad, hooked in self.tensor_guards:
            if t.requires_grad is not requires_grad or bool(t._hooks) is not hooked:
                return False
        for v, recorded in self.value_guards:  # batch_norm's running statistics in eval mode
            if not np.array_equal(v.data if isinstance(v, Tensor) else v, recorded):
                return False
        return True

    def inputs_fit(self, flat):
        """Whether the inputs hold what the record relies on beyond their shapes (class
        labels: classes other than ignore_index); when not, the call runs eagerly."""
        for k, fits, args in self.checks:
            if not fits(flat[k], *args):
                return False
        return True

    def run(self, flat):
        env = self.env.copy()
        for s, k in self.inputs:
            a = flat[k]
            env[s] = a.data if isinstance(a, Tensor) else a
        for s, t in self.free:
            env[s] = t.data
        ctx = _Context(env, flat)
        ctx.state = _state.enabled, _state.raw
        _state.enabled, _state.raw = False, True  # VJPs on arrays, as in a backward pass
        try:
            for step, dead in zip(self.steps, self.dead):
                step(ctx)
                if dead:  # arrays no later instruction reads: freed now, as eagerly
                    for s in dead:
                        env[s] = None
        finally:
            _state.enabled, _state.raw = ctx.state
        return _build(self.output, ctx)


def _read_only(value):
    """A read-only copy of an array constant of the record (anything else as it is): every
    replay shares it, and hands it out unchanged where the op would (a backward's seed through
    add's VJP to a ``.grad``, a returned Tensor); a caller's in-place change of it would
    reach every later replay. ``.grad`` then gets a copy, as of any read-only gradient."""
    if not isinstance(value, np.ndarray):
        return value
    value = value.copy()
    value.flags.writeable = False
    return value


class _Context:
    __slots__ = ("env", "flat", "handed", "results", "state")

    def __init__(self, env, flat):
        self.env = env
        self.flat = flat
        self.handed = set()
        self.results = None

    def tensor(self, ref):
        kind, x = ref
        if kind == "in":
            return self.flat[x]
        if kind == "obj":
            return x
        return Tensor._make(self.env[x])


def _output_slots(spec):
    kind = spec[0]
    if kind == "tensor":
        return {spec[1][1]} if spec[1][0] == "slot" else set()
    if kind == "value":
        return set()
    return set().union(*[_output_slots(v[1] if kind is dict else v) for v in spec[1]])


def _dead_after(code, keep):
    """For each instruction, the slots whose last reader it is (outputs kept): the replay
    drops them from the environment there, so that it holds no more arrays than the eager
    step, whose graph frees its saved arrays node by node."""
    last = {}
    for i, ins in enumerate(code):
        for s in reads(ins):
            last[s] = i
    dead = [[] for _ in code]
    for s, i in last.items():
        if s not in keep:
            dead[i].append(s)
    return [tuple(d) for d in dead]


def _build(spec, ctx):
    kind = spec[0]
    if kind == "tensor":
        _, ref, rg = spec
        if ref[0] == "slot":
            t = Tensor._make(ctx.env[ref[1]])
            t.requires_grad = rg
            return t
        return ctx.tensor(ref)
    if kind == "value":
        return spec[1]
    if kind is dict:
        return {k: _build(v, ctx) for k, v in spec[1]}
    return kind(_build(v, ctx) for v in spec[1])


def _lower(code):
    """Each instruction as a closure ``step(ctx)``. The environment is a fresh list per
    replay: its arrays go when the replay returns."""
    steps = []
    for kind, *args in code:
        if kind == "custom":
            steps.append(args[0])
        elif kind in _CALLERS_STATE:
            steps.append(in_callers_state(_CALLERS_STATE[kind](*args)))
        elif kind in _STEPS:
            steps.append(_STEPS[kind](*args))
        else:  # pragma: no cover - the rewrites produce only the kinds above
            raise AssertionError(kind)
    return steps


def _view_step(base, shape, strides, offset, dtype, out):
    def step(ctx):
        env = ctx.env
        env[out] = np.ndarray(shape, dtype, buffer=env[base], offset=offset, strides=strides)
    return step


def _derive_step(f, x, kw, out):
    def step(ctx):
        env = ctx.env
        env[out] = f(env[x], **kw)
    return step


def _fwd_step(op, ins, params, out, refs):
    if refs:
        return _fwd_step_with_refs(op, ins, params, out, refs)
    f = op.forward
    if len(ins) == 1:
        a, = ins

        def step(ctx):
            env = ctx.env
            r = f(env[a], **params)
            env[out] = r if type(r) is np.ndarray else np.asarray(r)
    elif len(ins) == 2:
        a, b = ins

        def step(ctx):
            env = ctx.env
            r = f(env[a], env[b], **params)
            env[out] = r if type(r) is np.ndarray else np.asarray(r)
    else:
        def step(ctx):
            env = ctx.env
            r = f(*[env[i] for i in ins], **params)
            env[out] = r if type(r) is np.ndarray else np.asarray(r)
    return step


def _fwd_step_with_refs(op, ins, params, out, refs):
    """A forward whose static parameters hold arrays of the step (an index given as an
    input): they are taken from the environment at every replay."""
    f = op.forward

    def step(ctx):
        env = ctx.env
        r = f(*[env[i] for i in ins], **_params(params, refs, env))
        env[out] = r if type(r) is np.ndarray else np.asarray(r)
    return step


def _params(params, refs, env):
    p = dict(params)
    for k, r in refs.items():
        p[k] = env[r] if isinstance(r, int) else tuple(
            env[v] if kind == "slot" else v for kind, v in r)
    return p


def _vjp_step(op, idx, g, out, ins, params, shape, dtype, res, refs):
    vjp = op.vjp_for(idx)
    to_input = ToInput(shape, dtype)

    def step(ctx):
        env = ctx.env
        gp = vjp(env[g], env[out], *[env[i] for i in ins],
                 **(_params(params, refs, env) if refs else params))
        if type(gp) is not np.ndarray:
            gp = gp.data if isinstance(gp, Tensor) else np.asarray(gp)
        env[res] = to_input(gp)
    return step


def _add_step(a, b, res):
    def step(ctx):
        env = ctx.env
        env[res] = env[a] + env[b]
    return step


def _grad_step(ref, g):
    def step(ctx):
        autograd._accumulate_grad(ctx.tensor(ref), ctx.env[g], False, ctx.handed)
    return step


def _results_step(items):
    def step(ctx):
        ctx.results = {k: ctx.env[s] for k, s in items}
    return step


def _call_step(obj, name, kwargs):
    method = getattr(obj, name)
    return lambda ctx: method(**kwargs)


def _running_step(buffer, stat, c, momentum, scale, what):
    write = nn_functional._write_running

    def step(ctx):  # batch_norm's own expression, in its order of operations
        new = momentum * ctx.env[stat].reshape(c)
        if scale != 1.0:
            new = new * scale
        write(buffer, (1 - momentum) * buffer.data + new, what)
    return step


def _inplace_step(t, name, operands, enabled):
    method = getattr(Tensor, name)

    def step(ctx):
        args = [Tensor._make(ctx.env[s]) for _, s in operands]
        with no_grad():
            method(t, *args)
    return step


# The closure of each kind of instruction; those of _CALLERS_STATE run in the caller's grad mode.
_STEPS = {"fwd": _fwd_step, "derive": _derive_step, "view": _view_step, "vjp": _vjp_step,
          "add": _add_step, "grad": _grad_step, "results": _results_step, "draw": _draw_step}
_CALLERS_STATE = {"call": _call_step, "inplace": _inplace_step, "running": _running_step}


# ----------------------------------------------------------------------------------------
# The compiled callable
# ----------------------------------------------------------------------------------------
_local = threading.local()  # .recording: a recorder is active in this thread


def _flatten(value, flat, key):
    """Append the Tensors/arrays of ``value`` to ``flat``; the cache key's part to ``key``."""
    if isinstance(value, Tensor):
        flat.append(value)
        key.append(("T", value.data.shape, value.data.dtype.str, value.data.strides,
                    value.requires_grad))
    elif isinstance(value, np.ndarray):
        flat.append(value)
        key.append(("A", value.shape, value.dtype.str, value.strides))
    elif isinstance(value, (list, tuple)):
        key.append((type(value), len(value)))
        for v in value:
            _flatten(v, flat, key)
    elif isinstance(value, dict):
        key.append((dict, tuple(value)))
        for v in value.values():
            _flatten(v, flat, key)
    else:
        hash(value)  # TypeError for an unhashable argument: caught by the caller
        key.append(("V", type(value), value))


class _Entry:
    __slots__ = ("program", "verify_left")

    def __init__(self, program=None, verify_left=0):
        self.program = program
        self.verify_left = verify_left


def _tolerance(dtype) -> float:
    return 1e-9 if np.dtype(dtype).itemsize >= 8 else 1e-4


class Compiled:
    """What :func:`compile` returns: call it like the function it wraps.

    Attributes
    ----------
    fn : callable
        The wrapped function.
    verify : int
        How many replays per input signature are also run eagerly and compared.
    recordings : int
        How many times a call was recorded (one per input signature, plus verifications).
    replays : int
        How many calls were replayed.
    eager_calls : int
        How many calls ran eagerly because their step was refused.
    """

    def __init__(self, fn, verify=1, strict=False, rewrite=True):
        if not callable(fn):
            raise TypeError(f"compile: fn must be callable, got {type(fn).__name__}")
        if isinstance(verify, bool) or not isinstance(verify, int) or verify < 0:
            raise ValueError(f"compile: verify must be an int >= 0, got {verify!r}")
        self.fn = fn
        self.verify = verify
        self.strict = bool(strict)
        self.rewrite = bool(rewrite)
        self._cache = {}
        self._warned_full = False
        self.recordings = self.replays = self.eager_calls = 0
        functools.update_wrapper(self, fn)

    def __call__(self, *args, **kwargs):
        if getattr(_local, "recording", False):
            return self.fn(*args, **kwargs)  # inside another recording: record it through
        flat, key = [], []
        try:
            _flatten(args, flat, key)
            _flatten(kwargs, flat, key)
            key.append(_state.enabled)  # the grad mode: under no_grad a step records no graph
            key = tuple(key)
            entry = self._cache.get(key)
        except TypeError:
            self.eager_calls += 1
            return self.fn(*args, **kwargs)  # an unhashable argument: no cache key
        if entry is None and len(self._cache) >= MAX_SIGNATURES:
            return self._too_many(args, kwargs, key)
        if entry is None or entry.program is not None and not entry.program.guards_hold():
            result, entry = self._record(args, kwargs, flat)
            self._cache[key] = entry
            return result
        if entry.program is None or entry.program.checks and not entry.program.inputs_fit(flat):
            self.eager_calls += 1
            return self.fn(*args, **kwargs)
        if entry.verify_left > 0:
            entry.verify_left -= 1
            return self._verified(entry, args, kwargs, flat)
        self.replays += 1
        return entry.program.run(flat)

    def _too_many(self, args, kwargs, key):
        """A new signature once :data:`MAX_SIGNATURES` are recorded: run eagerly, warning
        once (a non-Tensor argument that changes at every call would record every call)."""
        self.eager_calls += 1
        if not self._warned_full:
            self._warned_full = True
            kinds = sorted({part[1].__name__ for part in key
                            if isinstance(part, tuple) and part[:1] == ("V",)})
            text = (f"compile({callable_name(self.fn)}): {MAX_SIGNATURES} input "
                    "signatures recorded; calls with a new one run eagerly. Non-Tensor "
                    "arguments are part of the signature (their types: "
                    f"{', '.join(kinds) or 'none'}): one that changes at every call, such as a "
                    "step counter, makes every call a new signature; pass it as an array or "
                    "leave it out of the compiled function")
            if self.strict:
                raise CompileError(text)
            warnings.warn(text, CompileWarning, stacklevel=3)
        return self.fn(*args, **kwargs)

    def cache_size(self) -> int:
        """How many input signatures have a record (or a refusal)."""
        return len(self._cache)

    def _trace(self, args, kwargs, flat):
        """Run the function eagerly under the recorder: (result, recorder, output spec)."""
        rec = _Recorder(flat)
        self.recordings += 1
        previous = sys.getprofile()
        states = _random_states()
        generator = defaults.default_generator()
        start = generator.bit_generator.state
        _local.recording = True
        sys.setprofile(rec.profile)
        try:
            result = self.fn(*args, **kwargs)
        finally:
            sys.setprofile(previous)
            _local.recording = False
        spec = None
        if rec.refusal is None and defaults.default_generator() is not generator:
            rec.refusal = _RESEED
        if rec.refusal is None:
            after = _random_states()
            if after != states and not (
                    states[1] == after[1] and _only_recorded_draws(start, rec.default_draws)):
                rec.refusal = _RANDOM
        if rec.refusal is None:
            try:
                rec.check_free()
                spec = rec.output(result)
            except _Refused as e:
                rec.refusal = str(e)
        return result, rec, spec

    def _record(self, args, kwargs, flat):
        result, rec, spec = self._trace(args, kwargs, flat)
        if rec.refusal is not None:
            return result, self._refuse(rec.refusal)
        return result, _Entry(_Program(rec, spec, self.rewrite), self.verify)

    def _refuse(self, reason):
        name = callable_name(self.fn)
        text = f"compile({name}): cannot replay this step faithfully: {reason}"
        if self.strict:
            raise CompileError(text)
        warnings.warn(text + "; it runs eagerly", CompileWarning, stacklevel=4)
        return _Entry()

    def _verified(self, entry, args, kwargs, flat):
        """Replay, then undo its effects and run eagerly; raise if the two differ."""
        program = entry.program
        state = _State(program, flat)
        try:
            try:
                replayed = program.run(flat)
                after = _Spill(state.capture(replayed))  # on disk: no second copy while eager runs
            except BaseException:  # the originals back, and the next replay verified instead
                state.restore()
                entry.verify_left += 1
                raise
            try:
                del replayed
                state.restore()
                return self._checked_eagerly(entry, args, kwargs, flat, state, after)
            finally:
                after.file.close()
        finally:
            state.close()

    def _checked_eagerly(self, entry, args, kwargs, flat, state, after):
        """The eager run of a verified call, compared with the replay's results ``after``; a
        step that records other ops, or a replay that differs, is not replayed again."""
        program = entry.program
        result, rec, spec = self._trace(args, kwargs, flat)
        if rec.refusal is not None:
            entry.program = None
            self._refuse(rec.refusal)
            return result
        if (_signature(rec.code) != _signature(program.recorded_code)
                or not _same_constants(rec.consts, program.consts)):
            entry.program = None
            self._refuse("the second call recorded other ops than the first (Python control "
                         "flow or constants that depend on values, or data read from outside "
                         "the arguments)")
            return result
        del rec
        try:
            _compare(after, state.capture(result, replay=False), callable_name(self.fn))
        except CompileError:
            entry.program = None  # (never replayed again: the step runs eagerly)
            raise
        self.replays += 1
        return result


def _signature(code):
    out = []
    for ins in code:
        if ins[0] == "fwd":
            refs = ins[5]
            out.append(("fwd", ins[1].name, ins[2], refs and repr(refs),
                        repr({k: v for k, v in ins[3].items() if k not in refs})))
        elif ins[0] == "vjp":
            out.append(("vjp", ins[1].name, ins[2], ins[3], ins[4], ins[5], ins[7], repr(ins[10])))
        elif ins[0] == "call":
            out.append(("call", id(ins[1]), ins[2]))
        elif ins[0] == "derive":
            out.append(("derive", ins[1].__name__, ins[2], repr(ins[3]), ins[4]))
        else:
            out.append(tuple(x if isinstance(x, (int, float, str, tuple, type(None))) else id(x)
                             for x in ins))
    return out


def _equal_values(a, b):
    """Equal arrays or values, NaN equal to NaN where the dtype holds NaN."""
    a, b = np.asarray(a), np.asarray(b)
    return np.array_equal(a, b, equal_nan=a.dtype.kind in "fc" and b.dtype.kind in "fc")


def _same_constants(a, b):
    return len(a) == len(b) and all(
        sa == sb and type(va) is type(vb) and _equal_values(va, vb)
        for (sa, va), (sb, vb) in zip(a, b))


class _State:
    """What a step can change -- parameters and buffers (their values and ``.grad``), the
    inputs' ``.grad``, the state of the optimisers it calls, dropout's generators -- set
    aside so that a verification can undo a replay.

    The replay runs on the tensors themselves; their values before it wait in an unlinked
    temporary file (:class:`_Spill`), from which :meth:`restore` writes them back, and the
    optimisers' state is replaced by copies (work arrays shared). No second copy of the
    parameters is held in memory at any point."""

    def __init__(self, program, flat):
        tensors = {id(t): t for _, t in program.free}
        tensors.update({id(a): a for a in flat if isinstance(a, Tensor)})
        for ins in program.recorded_code:
            if ins[0] in ("running", "inplace"):
                tensors[id(ins[1])] = ins[1]
            if ins[0] == "call":
                tensors.update({id(p): p for p in _params_of(ins[1])})
        self.tensors = list(tensors.values())
        self.originals = [(t.data, t._grad, None if t._grad is None else t._grad.data.copy())
                          for t in self.tensors]
        self.before = _Spill([("value", t.data) for t in self.tensors])
        self.objects = []
        for obj in {id(ins[1]): ins[1] for ins in program.recorded_code
                    if ins[0] == "call"}.values():
            d = vars(obj)
            saved = dict(d)
            d.update(_copy(saved))
            self.objects.append((obj, saved))
        generators = {}  # the ones dropout draws from: the eager run must draw the same masks
        for ins in program.recorded_code:
            if ins[0] == "draw":
                gen = _generator(ins[1])
                generators[id(gen)] = gen
        self.generators = [(g, g.bit_generator.state) for g in generators.values()]

    def capture(self, result, replay=True):
        """The result's arrays and every tensor's values and gradient, live (after the
        replay, for a :class:`_Spill` to write away at once; the result's arrays and the
        gradients copied, which the restore does not bring back)."""
        out = []
        _collect(result, out)
        if replay:
            out = [(what, np.copy(a)) for what, a in out]
        for t in self.tensors:
            out.append(("value", t.data))
            grad = None if t._grad is None else t._grad.data
            out.append(("grad", grad.copy() if replay and grad is not None else grad))
        return out

    def restore(self):
        """Each tensor's array, values and gradient as before the replay (the values read
        back from the file into the same arrays), the optimisers' state and the generators."""
        for gen, state in self.generators:
            gen.bit_generator.state = state
        for t, (arr, grad, gvalues), (_, meta) in zip(self.tensors, self.originals,
                                                      self.before.entries):
            t.data = arr
            if meta is not None and arr.flags.writeable:
                self.before.read_into(meta, arr)
            t._grad = grad
            if grad is not None:
                np.copyto(grad.data, gvalues)
        for obj, saved in self.objects:
            d = vars(obj)
            d.clear()
            d.update(saved)

    def close(self):
        """Close the file of the values before the replay (unlinked: its space is freed)."""
        self.before.file.close()


def _copy(value):
    """Containers copied, arrays copied, everything else (Tensors included) shared. Entries
    of a dict whose key starts with "_" (an optimiser's ``_buffers``: work arrays whose
    values do not matter between steps) are shared, not copied."""
    if isinstance(value, np.ndarray):
        return value.copy()
    if isinstance(value, dict):
        return {k: (v if isinstance(k, str) and k.startswith("_") else _copy(v))
                for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_copy(v) for v in value)
    return value


def _collect(value, out):
    if isinstance(value, Tensor):
        out.append(("output", value.data))
    elif isinstance(value, (list, tuple)):
        for v in value:
            _collect(v, out)
    elif isinstance(value, dict):
        for v in value.values():
            _collect(v, out)
    elif isinstance(value, (int, float)):
        out.append(("output", np.asarray(value)))


_CHUNK = 1 << 16


class _Spill:
    """Pairs of a label and an array or None -- the tensors' values before a verified replay,
    the replay's results -- set aside in an unlinked temporary file while the eager run
    computes its own, so that a verified call holds no second copy of the parameters in
    memory; read back :data:`_CHUNK` elements at a time."""

    def __init__(self, entries):
        self.file = tempfile.TemporaryFile()
        self.entries = []
        for what, a in entries:
            if a is None:
                self.entries.append((what, None))
                continue
            a = np.asarray(a)
            if not a.flags.c_contiguous:
                a = a.copy(order="C")
            self.entries.append((what, (self.file.tell(), a.shape, a.dtype)))
            if a.size:
                self.file.write(memoryview(a.reshape(-1)).cast("B"))

    def read_into(self, meta, out):
        """Write the array ``meta`` names into ``out`` (of its shape), chunk by chunk."""
        if not out.flags.c_contiguous:  # (a strided array: through a buffer of its size)
            buf = np.empty(out.shape, out.dtype)
            self.read_into(meta, buf)
            np.copyto(out, buf)
            return
        flat = out.reshape(-1)
        for i, part in zip(range(0, flat.size, _CHUNK), self.chunks(meta)):
            flat[i:i + part.size] = part

    def chunks(self, meta):
        offset, shape, dtype = meta
        n = math.prod(shape)
        buf = np.empty(min(n, _CHUNK), dtype)
        self.file.seek(offset)
        for i in range(0, n, _CHUNK):
            part = buf[:min(_CHUNK, n - i)]
            self.file.readinto(memoryview(part).cast("B"))
            yield part


def _compare(spill, eager, name):
    """Raise CompileError where an array of the replay (``spill``) and of the eager run
    differ by more than the tolerance."""
    for (what, meta), (_, b) in zip(spill.entries, eager):
        if meta is None or b is None:
            if (meta is None) != (b is None):
                raise CompileError(f"compile({name}): verify: a {what} is None in one run and "
                                   "set in the other")
            continue
        shape = meta[1]
        if shape != b.shape:
            raise CompileError(f"compile({name}): verify: a {what} has shape {shape} in the "
                               f"replay, {b.shape} eagerly")
        flat = np.ascontiguousarray(b).reshape(-1)
        scales, diffs, same = [0.0], [0.0], True
        for i, a in zip(range(0, flat.size, _CHUNK), spill.chunks(meta)):
            bb = flat[i:i + _CHUNK]
            if b.dtype.kind != "f" or a.dtype.kind != "f":
                same = same and np.array_equal(a, bb)
                continue
            same = same and np.array_equal(a, bb, equal_nan=True)
            d = np.subtract(a, bb, dtype=np.float64)
            scales.append(np.max(np.abs(bb)))
            diffs.append(np.max(np.abs(d, out=d)))
        if same:
            continue
        if b.dtype.kind != "f":
            raise CompileError(f"compile({name}): verify: a {what} differs")
        scale, diff = float(np.max(scales)), float(np.max(diffs))
        tol = _tolerance(b.dtype) * max(scale, 1.0)
        if not diff <= tol:
            raise CompileError(
                f"compile({name}): verify: the replay differs from the eager run: a {what} of "
                f"shape {b.shape} ({b.dtype}) differs by {diff:.3g}, more than the tolerance "
                f"{tol:.3g} (= {_tolerance(b.dtype):g} x max(1, max|eager| = {scale:.3g})). The "
                "step depends on something the record does not see (data read from outside "
                "the arguments, NumPy work on .data, a global changed between calls)")


def compile(fn=None, verify=1, *, strict=False, rewrite=True):  # noqa: A001 (tg.compile)
    """Record a function of Tensors once per input signature and replay it afterwards.

    Parameters
    ----------
    fn : callable
        A training step (forward, ``backward``, optimiser ``step``/``zero_grad``) or any
        function of Tensors. Tensors and arrays among its arguments (also inside lists,
        tuples and dicts) are its inputs; parameters, buffers and optimisers are found by
        the recording (they are read, not captured, at every replay).
    verify : int, default 1
        The first ``verify`` replays of each signature also run eagerly; a
        :class:`CompileError` is raised when an output, a gradient or a parameter differs
        by more than ``1e-9`` (float64; ``1e-4`` for float32) times ``max(1, max|eager|)``,
        or the eager run records other ops. 0 trusts the record.
    strict : bool, default False
        Raise :class:`CompileError` for a step that cannot be replayed faithfully instead
        of warning (:class:`CompileWarning`) and running it eagerly.
    rewrite : bool, default True
        Apply the rewrites of the record (docs/compile.md); False replays it as recorded.

    Returns
    -------
    Compiled
        A callable. Its first call with given argument shapes, dtypes and non-Tensor
        values, in a grad mode, runs ``fn`` eagerly and records it; a later call with the
        same ones replays the record; other ones record again (a cache of at most
        ``MAX_SIGNATURES`` = 64 signatures, after which a new one runs eagerly with one
        :class:`CompileWarning`, or CompileError with ``strict``). Usable as
        ``@tg.compile``.

    Refused (run eagerly with a warning, or CompileError with ``strict``): reading a
    Tensor's value inside the step (``item()``, ``bool()``, ``float()``, ``print``,
    ``np.asarray``: the record could depend on it), random draws other than dropout's mask
    (which is drawn again at each replay), direct writes to ``.data``, tensor hooks,
    ``create_graph=True``, a step whose graph stays alive after it returns, and -- seen by
    ``verify`` -- a second call that records other ops. A module changed between calls (its
    mode, a setting such as dropout's ``p``, a parameter replaced, a hook) or a parameter's
    ``requires_grad`` switched makes the next call record again.

    Raises
    ------
    TypeError
        ``fn`` is not callable.
    ValueError
        ``verify`` is not an int >= 0.
    """
    if fn is None:
        return lambda f: Compiled(f, verify, strict, rewrite)
    return Compiled(fn, verify, strict, rewrite)
