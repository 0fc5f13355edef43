"""The structure the package promises: complete static parameters on every node, one name per
op, a user's op never replacing a built-in, and modules that import only from the layers below."""
import ast
import pathlib

import numpy as np
import pytest

import tensorgrad as tg

PACKAGE = pathlib.Path(tg.__file__).parent


# -- complete static parameters (JAX's bind) ---------------------------------------------------

def test_a_node_records_the_complete_static_parameters():
    x, k = tg.tensor(np.ones((3, 3)), requires_grad=True), np.ones((2, 2))
    assert tg.correlate2d(x, k).grad_fn.params == {"mode": "full", "boundary": "fill",
                                                   "fillvalue": 0}
    assert tg.correlate2d(x, k, "valid").grad_fn.params["mode"] == "valid"
    assert tg.sum(x).grad_fn.params == {"axis": None, "keepdims": False}


def test_a_users_vjp_receives_the_defaults_it_did_not_repeat():
    @tg.primitive(broadcast=True)
    def huber_arch(p, t, delta=1.0):
        r = np.abs(p - t)
        return np.where(r <= delta, 0.5 * r**2, delta * (r - 0.5 * delta))

    def dp(g, out, p, t, delta):
        r = p - t
        return g * tg.clip(r, lo=-delta, hi=delta)

    huber_arch.defvjp(dp, lambda g, out, p, t, delta: -dp(g, out, p, t, delta))
    p = tg.tensor([0.3, -2.0, 4.0], requires_grad=True)
    t = tg.tensor([0.0, 0.5, 1.0], requires_grad=True)
    assert tg.gradcheck(huber_arch, [p, t])
    huber_arch(p, t).sum().backward()
    np.testing.assert_allclose(p.grad.data, [0.3, -1.0, 1.0], rtol=1e-15)


def test_an_error_inside_a_users_vjp_names_the_op():
    @tg.primitive
    def broken_arch(x):
        return x * 2

    broken_arch.defvjp(lambda g, out, x: g * undefined_name)  # noqa: F821
    y = broken_arch(tg.tensor([1.0], requires_grad=True)).sum()
    with pytest.raises(tg.BackwardError, match=r"'broken_arch' for input 0 raised NameError"):
        y.backward()


# -- one name per op ----------------------------------------------------------------------------

def test_public_functions_are_the_registered_ops():
    for name in ("stack", "concatenate", "binary_cross_entropy", "sum", "exp", "conv2d"):
        assert tg.OPS[name] is getattr(tg, name), name
    assert not [n for n in tg.OPS if n.endswith("_") or n.endswith("_elementwise")]


def test_graph_names_are_the_user_facing_names():
    x = tg.tensor([0.2, 0.7], requires_grad=True)
    assert tg.stack([x, x]).grad_fn.name == "stack"
    assert tg.concatenate([x, x]).grad_fn.name == "concatenate"
    loss = tg.binary_cross_entropy(x, np.array([0.0, 1.0]), reduction="none")
    assert loss.grad_fn.name == "binary_cross_entropy"


def test_a_users_op_cannot_replace_a_builtin():
    with pytest.raises(ValueError, match="built-in op tensorgrad.sum"):
        @tg.primitive
        def sum(x):  # noqa: A001
            return np.sum(x)
    assert tg.OPS["sum"] is tg.sum


def test_redefining_ones_own_op_replaces_it():
    for factor in (2.0, 3.0):  # a notebook cell run twice
        @tg.primitive
        def scale_arch(x, factor=factor):
            return x * factor
        scale_arch.defvjp(lambda g, out, x, factor: g * factor)
    assert tg.OPS["scale_arch"] is scale_arch
    x = tg.tensor([1.0], requires_grad=True)
    scale_arch(x).backward(np.ones(1))
    assert x.grad.data[0] == 3.0


def test_the_namespace_is_built_from_the_families():
    from tensorgrad import functional, ops
    for family in ops.FAMILIES:
        for name in family.__all__:
            assert getattr(tg, name) is getattr(family, name)
            assert name in tg.__all__
    assert set(functional.__all__) <= set(tg.__all__)


def test_nested_families_are_public_in_their_namespace_only():
    import tensorgrad.special
    from tensorgrad import ops
    assert ops.NAMESPACES["special"] is ops.special and tg.special is tensorgrad.special
    for namespace, family in ops.NAMESPACES.items():
        for name in family.__all__:
            assert getattr(getattr(tg, namespace), name) is getattr(family, name)
            assert name not in tg.__all__ and not hasattr(tg, name), name  # as SciPy nests it


# -- layers --------------------------------------------------------------------------------------

LAYERS = ["errors", "defaults", "tensor", "state", "escapes", "inputs", "versions", "autograd",
          "anomaly", "registry", "ops", "special", "linalg", "signal", "functional", "creation",
          "tensor_methods", "numpy_dispatch", "forward", "transforms", "viz"]


def _tensorgrad_imports(path):
    """The tensorgrad modules a file imports, at any depth of the file (functions included)."""
    tree = ast.parse(path.read_text())
    here = path.relative_to(PACKAGE).with_suffix("").parts
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level:
            base = list(here[: len(here) - node.level])
            target = base + (node.module.split(".") if node.module else [])
            names = [target] if node.module else [target + [a.name] for a in node.names]
            for t in names:
                if t:
                    found.add(t[0])
    return found


@pytest.mark.parametrize("layer", LAYERS)
def test_each_layer_imports_only_from_below(layer):
    below = set(LAYERS[: LAYERS.index(layer)])
    files = sorted((PACKAGE / layer).rglob("*.py")) if (PACKAGE / layer).is_dir() \
        else [PACKAGE / f"{layer}.py"]
    for path in files:
        above = {m for m in _tensorgrad_imports(path) if m in LAYERS} - below - {layer}
        assert not above, f"{path.relative_to(PACKAGE)} imports {sorted(above)} from above it"


def test_subpackages_are_attributes_imported_on_first_use():
    import subprocess
    import sys
    code = ("import sys, tensorgrad as tg\n"
            "assert 'tensorgrad.data' not in sys.modules and 'hypothesis' not in sys.modules\n"
            "assert callable(tg.data.load_mnist) and callable(tg.compare.gradients)\n"
            "assert tg.reference.Dense and tg.testing.check_op\n"
            "assert 'hypothesis' in sys.modules\n")
    subprocess.run([sys.executable, "-c", code], check=True)
