"""Names available to the docstring examples run by ``pytest --doctest-modules``."""
import numpy as np
import pytest

import tensorgrad as tg


@pytest.fixture(autouse=True)
def _doctest_names(doctest_namespace):
    doctest_namespace["np"] = np
    doctest_namespace["tg"] = tg
