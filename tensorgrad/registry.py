"""Declaring primitives: the one mechanism behind every built-in op and every user op.

A primitive is a forward function (NumPy in, NumPy out) plus one vector-Jacobian product
(VJP) per differentiable input, declared together::

    @tg.primitive
    def softplus(x):
        "log(1 + exp(x)), elementwise, stable for large |x|."
        return np.logaddexp(0.0, x)

    @softplus.defvjp
    def softplus_vjp(g, out, x):
        return g * tg.sigmoid(x)

Calling ``softplus(t)`` on a Tensor records the op; the engine calls the VJP with the
cotangent ``g`` (the output's shape), the forward result ``out`` and the inputs, plus the
op's static parameters. Write VJPs with operators and tensorgrad functions (not ``np.``
calls on the arguments): they then run on ndarrays in an ordinary backward pass and on
Tensors under ``create_graph=True``, which makes every op twice differentiable.

Which arguments are inputs: the forward's positional parameters without a default (or a
``*args``) are array inputs (Tensors, arrays or scalars; only Tensors can require grad);
parameters with defaults and keyword-only parameters are static parameters. A node records
the *complete* set of static parameters -- the forward's defaults merged with what the caller
passed, as JAX's ``bind`` does -- and every VJP receives that complete set as keywords, so no
VJP repeats a default.

An op may also declare its forward-mode rules, one Jacobian-vector product (JVP) per input,
with :meth:`Op.defjvp` (``softplus.defjvp(lambda t, out, x: t * tg.sigmoid(x))``): the
transforms push tangents through them (:func:`tensorgrad.jvp`), and
``tg.gradcheck(..., check_forward_ad=True)`` checks each against the VJP of the same input.

An op whose public signature differs from its forward's (PyTorch's ``conv2d(x, weight,
bias, stride, ...)`` normalised to the forward's arrays and parameters) declares that
signature with :meth:`Op.defcall`; the op keeps one name, and ``tg.OPS[name]`` is the public
function.
"""
from __future__ import annotations

import inspect
import sys

from .autograd import apply

OPS: dict = {}
"""Every primitive declared so far, by name (built-in ones and users')."""

_BUILTIN_PACKAGE = __name__.rpartition(".")[0] + ".ops."  # where the built-in ops live


