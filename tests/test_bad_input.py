"""Bad input to every public function: a correct result or a clear error, never garbage.

For every public op, one valid call is written down; each array argument in turn is replaced
by each bad value below (wrong types, wrong dtypes, NaN/inf, empty and 0-d arrays, odd
layouts), and each static parameter by each bad parameter value. The call must then either

- return a Tensor of a numeric dtype (no object or string arrays, no complex numbers) whose
  backward runs cleanly when its inputs require grad, or
- raise TypeError, ValueError, IndexError, NotImplementedError or a tensorgrad error whose
  message names the function.

Raw NumPy/Python errors without the function's name, other exception types (internal
crashes) and object/str results fail. ``test_the_count`` states how many calls are tried.
"""
from __future__ import annotations

import warnings

import numpy as np
import pytest

import tensorgrad as tg
from tensorgrad import functional, ops

CLEAR = (TypeError, ValueError, IndexError, NotImplementedError, tg.BackwardError)


def _x(shape=(2, 3), seed=0):
    return np.random.default_rng(seed).uniform(0.1, 0.9, size=shape)


X = _x()
PROB = _x((2, 3), 1)
IMG = _x((1, 2, 5, 5), 2)
W = _x((3, 2, 3, 3), 3)
W_T = _x((2, 3, 3, 3), 4)
SQ = _x((3, 3), 5)
POOLED = _x((1, 2, 2, 2), 6)
POOLED_AT = np.array([[[[0, 3], [11, 18]], [[6, 8], [16, 24]]]])  # as max_pool2d(IMG, 2) gives
SPD = SQ @ SQ.T + np.eye(3)

