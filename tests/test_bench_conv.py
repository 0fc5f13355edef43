"""benchmarks/bench_conv.py: the "products alone" case makes the products of tg.conv2d's
kernels, on image 0's operands for every image."""
import sys
from pathlib import Path

import numpy as np

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