class Op:
    """A primitive: forward plus VJPs. Created by :func:`primitive`; call it like a function.

    Attributes
    ----------
    name : str
        Shown in ``grad_fn.name``, error messages and gradcheck reports.
    forward : callable
        ``forward(*arrays, **params) -> ndarray``.
    defaults : dict
        The forward's static parameters with their defaults; a node records these merged
        with the values passed (``node.params``).
    broadcast : bool
        True when the op broadcasts its inputs NumPy-style: a VJP may then return a gradient
        of the broadcast shape and the engine sums it back to the input's shape (the one
        place where broadcasting is undone).
    differentiable : bool
        False for ops whose output carries no gradient (comparisons, ``sign``).
    optional : frozenset of int
        Positions of array inputs that may be None (absent), such as ``clip``'s bounds.
    kinks : callable or None
        Where the op is not differentiable (:meth:`defkinks`); None for a smooth op.
    vjps, jvps : dict
        The reverse- and forward-mode rules by input position (:meth:`defvjp`,
        :meth:`defjvp`); ``vjp_argnum``/``jvp_argnum`` the rule for all inputs, if declared.
    """

    def __init__(self, forward, name=None, broadcast=False, differentiable=True, optional=()):
        self.forward = forward
        self.optional = frozenset(optional)
        self.name = name or forward.__name__
        self.broadcast = broadcast
        self.differentiable = differentiable
        self.vjps = {}
        self.vjp_argnum = None
        self.jvps = {}
        self.jvp_argnum = None
        self.kinks = None
        self.call = None
        self.__doc__ = forward.__doc__
        self.__name__ = self.name
        self.__qualname__ = getattr(forward, "__qualname__", self.name)
        self.__module__ = getattr(forward, "__module__", None)
        self.__wrapped__ = forward
        self.n_inputs, self.param_names, self.defaults = _signature(forward)
        _register(self)

    @property
    def builtin(self) -> bool:
        """True for the ops tensorgrad itself declares (in :mod:`tensorgrad.ops`)."""
        return (self.__module__ or "").startswith(_BUILTIN_PACKAGE)

    def bind(self, *args, **params):
        """Run the primitive on array inputs ``args`` with static ``params`` (recorded on
        Tensors that require grad): the forward's own signature, no argument conversion.
        Static parameters may also be given positionally after the inputs."""
        n = self.n_inputs
        if n is not None and len(args) != n:
            if len(args) < n:
                raise TypeError(f"{self.name}: expected {n} array input(s), got {len(args)}")
            extra = args[n:]
            if len(extra) > len(self.param_names):
                raise TypeError(f"{self.name}: too many positional arguments ({len(args)})")
            for pname, value in zip(self.param_names, extra):
                if pname in params:
                    raise TypeError(f"{self.name}: got multiple values for '{pname}'")
                params[pname] = value
            args = args[:n]
        if len(params) < len(self.defaults):  # all given (as VJPs pass them): nothing to merge
            params = {**self.defaults, **params}
        return apply(self, args, params)

    __call__ = bind  # an op without a public signature of its own (see defcall)

    def defcall(self, call):
        """Declare the op's public signature: ``call(*args, **kwargs)`` checks and normalises
        its arguments and runs the primitive through ``op.bind``. Calling the op then calls
        ``call``; its docstring and signature become the op's. Returns the op, so it can be
        used as a decorator on a function of the op's own name."""
        self.call = call
        self.__doc__ = call.__doc__
        self.__signature__ = inspect.signature(call)
        self.__class__ = _PublicOp
        return self

    def defvjp(self, *vjps, argnums=None):
        """Declare the VJPs, one per input in order (``None`` for a non-differentiable input).

        Each is ``vjp(g, out, *inputs, **params) -> gradient`` of its input's shape (or, for
        a ``broadcast`` op, of the broadcast shape); ``params`` is the complete set of static
        parameters. ``argnums`` selects which inputs the given VJPs are for. Returns the op,
        so it can be used as a decorator.
        """
        for i, f in self._rules("defvjp", vjps, argnums):
            self.vjps[i] = f
        return self

    def _rules(self, where, rules, argnums):
        """(input position, rule) pairs of ``defvjp``/``defjvp``, checked: each rule a
        function or None, one per input given in ``argnums`` (default: the inputs in order),
        the positions those of the op's inputs. Raises TypeError or ValueError naming the op."""
        argnums = tuple(range(len(rules)) if argnums is None else argnums)
        for k, f in enumerate(rules):
            if f is not None and not callable(f):
                raise TypeError(f"{self.name}.{where}: rule {k} must be a function (or None for "
                                f"an input without one), got {type(f).__name__} {f!r}")
        if len(argnums) != len(rules):
            raise ValueError(f"{self.name}.{where}: {len(rules)} rule(s) for {len(argnums)} "
                             f"argnums {argnums}; give one rule per input position")
        for i in argnums:
            if (isinstance(i, bool) or not isinstance(i, int)
                    or not 0 <= i < (self.n_inputs if self.n_inputs is not None else i + 1)):
                inputs = "a variable number of" if self.n_inputs is None else self.n_inputs
                raise ValueError(f"{self.name}.{where}: input position {i!r} is not one of the "
                                 f"op's {inputs} array input(s)")
        return zip(argnums, rules)

    def defvjp_argnum(self, vjp):
        """Declare one VJP for all inputs: ``vjp(argnum, g, out, *inputs, **params)``.
        For variadic ops such as ``concatenate``. Returns the op; TypeError if ``vjp`` is
        not a function."""
        self._rules("defvjp_argnum", (vjp,), None)
        self.vjp_argnum = vjp
        return self

    def defjvp(self, *jvps, argnums=None):
        """Declare the forward-mode rules (Jacobian-vector products), one per input in order
        (``None`` for an input without one): the counterpart of :meth:`defvjp`.

        Each is ``jvp(t, out, *inputs, **params) -> tangent``: the output's change J·t
        caused by the tangent ``t`` of its input (``t`` has that input's shape), ``out`` the
        forward result, ``params`` the complete set of static parameters. It returns an
        array of the output's shape, or, for a ``broadcast`` op, of a shape that broadcasts
        to it (the engine broadcasts; HIPS autograd's ``defjvp`` has the same signature).
        The contributions of several inputs' tangents add up. Write JVPs as VJPs are
        written, with operators and tensorgrad functions, so that they also run on Tensors.
        For an elementwise op the VJP's formula is the JVP's, with ``t`` in place of the
        cotangent ``g``; a linear op's JVP is the op itself applied to ``t``.

        ``argnums`` selects which inputs the given JVPs are for. Used by
        :func:`tensorgrad.jvp` (and ``jacobian(strategy="forward-mode")``) when every op
        between the inputs and the outputs declares one, and checked against the VJPs,
        exactly, by ``tg.gradcheck(..., check_forward_ad=True)``. Returns the op, so it can
        be used as a decorator.
        """
        for i, f in self._rules("defjvp", jvps, argnums):
            self.jvps[i] = f
        return self

    def defjvp_argnum(self, jvp):
        """Declare one JVP for all inputs: ``jvp(argnum, t, out, *inputs, **params)``, the
        counterpart of :meth:`defvjp_argnum` (variadic ops). Returns the op; TypeError if
        ``jvp`` is not a function."""
        self._rules("defjvp_argnum", (jvp,), None)
        self.jvp_argnum = jvp
        return self

    def defkinks(self, kinks):
        """Declare where the op has kinks (points where it is continuous but not
        differentiable, such as relu at 0 or a tie of max), for :func:`tensorgrad.gradcheck`.

        ``kinks(*inputs, **params)`` returns how far each input element is from the nearest
        kink (0 at a kink, ``inf`` where there is none): an ndarray shared by all inputs, in
        the inputs' (broadcast) shape, or a tuple with one per input (None for an input
        without kinks). gradcheck names an op whose inputs its finite differences bring to a
        kink, and accepts there an analytical value between the two one-sided differences
        (a subgradient). Returns the op.

        Raises
        ------
        TypeError
            ``kinks`` is not callable.
        """
        if not callable(kinks):
            raise TypeError(f"{self.name}.defkinks: kinks must be a function of the op's inputs "
                            f"and params, got {type(kinks).__name__}")
        self.kinks = kinks
        return self

    def vjp_for(self, idx):
        """The VJP of input ``idx``, or None when the op declares none for it."""
        f = self.vjps.get(idx)
        if f is None and self.vjp_argnum is not None:
            general = self.vjp_argnum
            return lambda g, out, *ins, **params: general(idx, g, out, *ins, **params)
        return f

    def jvp_for(self, idx):
        """The JVP of input ``idx``, or None when the op declares none for it."""
        f = self.jvps.get(idx)
        if f is None and self.jvp_argnum is not None:
            general = self.jvp_argnum
            return lambda t, out, *ins, **params: general(idx, t, out, *ins, **params)
        return f

    def __repr__(self):
        return f"<tensorgrad primitive '{self.name}'>"