# name -> (args, kwargs): a valid call, for the ops whose valid call is not simply X for each
# array input (see _valid_call: an elementwise op added to a family needs no entry here)
SPECIAL = {
    "logical_not": ((X > 0.5,), {}), "flatten": ((X,), {"start_dim": 0, "end_dim": -1}),
    "logical_and": ((X > 0.5, X > 0.2), {}), "logical_or": ((X > 0.5, X > 0.2), {}),
    "where": ((X > 0.5, X, X), {}),
    "clip": ((X,), {"lo": 0.2, "hi": 0.8}),
    "cast": ((X,), {"dtype": np.float32}),
    "round": ((X,), {"decimals": 1}), "nan_to_num": ((X,), {"nan": 0.0, "posinf": 1.0, "neginf": -1.0}),
    "special.polygamma": ((1, X), {}),
    "sum": ((X,), {"axis": 1}), "mean": ((X,), {"axis": 1}), "max": ((X,), {"axis": 1}),
    "min": ((X,), {"axis": 1}), "logsumexp": ((X,), {"axis": 1}),
    "argmax": ((X,), {"axis": 1, "keepdims": False}), "argmin": ((X,), {"axis": 0}),
    "squeeze": ((X[None],), {"axis": 0}), "div": ((X, PROB), {"rounding_mode": "floor"}),
    "var": ((X,), {"axis": 1, "ddof": 1}), "std": ((X,), {"axis": 0, "ddof": 0}),
    "repeat": ((X,), {"repeats": 2, "axis": 1}), "tile": ((X,), {"reps": (2, 1)}),
    "softmax": ((X,), {"axis": 1}), "log_softmax": ((X,), {"axis": 1}),
    "reshape": ((X,), {"shape": (3, 2)}), "transpose": ((X,), {"axes": (1, 0)}),
    "swapaxes": ((X, 0, 1), {}), "expand_dims": ((X, 0), {}),
    "broadcast_to": ((X,), {"shape": (4, 2, 3)}), "sum_to_shape": ((X,), {"shape": (1, 3)}),
    "getitem": ((X,), {"index": (0, slice(1, 3))}),
    "index_add": ((X[0],), {"shape": (2, 3), "index": 0}),
    "matmul": ((X, X.T), {}), "linear": ((X, SQ), {}),
    "dot": ((X, X.T), {}), "tensordot": ((X, X.T), {"axes": 1}),
    "einsum": (("ij,jk->ik", X, X.T), {}), "cross": ((X, PROB), {"axisa": -1}),
    "linalg.inv": ((SQ,), {}), "linalg.solve": ((SQ, X.T), {}), "linalg.det": ((SQ,), {}),
    "linalg.slogdet": ((SQ,), {}), "linalg.matrix_power": ((SQ,), {"n": 3}),
    "linalg.cholesky": ((SPD,), {"upper": False}), "linalg.eigh": ((SPD,), {"UPLO": "L"}),
    "linalg.svd": ((X,), {"full_matrices": False}), "linalg.qr": ((X,), {"mode": "reduced"}),
    "linalg.norm": ((X,), {"ord": 2, "axis": 1}),
    "concatenate": (([X, X],), {"axis": 0}), "stack": (([X, X],), {"axis": 0}),
    "cat": (([X, X],), {"dim": 0}),
    "correlate2d": ((SQ, X), {"mode": "valid"}), "convolve2d": ((SQ, X), {"mode": "full"}),
    "conv2d": ((IMG, W), {"stride": 1, "padding": 1}),
    "conv_transpose2d": ((IMG, W_T), {"stride": 2, "padding": 1}),
    "max_pool2d": ((IMG,), {"kernel_size": 2, "dilation": 1, "ceil_mode": True}),
    "avg_pool2d": ((IMG,), {"kernel_size": 2, "ceil_mode": True, "count_include_pad": False,
                            "divisor_override": 3}),
    "max_unpool2d": ((POOLED, POOLED_AT), {"kernel_size": 2, "output_size": (5, 5)}),
    "binary_cross_entropy": ((PROB, (PROB > 0.5) * 1.0), {"weight": X[0]}),
    "binary_cross_entropy_with_logits": ((X, (PROB > 0.5) * 1.0),
                                         {"weight": X[0], "pos_weight": X[1]}),
    "mse_loss": ((X, PROB), {}),
    "l1_loss": ((X, PROB), {"reduction": "sum"}),
    "smooth_l1_loss": ((X, PROB), {"beta": 0.5}),
    "huber_loss": ((X, PROB), {"delta": 0.5}),
    "kl_div": ((X - 1, PROB), {"reduction": "batchmean", "log_target": False}),
    "cross_entropy": ((X, np.array([0, 2])), {"weight": PROB[0], "ignore_index": 0,
                                              "label_smoothing": 0.1}),
    "nll_loss": ((X, np.array([0, 2])), {"weight": PROB[0], "ignore_index": 0}),
}
SPECIAL.update({  # scans, products, rearranging, indexing and tensorgrad.signal
    "prod": ((X,), {"axis": 1}), "cumsum": ((X,), {"axis": 1}), "cumprod": ((X,), {"axis": 0}),
    "all": ((X,), {"axis": 1}), "any": ((X,), {"axis": 0}),
    "ravel": ((X,), {}), "flip": ((X,), {"axis": 1}), "fliplr": ((X,), {}), "flipud": ((X,), {}),
    "roll": ((X,), {"shift": 1, "axis": 1}), "rot90": ((X,), {"k": 1, "axes": (0, 1)}),
    "moveaxis": ((X,), {"source": 0, "destination": 1}),
    "atleast_1d": ((X,), {}), "atleast_2d": ((X,), {}), "atleast_3d": ((X,), {}),
    # pad_width positional: a huge one (60001) would ask for a result of 115 GB
    "pad": ((X, 1), {"mode": "reflect", "constant_values": 0}),
    "split": ((X,), {"indices_or_sections": 3, "axis": 1}),
    "array_split": ((X,), {"indices_or_sections": 2, "axis": 1}),
    "hsplit": ((X,), {"indices_or_sections": [1]}), "vsplit": ((X,), {"indices_or_sections": 2}),
    "dsplit": ((IMG,), {"indices_or_sections": [2]}),
    "vstack": (([X, X],), {}), "hstack": (([X, X],), {}), "dstack": (([X, X],), {}),
    "column_stack": (([X, X],), {}), "append": ((X, X), {"axis": 0}),
    "diag": ((SQ,), {"k": 1}), "diagonal": ((X,), {"offset": 1, "axis1": 0, "axis2": 1}),
    "trace": ((X,), {"offset": 0, "axis1": 0, "axis2": 1}),
    "tril": ((X,), {"k": 0}), "triu": ((X,), {"k": 1}),
    "take": ((X,), {"indices": [0, 2], "axis": 1, "mode": "raise"}),
    "take_along_axis": ((X,), {"indices": np.array([[0, 2, 1]]), "axis": 1}),
    "sort": ((X,), {"axis": 1}), "partition": ((X,), {"kth": 1, "axis": 1}),
    "signal.convolve": ((SQ, X), {"mode": "valid"}), "signal.correlate": ((X, SQ), {"mode": "same"}),
})


