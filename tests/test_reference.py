"""Tests of tensorgrad.reference: the hand-derived NumPy/SciPy layers.

Real values only; every gradient is checked against central finite differences
in float64 or against hand-computed numbers.
"""

import ast
import inspect
import pathlib
import re
import subprocess
import sys
import warnings

import numpy as np
import pytest

import tensorgrad.reference as ref

PACKAGE_DIR = pathlib.Path(ref.__file__).parent


# ---------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------

def numerical_gradient(f, arr, eps=1e-6):
    """Central finite differences of the scalar ``f()`` w.r.t. ``arr`` (perturbed in place)."""
    grad = np.zeros_like(arr, dtype=np.float64)
    flat = arr.reshape(-1)  # a view: arr is contiguous
    assert np.shares_memory(flat, arr)
    for idx in range(flat.size):
        orig = flat[idx]
        flat[idx] = orig + eps
        f_plus = f()
        flat[idx] = orig - eps
        f_minus = f()
        flat[idx] = orig
        grad.reshape(-1)[idx] = (f_plus - f_minus) / (2 * eps)
    return grad


def sliding_window_conv(x, kernels, bias):
    """Y[i,u,v] = B[i,u,v] + sum_{j,a,b} X[j,u+a,v+b] K[i,j,a,b], via einsum over windows."""
    k = kernels.shape[-1]
    windows = np.lib.stride_tricks.sliding_window_view(x, (k, k), axis=(1, 2))
    return np.einsum("juvab,ijab->iuv", windows, kernels) + bias


def hand_loop_conv(x, kernels, bias):
    d, n, k, _ = kernels.shape
    _, h, w = x.shape
    out = np.zeros((d, h - k + 1, w - k + 1))
    for i in range(d):
        for u in range(h - k + 1):
            for v in range(w - k + 1):
                total = bias[i, u, v]
                for j in range(n):
                    for a in range(k):
                        for b in range(k):
                            total += x[j, u + a, v + b] * kernels[i, j, a, b]
                out[i, u, v] = total
    return out


def notebook_network(rng):
    return [
        ref.Convolution((1, 28, 28), 3, 5, rng=rng),
        ref.Sigmoid(),
        ref.Convolution((5, 26, 26), 3, 5, rng=rng),
        ref.Sigmoid(),
        ref.Reshape((5, 24, 24), (5 * 24 * 24, 1)),
        ref.Dense(2880, 100, rng=rng),
        ref.Sigmoid(),
        ref.Dense(100, 2, rng=rng),
        ref.Sigmoid(),
    ]


# ---------------------------------------------------------------------------
# independence
# ---------------------------------------------------------------------------

def test_package_imports_only_numpy_scipy_stdlib_and_itself():
    sources = sorted(PACKAGE_DIR.glob("*.py"))
    siblings = {path.stem for path in sources}
    allowed = {"numpy", "scipy"} | set(sys.stdlib_module_names)
    assert {"__init__", "layers", "losses"} <= siblings
    for path in sources:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level:
                # only a sibling module: `from . import x` or `from .x import y`
                assert node.level == 1, (path.name, node.module)
                names = [node.module] if node.module else [a.name for a in node.names]
                assert set(names) <= siblings, (path.name, names)
            elif isinstance(node, ast.ImportFrom):
                assert node.module.split(".")[0] in allowed, (path.name, node.module)
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    assert alias.name.split(".")[0] in allowed, (path.name, alias.name)


