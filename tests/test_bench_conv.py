"""benchmarks/bench_conv.py: the "products alone" case makes the products of tg.conv2d's
kernels, on image 0's operands for every image; the "layouts alone" case makes their layouts
(its fold gives image 0's input gradient)."""
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


def test_layouts_alone_fold_image_0_and_sum_the_bias_gradient():
    x, w, b, g, _ = bench_conv._batched_data()
    dx, db = bench_conv._layouts_alone(x, w, b, g)()
    unit, pad = (1, 1), (1, 1, 1, 1)
    dx0 = kernels.conv_transpose_nchw(g[:1], w, x.shape[2:], unit, pad, unit, 1, route="fold")
    np.testing.assert_array_equal(dx, dx0)  # the same product and the same fold
    # the same float32 sums of N·H·W terms in other orders: rounding ~ eps·sqrt(terms)·size
    scale = np.abs(g).max() * np.sqrt(g.size / g.shape[1])
    np.testing.assert_allclose(db, g.astype(np.float64).sum(axis=(0, 2, 3)), rtol=0,
                               atol=1e-5 * scale)


def test_fold_rows_is_col2im():
    # the fold of a matrix holding each window's taps gives, per pixel, the sum over the
    # windows covering it: checked against a loop over kernel taps on a small case
    rng = np.random.default_rng(0)
    c, kh, kw, h, wd, top, left = 2, 2, 3, 4, 5, 1, 2
    hp, wp = h + 2 * top, wd + 2 * left
    rows, length = hp - (kh - 1), hp * wp + kw - 1
    windows = rng.standard_normal((c, kh, kw, rows, wp - (kw - 1)))
    cols = np.zeros((1, 1, c * kh * kw, length))
    cols.reshape(c, kh, kw, length)[..., :rows * wp].reshape(c, kh, kw, rows, wp)[
        ..., :wp - (kw - 1)] = windows
    want = np.zeros((c, hp, wp))
    for a in range(kh):
        for bb in range(kw):
            want[:, a:a + rows, bb:bb + wp - (kw - 1)] += windows[:, a, bb]
    got = kernels.fold_rows(cols, c, (kh, kw), (1, 1), h, wp, top).reshape(c, h, wp)
    np.testing.assert_allclose(got, want[:, top:top + h], rtol=0, atol=1e-12)


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
    assert "tg.conv2d @ old" in seen["cases"]
    for part in bench_conv.PARTS:
        assert part in seen["cases"]
        assert not any(c.startswith(part + " @") for c in seen["cases"])