def _valid_call(name):
    """The op's entry in SPECIAL, else X for each of its array inputs (a primitive with no
    static parameters, such as the elementwise ops)."""
    if name in SPECIAL:
        return SPECIAL[name]
    op = tg.OPS.get(_short(name))
    if op is not None and op.call is None and op.n_inputs and not op.defaults:
        return (X,) * op.n_inputs, {}
    return None


def _short(name):
    """The function's own name: ``erf`` for ``special.erf``."""
    return name.rpartition(".")[2]


def _function(name):
    """``tg.<name>``, also for the nested ``special.erf`` and ``linalg.inv``."""
    obj = tg
    for part in name.split("."):
        obj = getattr(obj, part)
    return obj


def _public_ops():
    """The top-level ops and composites, and the nested ones as ``special.erf``. An alias
    (``mod`` of ``remainder``, ``special.expit`` of ``sigmoid``) is the same function, tried
    once under its own name."""
    names = set(ops.__all__) | set(functional.__all__)
    names |= {f"{ns}.{name}" for ns, family in ops.NAMESPACES.items() for name in family.__all__}
    return sorted(n for n in names if getattr(_function(n), "__name__", _short(n)) == _short(n))


PUBLIC_OPS = _public_ops()
VALID = {name: _valid_call(name) for name in PUBLIC_OPS if _valid_call(name) is not None}


def _nan(a):
    a = np.array(a, dtype=float)
    a.flat[0] = np.nan
    return a


def _inf(a):
    a = np.array(a, dtype=float)
    a.flat[-1] = np.inf
    return a


def _read_only(a):
    a = np.array(a)
    a.flags.writeable = False
    return a


def _negative_strides(a):
    return np.array(a)[(slice(None, None, -1),) * np.ndim(a)]


def _fortran(a):
    return np.asfortranarray(a)


def _big_endian(a):
    return np.asarray(a).astype(np.asarray(a).dtype.newbyteorder(">"))


BAD_ARRAYS = {
    "None": lambda a: None,
    "dict": lambda a: {},
    "str": lambda a: "abc",
    "object": lambda a: object(),
    "function": lambda a: len,
    "int": lambda a: np.asarray(a * 10).astype(np.int64),
    "bool": lambda a: np.asarray(a) > 0.5,
    "complex": lambda a: np.asarray(a) + 1j,
    "object array": lambda a: np.asarray(a).astype(object),
    "str array": lambda a: np.asarray(a).astype(str),
    "float16": lambda a: np.asarray(a).astype(np.float16),
    "float32": lambda a: np.asarray(a).astype(np.float32),
    "nan": _nan,
    "inf": _inf,
    "empty": lambda a: np.zeros((0,) + np.shape(a)[1:]),
    "0-d": lambda a: np.array(0.5),
    "read-only": _read_only,
    "negative strides": _negative_strides,
    "fortran order": _fortran,
    "big-endian": _big_endian,
    "nested list": lambda a: np.asarray(a).tolist(),
}

BAD_PARAMS = {
    "None": None, "str": "abc", "float": 2.5, "negative": -3, "huge": 60001,
    "object": object(), "long tuple": (1, 2, 3, 4, 5), "bool": True,
}


