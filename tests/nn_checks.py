"""Equality up to rounding, shared by the tg.nn tests (against torch and hand-computed values)."""
import numpy as np

import tensorgrad as tg


def close(actual, expected, rel=1e-12):
    """Values equal up to rounding: atol scaled by the largest expected magnitude."""
    actual = actual.data if isinstance(actual, tg.Tensor) else np.asarray(actual)
    expected = np.asarray(expected)
    scale = max(float(np.max(np.abs(expected), initial=0.0)), 1.0)
    np.testing.assert_allclose(actual, expected, rtol=0, atol=rel * scale * 10)