def test_package_loads_standalone_without_tensorgrad():
    # load the folder as a package of another name: a tensorgrad import would show in sys.modules
    code = (
        "import importlib.util, sys\n"
        "spec = importlib.util.spec_from_file_location(\n"
        f"    'standalone_reference', {str(PACKAGE_DIR / '__init__.py')!r},\n"
        f"    submodule_search_locations=[{str(PACKAGE_DIR)!r}])\n"
        "mod = importlib.util.module_from_spec(spec)\n"
        "sys.modules['standalone_reference'] = mod\n"
        "spec.loader.exec_module(mod)\n"
        "leaked = [m for m in sys.modules if m.split('.')[0] == 'tensorgrad']\n"
        "assert not leaked, leaked\n"
        "assert mod.Dense.__module__ == 'standalone_reference.layers'\n"
        "y = mod.Sigmoid().forward(mod.Dense(2, 1, rng=0).forward([[1.0], [2.0]]))\n"
        "print(y.shape, mod.binary_cross_entropy([[1.0]], [[1.0]]))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            cwd=str(PACKAGE_DIR), timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "(1, 1) 0.0"


def test_public_names_have_docstrings():
    for name in ref.__all__:
        obj = getattr(ref, name)
        if inspect.isclass(obj) or inspect.isfunction(obj):
            assert obj.__doc__ and obj.__doc__.strip(), name
            if inspect.isclass(obj):
                for meth in ("forward", "backward"):
                    if hasattr(obj, meth):
                        assert getattr(obj, meth).__doc__, f"{name}.{meth}"


# ---------------------------------------------------------------------------
# Dense
# ---------------------------------------------------------------------------

def test_dense_golden_gradients_use_pre_update_weights():
    layer = ref.Dense(2, 1, rng=0)
    layer.weights = np.array([[1.0, 2.0]])
    layer.bias = np.array([[0.0]])
    x = np.array([[1.0], [1.0]])
    out = layer.forward(x)
    np.testing.assert_array_equal(out, [[3.0]])
    dx = layer.backward(np.array([[1.0]]), 0.1)
    np.testing.assert_array_equal(dx, [[1.0], [2.0]])  # not [[0.9], [1.9]]
    np.testing.assert_array_equal(layer.weights_gradient, [[1.0, 1.0]])
    np.testing.assert_array_equal(layer.bias_gradient, [[1.0]])
    np.testing.assert_allclose(layer.weights, [[0.9, 1.9]], rtol=0, atol=1e-15)
    np.testing.assert_allclose(layer.bias, [[-0.1]], rtol=0, atol=1e-15)


def test_dense_learning_rate_zero_does_not_update():
    layer = ref.Dense(3, 2, rng=1)
    w0, b0 = layer.weights.copy(), layer.bias.copy()
    layer.forward(np.arange(3.0).reshape(3, 1))
    layer.backward(np.ones((2, 1)))
    np.testing.assert_array_equal(layer.weights, w0)
    np.testing.assert_array_equal(layer.bias, b0)
    assert layer.weights_gradient.shape == (2, 3)
    assert layer.bias_gradient.shape == (2, 1)


def test_dense_gradients_match_finite_differences():
    rng = np.random.default_rng(2)
    layer = ref.Dense(4, 3, rng=rng)
    x = rng.standard_normal((4, 1))
    g = rng.standard_normal((3, 1))

    def f():
        return float(np.sum(layer.forward(x) * g))

    layer.forward(x)
    dx = layer.backward(g)
    np.testing.assert_allclose(dx, numerical_gradient(f, x), rtol=1e-7, atol=1e-7)
    np.testing.assert_allclose(layer.weights_gradient, numerical_gradient(f, layer.weights),
                               rtol=1e-7, atol=1e-7)
    np.testing.assert_allclose(layer.bias_gradient, numerical_gradient(f, layer.bias),
                               rtol=1e-7, atol=1e-7)


def test_dense_forward_formula_and_shapes():
    layer = ref.Dense(3, 2, rng=0)
    assert layer.weights.shape == (2, 3) and layer.bias.shape == (2, 1)
    x = np.array([[1.0], [-2.0], [0.5]])
    np.testing.assert_allclose(layer.forward(x), layer.weights @ x + layer.bias)


# ---------------------------------------------------------------------------
# Convolution
# ---------------------------------------------------------------------------

def test_convolution_bias_gradient_is_upstream_gradient():
    layer = ref.Convolution((1, 4, 4), 3, 2, rng=0)
    assert layer.bias.shape == (2, 2, 2)
    layer.forward(np.random.default_rng(0).standard_normal((1, 4, 4)))
    layer.backward(np.ones((2, 2, 2)))
    np.testing.assert_array_equal(layer.bias_gradient, np.ones((2, 2, 2)))


def test_convolution_worked_example():
    # Cross-correlation of the 3x3 example with [[0, -1], [2, 1]] gives [[7, 5], [11, 3]].
    layer = ref.Convolution((1, 3, 3), 2, 1, rng=0)
    layer.kernels = np.array([[[[0.0, -1.0], [2.0, 1.0]]]])
    layer.bias = np.zeros((1, 2, 2))
    x = np.array([[[1.0, 6.0, 2.0], [5.0, 3.0, 1.0], [7.0, 0.0, 4.0]]])
    np.testing.assert_array_equal(layer.forward(x), [[[7.0, 5.0], [11.0, 3.0]]])


@pytest.mark.parametrize("shape,k,depth", [((1, 4, 4), 3, 2), ((2, 5, 6), 2, 3), ((3, 4, 5), 4, 1)])
def test_convolution_forward_matches_sliding_windows(shape, k, depth):
    rng = np.random.default_rng(3)
    layer = ref.Convolution(shape, k, depth, rng=rng)
    x = rng.standard_normal(shape)
    out = layer.forward(x)
    assert out.shape == (depth, shape[1] - k + 1, shape[2] - k + 1)
    np.testing.assert_allclose(out, sliding_window_conv(x, layer.kernels, layer.bias),
                               rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(out, hand_loop_conv(x, layer.kernels, layer.bias),
                               rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("shape,k,depth", [((1, 4, 4), 3, 2), ((2, 5, 6), 2, 3)])
def test_convolution_gradients_match_finite_differences(shape, k, depth):
    rng = np.random.default_rng(4)
    layer = ref.Convolution(shape, k, depth, rng=rng)
    x = rng.standard_normal(shape)
    g = rng.standard_normal(layer.output_shape)

    def f():
        return float(np.sum(layer.forward(x) * g))

    layer.forward(x)
    dx = layer.backward(g)
    assert dx.shape == shape
    assert layer.kernels_gradient.shape == layer.kernels.shape
    np.testing.assert_allclose(dx, numerical_gradient(f, x), rtol=1e-7, atol=1e-7)
    np.testing.assert_allclose(layer.kernels_gradient, numerical_gradient(f, layer.kernels),
                               rtol=1e-7, atol=1e-7)
    np.testing.assert_allclose(layer.bias_gradient, numerical_gradient(f, layer.bias),
                               rtol=1e-7, atol=1e-7)


def test_convolution_update_after_gradients():
    rng = np.random.default_rng(5)
    layer = ref.Convolution((2, 5, 5), 3, 2, rng=rng)
    x = rng.standard_normal((2, 5, 5))
    g = rng.standard_normal((2, 3, 3))
    k0, b0 = layer.kernels.copy(), layer.bias.copy()
    layer.forward(x)
    dx_no_update = layer.backward(g)
    kg = layer.kernels_gradient.copy()
    np.testing.assert_array_equal(layer.kernels, k0)
    layer.forward(x)
    dx = layer.backward(g, 0.5)
    np.testing.assert_array_equal(dx, dx_no_update)  # computed from the pre-update kernels
    np.testing.assert_allclose(layer.kernels, k0 - 0.5 * kg)
    np.testing.assert_allclose(layer.bias, b0 - 0.5 * g)


def test_backward_uses_saved_input_not_later_mutation():
    layer = ref.Convolution((1, 4, 4), 2, 1, rng=0)
    x = np.random.default_rng(0).standard_normal((1, 4, 4))
    x_saved = x.copy()
    layer.forward(x)
    x[...] = 0.0  # the caller reuses its buffer
    layer.backward(np.ones((1, 3, 3)))
    expected = np.einsum("juvab->jab",
                         np.lib.stride_tricks.sliding_window_view(x_saved, (2, 2), axis=(1, 2)))
    np.testing.assert_allclose(layer.kernels_gradient[0], expected)


# ---------------------------------------------------------------------------
# Reshape, Sigmoid, Activation
# ---------------------------------------------------------------------------

def test_reshape_forward_backward_and_finite_differences():
    rng = np.random.default_rng(6)
    layer = ref.Reshape((2, 3, 4), (24, 1))
    x = rng.standard_normal((2, 3, 4))
    g = rng.standard_normal((24, 1))
    np.testing.assert_array_equal(layer.forward(x), x.reshape(24, 1))

    def f():
        return float(np.sum(layer.forward(x) * g))

    dx = layer.backward(g)
    np.testing.assert_allclose(dx, numerical_gradient(f, x), rtol=1e-7, atol=1e-7)


def test_reshape_accepts_int_shapes():
    layer = ref.Reshape(6, (2, 3))
    assert layer.input_shape == (6,)
    assert layer.forward(np.arange(6.0)).shape == (2, 3)


def test_sigmoid_values_and_finite_differences():
    rng = np.random.default_rng(7)
    layer = ref.Sigmoid()
    x = rng.standard_normal((3, 2)) * 3
    g = rng.standard_normal((3, 2))
    np.testing.assert_allclose(layer.forward(x), 1 / (1 + np.exp(-x)), rtol=1e-14)

    def f():
        return float(np.sum(layer.forward(x) * g))

    layer.forward(x)
    dx = layer.backward(g)
    np.testing.assert_allclose(dx, numerical_gradient(f, x), rtol=1e-7, atol=1e-9)


def test_sigmoid_stable_for_large_inputs():
    layer = ref.Sigmoid()
    x = np.array([-1000.0, -800.0, 0.0, 800.0, 1000.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        y = layer.forward(x)
        dx = layer.backward(np.ones_like(x))
    np.testing.assert_array_equal(y, [0.0, 0.0, 0.5, 1.0, 1.0])
    np.testing.assert_array_equal(dx, [0.0, 0.0, 0.25, 0.0, 0.0])
    assert np.all(np.isfinite(dx))


def test_activation_generic():
    layer = ref.Activation(np.tanh, lambda x: 1 - np.tanh(x) ** 2)
    x = np.array([[0.0], [1.0]])
    np.testing.assert_allclose(layer.forward(x), np.tanh(x))
    np.testing.assert_allclose(layer.backward(np.array([[2.0], [1.0]])),
                               [[2.0], [1 - np.tanh(1.0) ** 2]])


# ---------------------------------------------------------------------------
# binary cross-entropy
# ---------------------------------------------------------------------------

def test_bce_at_exact_probabilities_is_finite_without_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert ref.binary_cross_entropy(np.array([0.0, 1.0]), np.array([0.0, 1.0])) == 0.0
        # a completely wrong confident prediction costs 100 per element (clamped log)
        assert ref.binary_cross_entropy(np.array([0.0, 1.0]), np.array([1.0, 0.0])) == 100.0
        prime_right = ref.binary_cross_entropy_prime(np.array([0.0, 1.0]), np.array([0.0, 1.0]))
        prime_wrong = ref.binary_cross_entropy_prime(np.array([0.0, 1.0]), np.array([1.0, 0.0]))
    np.testing.assert_array_equal(prime_right, [0.0, 0.0])
    np.testing.assert_allclose(prime_wrong, [0.5e12, -0.5e12])


def test_bce_value_matches_formula():
    y = np.array([[1.0], [0.0], [0.3]])
    p = np.array([[0.8], [0.1], [0.6]])
    expected = np.mean(-y * np.log(p) - (1 - y) * np.log(1 - p))
    assert ref.binary_cross_entropy(y, p) == pytest.approx(expected, rel=1e-14)


def test_bce_prime_matches_finite_differences_in_the_interior():
    rng = np.random.default_rng(8)
    y = rng.integers(0, 2, size=(4, 1)).astype(np.float64)
    p = rng.uniform(0.05, 0.95, size=(4, 1))
    num = numerical_gradient(lambda: ref.binary_cross_entropy(y, p), p)
    np.testing.assert_allclose(ref.binary_cross_entropy_prime(y, p), num, rtol=1e-6, atol=1e-8)
    # and equals the notebook's formula there
    np.testing.assert_allclose(ref.binary_cross_entropy_prime(y, p),
                               ((1 - y) / (1 - p) - y / p) / y.size, rtol=1e-12)


def test_bce_rejects_bad_input():
    with pytest.raises(ValueError, match="binary_cross_entropy: .*same shape"):
        ref.binary_cross_entropy(np.zeros((2, 1)), np.zeros(2))
    with pytest.raises(ValueError, match="binary_cross_entropy_prime: .*\\[0, 1\\]"):
        ref.binary_cross_entropy_prime(np.zeros(2), np.array([0.5, 1.5]))


# ---------------------------------------------------------------------------
# the notebook's network and loop
# ---------------------------------------------------------------------------

def test_notebook_network_trains_on_one_sample():
    rng = np.random.default_rng(9)
    network = notebook_network(rng)
    x = rng.random((1, 28, 28)).astype(np.float32)  # the notebook's images are float32 in [0, 1]
    y = np.array([[1.0], [0.0]])
    lr = 0.1
    losses = []
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for _ in range(6):
            output = x
            for layer in network:
                output = layer.forward(output)
            assert output.shape == (2, 1)
            losses.append(ref.binary_cross_entropy(y, output))
            grad = ref.binary_cross_entropy_prime(y, output)
            for layer in reversed(network):
                grad = layer.backward(grad, lr)
            assert grad.shape == (1, 28, 28)
    assert all(np.isfinite(losses))
    assert losses[-1] < losses[0]
    assert all(b <= a + 1e-12 for a, b in zip(losses[:-1], losses[1:], strict=True)), losses


# ---------------------------------------------------------------------------
# randomness, dtype, replaced parameters
# ---------------------------------------------------------------------------

def test_rng_seed_and_generator_are_reproducible():
    a = ref.Convolution((2, 5, 5), 3, 4, rng=123)
    b = ref.Convolution((2, 5, 5), 3, 4, rng=np.random.default_rng(123))
    np.testing.assert_array_equal(a.kernels, b.kernels)
    np.testing.assert_array_equal(a.bias, b.bias)
    assert np.all((a.bias >= 0) & (a.bias < 1))  # rand: uniform on [0, 1)
    d1, d2 = ref.Dense(5, 3, rng=7), ref.Dense(5, 3, rng=7)
    np.testing.assert_array_equal(d1.weights, d2.weights)
    assert np.all((d1.bias >= 0) & (d1.bias < 1))
    assert not np.array_equal(ref.Dense(5, 3).weights, ref.Dense(5, 3).weights)


def test_float32_dtype_stays_float32():
    conv = ref.Convolution((1, 5, 5), 3, 2, rng=0, dtype=np.float32)
    dense = ref.Dense(18, 2, rng=0, dtype=np.float32)
    assert conv.kernels.dtype == np.float32 and conv.bias.dtype == np.float32
    assert dense.weights.dtype == np.float32 and dense.bias.dtype == np.float32
    np.testing.assert_array_equal(conv.kernels, ref.Convolution((1, 5, 5), 3, 2, rng=0).kernels
                                  .astype(np.float32))
    out = conv.forward(np.ones((1, 5, 5), np.float32))
    assert out.dtype == np.float32
    h = ref.Reshape((2, 3, 3), (18, 1)).forward(out)
    assert dense.forward(h).dtype == np.float32
    assert dense.backward(np.ones((2, 1), np.float32)).dtype == np.float32
    assert conv.backward(np.ones((2, 3, 3), np.float32), 0.1).dtype == np.float32
    assert conv.kernels.dtype == np.float32


def test_replaced_parameters_are_used_and_updated_in_place():
    layer = ref.Dense(2, 2, rng=0)
    shared_w = np.eye(2)
    shared_b = np.zeros((2, 1))
    layer.weights, layer.bias = shared_w, shared_b
    np.testing.assert_array_equal(layer.forward(np.array([[3.0], [4.0]])), [[3.0], [4.0]])
    layer.backward(np.array([[1.0], [0.0]]), 1.0)
    np.testing.assert_array_equal(shared_w, [[-2.0, -4.0], [0.0, 1.0]])
    np.testing.assert_array_equal(shared_b, [[-1.0], [0.0]])


# ---------------------------------------------------------------------------
# bad input
# ---------------------------------------------------------------------------

def test_convolution_wrong_input_shape():
    layer = ref.Convolution((1, 28, 28), 3, 5, rng=0)
    with pytest.raises(ValueError, match=r"Convolution: .*\(1, 28, 28\).*\(2, 28, 28\)"):
        layer.forward(np.zeros((2, 28, 28)))
    with pytest.raises(ValueError, match="Convolution: .*unbatched"):
        layer.forward(np.zeros((4, 1, 28, 28)))
    layer.forward(np.zeros((1, 28, 28)))
    with pytest.raises(ValueError, match=r"Convolution: .*output_gradient.*\(5, 26, 26\)"):
        layer.backward(np.zeros((5, 28, 28)))


def test_convolution_bad_construction():
    with pytest.raises(ValueError, match="Convolution"):
        ref.Convolution((28, 28), 3, 5)
    with pytest.raises(ValueError, match="Convolution"):
        ref.Convolution((1, 2, 2), 3, 5)
    with pytest.raises(ValueError, match="Convolution"):
        ref.Convolution((1, 5, 5), 3, 0)
    with pytest.raises(TypeError, match="Convolution"):
        ref.Convolution((1, 5, 5), 3, 1, dtype=np.int64)


def test_dense_wrong_input_shape():
    layer = ref.Dense(3, 2, rng=0)
    with pytest.raises(ValueError, match=r"Dense: .*\(3, 1\).*\(3,\)"):
        layer.forward(np.zeros(3))
    with pytest.raises(ValueError, match=r"Dense: .*\(3, 1\).*\(4, 1\)"):
        layer.forward(np.zeros((4, 1)))
    layer.forward(np.zeros((3, 1)))
    with pytest.raises(ValueError, match=r"Dense: .*output_gradient"):
        layer.backward(np.zeros(2))
    layer.weights = np.zeros((3, 2))
    with pytest.raises(ValueError, match=r"Dense: .*weights.*\(2, 3\).*\(3, 2\)"):
        layer.forward(np.zeros((3, 1)))


def test_reshape_wrong_sizes():
    with pytest.raises(ValueError, match=r"Reshape: .*5\*24\*24 = 2880.*600"):
        ref.Reshape((5, 24, 24), 600)
    layer = ref.Reshape((5, 24, 24), (2880, 1))
    with pytest.raises(ValueError, match=r"Reshape: .*\(5, 24, 24\).*\(5, 26, 26\)"):
        layer.forward(np.zeros((5, 26, 26)))


def test_backward_before_forward_and_activation_shape():
    with pytest.raises(RuntimeError, match="Dense"):
        ref.Dense(2, 2, rng=0).backward(np.zeros((2, 1)))
    s = ref.Sigmoid()
    s.forward(np.zeros((2, 1)))
    with pytest.raises(ValueError, match="Sigmoid"):
        s.backward(np.zeros((1, 2)))


@pytest.mark.parametrize("make,x", [
    (lambda: ref.Convolution((1, 4, 4), 3, 2, rng=0), np.ones((1, 4, 4))),
    (lambda: ref.Reshape((2, 3), (6, 1)), np.ones((2, 3))),
    (lambda: ref.Dense(3, 2, rng=0), np.ones((3, 1))),
    (lambda: ref.Sigmoid(), np.ones((2, 2))),
])
def test_every_backward_checks_its_gradient_the_same_way(make, x):
    layer = make()
    name = type(layer).__name__
    with pytest.raises(RuntimeError, match=f"{name}: backward called before forward"):
        layer.backward(np.ones((1, 1)))
    out = layer.forward(x)
    batch = np.ones((1,) + out.shape)
    expected = (f"{name}: expected output_gradient of shape {out.shape}, got {batch.shape} "
                f"(reference layers are unbatched")
    with pytest.raises(ValueError, match=re.escape(expected)):
        layer.backward(batch)
    with pytest.raises(TypeError, match=f"{name}: output_gradient must hold real numbers"):
        layer.backward(np.full(out.shape, "a"))
    # bool and int gradients are taken as float64
    dx = layer.backward(np.ones(out.shape, dtype=np.int64))
    assert dx.dtype == np.float64 and dx.shape == x.shape
    np.testing.assert_array_equal(dx, layer.backward(np.ones(out.shape)))