def _cases():
    for name, (args, kwargs) in VALID.items():
        positions = [i for i, a in enumerate(args) if isinstance(a, (np.ndarray, list))]
        for i in positions:
            for label in BAD_ARRAYS:
                yield pytest.param(name, "array", i, label, id=f"{name}-arg{i}-{label}")
        for key in kwargs:
            for label in BAD_PARAMS:
                yield pytest.param(name, "param", key, label, id=f"{name}-{key}-{label}")


CASES = list(_cases())


def _call(name, kind, where, label, requires_grad):
    args, kwargs = VALID[name]
    args, kwargs = list(args), dict(kwargs)
    if kind == "array":
        original = args[where]
        if isinstance(original, list):  # a sequence argument: replace its first element
            args[where] = [BAD_ARRAYS[label](original[0])] + original[1:]
        else:
            args[where] = BAD_ARRAYS[label](original)
    else:
        kwargs[where] = BAD_PARAMS[label]

    def wrap(a):
        if (requires_grad and isinstance(a, np.ndarray) and a.dtype.kind == "f"
                and a.dtype.isnative):
            return tg.tensor(a, requires_grad=True)
        return a

    args = [[wrap(e) for e in a] if isinstance(a, list) else wrap(a) for a in args]
    return _function(name)(*args, **kwargs)


def _check(name, kind, where, label, requires_grad):
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # warnings are allowed; errors are judged below
            out = _call(name, kind, where, label, requires_grad)
            # a decomposition's tuple, split's list
            outs = tuple(out) if isinstance(out, (tuple, list)) else (out,)
            for o in outs:
                if isinstance(o, tg.Tensor) and o.requires_grad:
                    o.backward(np.ones(o.shape, dtype=o.dtype), retain_graph=True)
    except CLEAR as e:
        message, name = str(e), _short(name)
        assert name in message or name.replace("_", " ") in message, (
            f"{type(e).__name__} without the function's name: {message}")
        return
    except Exception as e:  # an internal crash
        pytest.fail(f"{name}: {type(e).__name__}: {e}")
    for o in outs:
        assert isinstance(o, tg.Tensor), f"{name} returned {type(o).__name__}"
        assert o.dtype.kind in "biuf", f"{name} returned a tensor of dtype {o.dtype}"


@pytest.mark.parametrize(("name", "kind", "where", "label"), CASES)
def test_bad_input_gives_a_result_or_a_clear_error(name, kind, where, label):
    _check(name, kind, where, label, requires_grad=False)
    _check(name, kind, where, label, requires_grad=True)


def test_every_public_op_has_a_valid_call():
    missing = sorted(set(PUBLIC_OPS) - set(VALID))
    assert not missing, f"public ops with no valid call (add them to SPECIAL): {missing}"
    assert not set(SPECIAL) - set(PUBLIC_OPS), "SPECIAL names ops that do not exist"


def test_the_count():
    """The number of calls tried (each case runs without and with requires_grad)."""
    assert len(CASES) > 1000


# -- creation functions and Tensor methods: each argument in turn replaced by a bad value ------

CREATION = {
    "zeros": ((2, 3), {"dtype": np.float32}), "ones": ((2,), {"requires_grad": True}),
    "empty": (((2, 3),), {}), "full": (((2,), 1.5), {}), "eye": ((2, 3), {}),
    "zeros_like": ((X,), {"dtype": np.float32}), "ones_like": ((X,), {}),
    "full_like": ((X, 2.0), {}), "arange": ((0, 5, 2), {}), "linspace": ((0.0, 1.0, 5), {}),
    "rand": ((2, 3), {"rng": 0}), "randn": ((4,), {"rng": 0, "dtype": np.float32}),
    "randint": ((0, 10, (3,)), {"rng": 0}),
}

