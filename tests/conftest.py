"""Test configuration: hypothesis profiles, and the ``torch`` fixture (PyTorch, or the
test skips where it is not installed).

``ci`` (the default) is derandomised: the same examples on every run and machine, no
deadline (a shared runner's timing is no signal). ``dev`` draws fresh random examples, more
of them, for local exploration: ``HYPOTHESIS_PROFILE=dev pytest``.
"""
import os
import sys

import pytest
from hypothesis import HealthCheck, settings

sys.path.insert(0, os.path.dirname(__file__))  # `import op_specs` from any working directory

settings.register_profile(
    "ci", derandomize=True, deadline=None, max_examples=30, print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
settings.register_profile(
    "dev", deadline=None, max_examples=200, print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture
def torch():
    """PyTorch, for the tests that compare with it; they skip where it is not installed."""
    return pytest.importorskip("torch")