class _PublicOp(Op):
    """An :class:`Op` with a public signature of its own (:meth:`Op.defcall`): calling it
    calls that function. A class of its own so that an op without one calls ``bind``
    directly, with no extra layer on the recording path."""

    def __call__(self, *args, **kwargs):
        return self.call(*args, **kwargs)


def _register(op):
    """Add ``op`` to :data:`OPS`. A user's op may replace a user's op of the same name (a
    notebook cell run again); nothing replaces a built-in op."""
    old = OPS.get(op.name)
    if old is not None and old.builtin:
        raise ValueError(
            f"primitive: the name '{op.name}' belongs to the built-in op {_public_name(old)}; "
            f"give your op another name (e.g. @primitive(name='my_{op.name}'))")
    OPS[op.name] = op


def _public_name(op):
    """``tensorgrad.<name>``, or ``tensorgrad.<namespace>.<name>`` for an op of a family that
    declares a ``NAMESPACE`` (``tensorgrad.special.erf``)."""
    namespace = getattr(sys.modules.get(op.__module__), "NAMESPACE", None)
    return f"tensorgrad.{namespace}.{op.name}" if namespace else f"tensorgrad.{op.name}"


def _signature(fn):
    """(number of array inputs or None if variadic, names of the positional static
    parameters, every static parameter's default)."""
    n, names, defaults, variadic = 0, [], {}, False
    for p in inspect.signature(fn).parameters.values():
        if p.kind is p.VAR_POSITIONAL:
            variadic = True
        elif p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) and p.default is p.empty:
            n += 1
        elif p.kind is not p.VAR_KEYWORD:
            if p.kind is not p.KEYWORD_ONLY:
                names.append(p.name)
            if p.default is not p.empty:
                defaults[p.name] = p.default
    return (None if variadic else n), names, defaults


def primitive(forward=None, *, name=None, broadcast=False, differentiable=True, optional=()):
    """Declare a primitive op from its NumPy forward; add VJPs with ``op.defvjp``.

    Parameters
    ----------
    forward : callable
        ``forward(*arrays, **params) -> ndarray``. Positional parameters without defaults
        are array inputs; the others are static parameters.
    name : str, optional
        Defaults to the function's name.
    broadcast : bool
        The op broadcasts its inputs (NumPy rules); the engine sums each gradient back to its
        input's shape, and incompatible shapes raise :class:`ShapeError` naming the op.
    differentiable : bool
        False for ops whose result never requires grad (comparisons, ``sign``).
    optional : tuple of int
        Positions of array inputs that may be None (an absent input the forward and the VJPs
        handle); any other None input is refused with a TypeError naming the op.

    Returns
    -------
    Op
        Callable like the forward; records on Tensors, computes directly on ndarrays.
        Usable as ``@primitive`` or ``@primitive(name=..., broadcast=True)``.

    Raises
    ------
    ValueError
        The name is that of a built-in op (``sum``, ``exp``, ...): a user's op never
        replaces one. Declaring a user's op again under its own name replaces it.
    TypeError
        ``forward`` is not a function (``@primitive("name")``: the name is a keyword,
        ``@primitive(name="name")``), or ``name`` is not a string.
    """
    if name is not None and not isinstance(name, str):
        raise TypeError(f"primitive: name must be a string, got {type(name).__name__} {name!r}")
    options = dict(name=name, broadcast=broadcast, differentiable=differentiable,
                   optional=optional)
    if forward is None:
        return lambda f: primitive(f, **options)
    if not callable(forward):
        hint = (f"; to name the op, write @primitive(name={forward!r})"
                if isinstance(forward, str) else "")
        raise TypeError(f"primitive: forward must be a function (the op's NumPy forward), got "
                        f"{type(forward).__name__} {forward!r}{hint}")
    return Op(forward, **options)