# method -> (args, kwargs, the op it runs, which may name the error instead)
METHODS = {
    "view": ((3, 2), {}, "reshape"), "permute": ((1, 0), {}, "transpose"),
    "unsqueeze": ((0,), {}, "expand_dims"), "squeeze": ((), {"dim": 0}, "squeeze"),
    "expand": ((4, 2, 3), {}, "broadcast_to"), "flatten": ((0, 1), {}, "flatten"),
    "argmax": ((), {"dim": 1, "keepdim": True}, "argmax"),
    "argmin": ((0,), {}, "argmin"), "max": ((1,), {"keepdim": True}, "max"),
    "min": ((), {"dim": 0}, "min"), "sum": ((), {"dim": 1, "keepdim": True}, "sum"),
    "mean": ((), {"dim": 0}, "mean"), "var": ((), {"dim": 1, "correction": 0}, "var"),
    "std": ((0,), {"ddof": 1}, "std"), "repeat": ((2,), {"axis": 1}, "repeat"),
    "tile": ((2, 1), {}, "tile"), "transpose": ((1, 0), {}, "transpose"),
    "softmax": ((), {"dim": 1}, "softmax"), "to": ((np.float32,), {}, "cast"),
    "size": ((1,), {}, "size"),
}


def _argument_cases(table):
    for name, (args, kwargs, *_) in table.items():
        for i in range(len(args)):
            for label in BAD_PARAMS:
                yield pytest.param(name, i, label, id=f"{name}-arg{i}-{label}")
        for key in kwargs:
            for label in BAD_PARAMS:
                yield pytest.param(name, key, label, id=f"{name}-{key}-{label}")


def _with_bad(args, kwargs, where, label):
    args, kwargs = list(args), dict(kwargs)
    if isinstance(where, int):
        args[where] = BAD_PARAMS[label]
    else:
        kwargs[where] = BAD_PARAMS[label]
    return args, kwargs


def _judge(call, names):
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out = call()
    except (*CLEAR, ZeroDivisionError) as e:
        assert any(n in str(e) for n in names), (
            f"{type(e).__name__} without the function's name: {e}")
        return
    except Exception as e:  # an internal crash
        pytest.fail(f"{names[0]}: {type(e).__name__}: {e}")
    for t in out if isinstance(out, tuple) else (out,):
        if isinstance(t, tg.Tensor):
            assert t.dtype.kind in "biuf", f"{names[0]} returned a tensor of dtype {t.dtype}"


@pytest.mark.parametrize(("name", "where", "label"), list(_argument_cases(CREATION)))
def test_creation_bad_argument_gives_a_result_or_a_clear_error(name, where, label):
    args, kwargs = _with_bad(*CREATION[name], where, label)
    _judge(lambda: getattr(tg, name)(*args, **kwargs), (name,))


@pytest.mark.parametrize(("name", "where", "label"), list(_argument_cases(METHODS)))
def test_method_bad_argument_gives_a_result_or_a_clear_error(name, where, label):
    base, kwargs, op = METHODS[name]
    args, kwargs = _with_bad(base, kwargs, where, label)
    t = tg.tensor(X, requires_grad=True)
    _judge(lambda: getattr(t, name)(*args, **kwargs), (name, op))


def test_every_creation_function_has_a_bad_input_call():
    assert set(CREATION) == set(tg.creation.__all__)


# -- the engine, layers, optimisers and data: named cases -----------------------------------

def _leaf():
    return tg.tensor([1.0, 2.0, 3.0], requires_grad=True)


def _read_only_step():
    layer = tg.nn.Linear(2, 2, rng=0)
    layer(tg.tensor(np.ones((1, 2)))).sum().backward()
    for p in layer.parameters():
        p.data.flags.writeable = False
    tg.optim.SGD(layer.parameters(), lr=0.1).step()


