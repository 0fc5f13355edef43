"""benchmarks/bench_conv.py: the "products alone" case makes the products of tg.conv2d's
kernels, on image 0's operands for every image."""
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))

import bench_conv  # noqa: E402

from tensorgrad.ops import _conv_kernels as kernels  # noqa: E402


def test_products_alone_are_the_kernels_products_of_image_0():
    x, w, _, g, _ = bench_conv._batched_data()
    y, dw = bench_conv._products_alone(x, w, g)()
    unit, pad = (1, 1), (1, 1, 1, 1)
    y0 = kernels.correlate_nchw(x[:1], w, unit, pad, unit, 1, route="blocks")
    np.testing.assert_array_equal(y, np.broadcast_to(y0, y.shape))
    dw0 = kernels.weight_grad_nchw(x[:1], g[:1], w.shape[2:], unit, pad, unit, 1, route="flat")
    dw = dw.reshape(dw.shape[1:3] + dw.shape[4:]).transpose(2, 3, 0, 1)
    # N float32 sums of one image's gradient: rounding grows with N and the entries' size
    scale = np.abs(dw0).max() * bench_conv.N
    np.testing.assert_allclose(dw, bench_conv.N * dw0, rtol=0, atol=1e-5 * scale)


def test_the_products_alone_get_no_copy_for_a_baseline_tree(monkeypatch, tmp_path):
    # they call this tree's kernel internals, which an older tree may lack
    (tmp_path / "tensorgrad").mkdir()
    seen = {}

    def measure(systems, *args, **kwargs):
        seen["cases"] = [cid for s in systems for cid in s.cases]
        raise RuntimeError("stop")

    monkeypatch.setattr(bench_conv.harness, "measure", measure)
    monkeypatch.setattr(bench_conv.harness, "torch_installed", lambda: False)
    with pytest.raises(RuntimeError, match="stop"):
        bench_conv.batched_float32(1, 1, baseline=(tmp_path, "old"))
    assert bench_conv.PRODUCTS in seen["cases"]
    assert "tg.conv2d @ old" in seen["cases"]
    assert not any(c.startswith(bench_conv.PRODUCTS + " @") for c in seen["cases"])
