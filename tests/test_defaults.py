"""The process-wide defaults: the default dtype and the default generator."""
import numpy as np
import pytest

import tensorgrad as tg
from tensorgrad._random import as_generator


@pytest.fixture
def restore_dtype():
    yield
    tg.set_default_dtype(np.float64)


def test_python_floats_take_the_default_dtype_and_arrays_keep_theirs(restore_dtype):
    assert tg.tensor(0.5).dtype == np.float64 and tg.tensor([1.0, 2.0]).dtype == np.float64
    tg.set_default_dtype(np.float32)
    assert tg.get_default_dtype() == np.float32
    assert tg.tensor(0.5).dtype == np.float32 and tg.tensor([[1.0], [2.0]]).dtype == np.float32
    assert tg.tensor(np.ones(2)).dtype == np.float64          # an array keeps its dtype
    assert tg.tensor(np.float64(2.0)).dtype == np.float64      # so does a NumPy scalar
    assert tg.tensor([1, 2]).dtype == np.int64                 # ints stay ints
    assert tg.tensor(0.5, dtype=np.float64).dtype == np.float64
    w = tg.tensor(np.ones(3, np.float32), requires_grad=True)
    assert (w * tg.tensor(0.5)).dtype == np.float32            # a float32 run stays float32


@pytest.mark.parametrize("bad", [np.int32, np.float16, "complex128", "nope", None])
def test_set_default_dtype_refuses_other_dtypes(bad):
    with pytest.raises(TypeError, match="set_default_dtype: dtype must be float32 or float64"):
        tg.set_default_dtype(bad)
    assert tg.get_default_dtype() == np.float64


def test_manual_seed_reseeds_the_generator_used_without_rng():
    tg.manual_seed(3)
    a = as_generator(None, "f").standard_normal(4)
    tg.manual_seed(3)
    b = as_generator(None, "f").standard_normal(4)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(a, np.random.default_rng(3).standard_normal(4))
    assert as_generator(None, "f") is tg.default_generator()


@pytest.mark.parametrize("bad", [-1, 1.5, "1", True, None])
def test_manual_seed_refuses_what_is_not_a_seed(bad):
    with pytest.raises(TypeError, match="manual_seed: seed must be a non-negative int"):
        tg.manual_seed(bad)


def test_dtypes_under_pytorchs_names_are_numpys():
    assert tg.float32 is np.float32 and tg.float64 is np.float64 and tg.int64 is np.int64
    assert tg.double is np.float64 and tg.long is np.int64
    assert tg.tensor([1.5], dtype=tg.float32).dtype == np.float32
    assert "long" not in tg.__all__   # not exported by `from tensorgrad import *`