NAMED = [
    ("grad of None inputs", lambda: tg.grad((_leaf() * 2).sum(), None), TypeError,
     r"grad: inputs must be a Tensor or a non-empty list/tuple of Tensors, got None"),
    ("grad of None outputs", lambda: tg.grad(None, [_leaf()]), TypeError,
     r"grad: outputs must be"),
    ("concatenate of None", lambda: tg.concatenate(None), TypeError,
     r"concatenate: seq must be a list or tuple"),
    ("concatenate of nothing", lambda: tg.concatenate([]), ValueError, r"concatenate: seq is empty"),
    ("stack of a str", lambda: tg.stack("abc"), TypeError, r"stack: seq must be"),
    ("gradcheck of None", lambda: tg.gradcheck(tg.exp, None), TypeError, r"gradcheck: inputs"),
    ("gradcheck eps=0", lambda: tg.gradcheck(tg.exp, [_leaf()], eps=0), ValueError,
     r"gradcheck: eps must be a finite number > 0"),
    ("reshape(2.0, 3)", lambda: tg.tensor(np.ones(6)).reshape(2.0, 3), TypeError,
     r"reshape: 'float' object cannot be interpreted as an integer .*shape=\(2\.0, 3\)"),
    ("softmax axis=1.0", lambda: tg.softmax(np.ones((2, 3)), axis=1.0), TypeError,
     r"softmax: axis must be an int, got 1\.0"),
    ("x + 'a'", lambda: _leaf() + "a", TypeError, r"add: input 1 must be a Tensor, an array or "
                                                   r"a number, got str"),
    ("sum(None)", lambda: tg.sum(None), TypeError, r"sum: input 0 must be"),
    ("max({})", lambda: tg.max({}), TypeError, r"max: input 0 must be"),
    ("reshape('abc')", lambda: tg.reshape("abc"), TypeError, r"reshape: input 0 must be"),
    ("flatten(object())", lambda: tg.flatten(object()), TypeError, r"flatten: input 0 must be"),
    ("tensor('abc')", lambda: tg.tensor("abc"), TypeError, r"tensor: data must be numbers"),
    ("load_mnist(123)", lambda: tg.data.load_mnist(123), TypeError,
     r"load_mnist: path must be None, a str or an os.PathLike, got int"),
    ("minibatches batch_size=0", lambda: list(tg.data.minibatches(np.ones(4), batch_size=0)),
     ValueError, r"minibatches: batch_size must be >= 1"),
    ("Linear(2.5, 3)", lambda: tg.nn.Linear(2.5, 3), ValueError,
     r"Linear: in_features must be a positive int"),
    ("SGD(lr=-1)", lambda: tg.optim.SGD([_leaf()], lr=-1), ValueError,
     r"SGD: invalid learning rate"),
    ("SGD(None)", lambda: tg.optim.SGD(None, lr=0.1), TypeError, r"SGD: params must be"),
    ("AdamW(betas=0.9)", lambda: tg.optim.AdamW([_leaf()], betas=0.9), ValueError,
     r"AdamW: betas must be a pair \(beta1, beta2\), got 0\.9"),
    ("RMSprop(momentum=-1)", lambda: tg.optim.RMSprop([_leaf()], momentum=-1), ValueError,
     r"RMSprop: invalid momentum -1"),
    ("StepLR(step_size=0)", lambda: tg.optim.lr_scheduler.StepLR(
        tg.optim.SGD([_leaf()]), step_size=0), ValueError,
     r"StepLR: expected a positive integer step_size, got 0"),
    ("DataLoader(batch_size=0)", lambda: tg.data.DataLoader(tg.data.TensorDataset(np.ones(4)),
                                                            batch_size=0), ValueError,
     r"DataLoader: batch_size must be >= 1, got 0"),
    ("SGD.step on a read-only parameter", _read_only_step, ValueError,
     r"SGD\.step: params\[0\]: this tensor's data is a read-only array"),
]


@pytest.mark.parametrize(("label", "call", "error", "match"), NAMED, ids=[c[0] for c in NAMED])
def test_named_bad_input_gives_a_clear_error(label, call, error, match):
    with pytest.raises(error, match=match):
        call()


@pytest.mark.parametrize("op", [tg.sigmoid, tg.tanh, tg.exp, tg.relu, tg.softmax])
def test_float16_stays_float16(op):
    x = np.array([-1.0, 0.0, 2.0], dtype=np.float16)
    out = op(x)
    assert out.dtype == np.float16
    np.testing.assert_allclose(out.data, op(x.astype(np.float64)).data, rtol=2e-3, atol=1e-3)
