"""Smoke tests of the examples: examples/mnist_cnn.py and examples/convolution_animation.py,
run in-process on a few dozen digits."""
import importlib.util
import re
from pathlib import Path

import numpy as np
import pytest

import tensorgrad as tg

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"

pytest.importorskip("mlxtend")
pytest.importorskip("tqdm")


def _load(name):
    spec = importlib.util.spec_from_file_location(f"example_{name}", EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def cnn():
    return _load("mnist_cnn")


@pytest.fixture(scope="module")
def anim():
    pytest.importorskip("matplotlib")
    return _load("convolution_animation")


SMALL = ["--per-class", "20", "--no-progress"]
EPOCH_LINE = re.compile(r"^epoch +(\d+)/(\d+)  loss (\d+\.\d{4})  test accuracy "
                        r"(\d+\.\d\d)%  \(\d+\.\d s\)$", re.M)


def test_default_model_trains_and_reports(cnn, capsys):
    h = cnn.main(SMALL + ["--epochs", "2"])
    out = capsys.readouterr().out
    assert "data: 40 training and 200 test images of digits 0,1" in out
    assert ("model: expr, 294,832 parameters, float64, notebook init; optimizer sgd lr 0.1, "
            "batch size 1, 2 epochs, seed 0") in out
    assert re.search(r"gradcheck, .*: PASS .*max error of the directional derivatives: "
                     r"\S+ absolute", out)
    epochs = EPOCH_LINE.findall(out)
    assert [(int(a), int(b)) for a, b, *_ in epochs] == [(1, 2), (2, 2)]
    assert [float(e[2]) for e in epochs] == pytest.approx(h["loss"], abs=1e-4)
    assert h["loss"][1] < h["loss"][0]
    assert h["gradcheck"] is True
    assert len(h["step_loss"]) == 80
    # the printed final accuracy is the evaluation of the trained model
    assert re.search(r"final test accuracy: \d+\.\d\d% \(\d+/200\)", out)
    assert 0 <= h["final_accuracy"] <= 1


def test_architecture_shapes(cnn):
    arrays = cnn.init_arrays(np.random.default_rng(0), 2)
    shapes = {k: v.shape for k, v in arrays.items()}
    assert shapes == {"K1": (5, 1, 3, 3), "B1": (5, 26, 26), "K2": (5, 5, 3, 3),
                      "B2": (5, 24, 24), "W1": (100, 2880), "b1": (100, 1),
                      "W2": (2, 100), "b2": (2, 1)}
    assert arrays["B1"].min() >= 0 and arrays["B1"].max() < 1
    model = cnn.ExprModel(arrays)
    x = np.random.default_rng(1).random((1, 1, 28, 28))
    out = model.outputs(x)
    assert out.shape == (1, 2) and np.all((out.data > 0) & (out.data < 1))


def test_inits(cnn):
    rng = np.random.default_rng
    nb = cnn.init_arrays(rng(0), 2, "notebook")
    sc = cnn.init_arrays(rng(0), 2, "scaled")
    np.testing.assert_allclose(sc["W1"], nb["W1"] / np.sqrt(2880))
    np.testing.assert_allclose(sc["K2"], nb["K2"] / np.sqrt(45))
    np.testing.assert_array_equal(sc["B1"], nb["B1"])
    pt = cnn.init_arrays(rng(0), 10, "pytorch")
    assert np.abs(pt["W1"]).max() <= 1 / np.sqrt(2880)
    assert np.abs(pt["B1"]).max() <= 1 / 3 and pt["B1"].min() < 0
    gl = cnn.init_arrays(rng(0), 10, "glorot")
    assert np.abs(gl["W2"]).max() <= 4 * np.sqrt(6 / 110)
    assert all(not np.any(gl[k]) for k in ("B1", "B2", "b1", "b2"))
    assert cnn.init_arrays(rng(0), 2, dtype=np.float32)["W1"].dtype == np.float32
    with pytest.raises(ValueError, match="init must be one of"):
        cnn.init_arrays(rng(0), 2, "zeros")


def test_float32(cnn, capsys):
    """float32 training; the gradient check runs on a float64 copy."""
    h = cnn.main(["--dtype", "float32", "--per-class", "10", "--epochs", "1", "--no-progress"])
    out = capsys.readouterr().out
    assert "float32, notebook init" in out and "PASS" in out
    assert all(p.dtype == np.float32 for p in h["model"].parameters())


def test_conv_layer_is_the_derivations_formula(cnn):
    rng = np.random.default_rng(0)
    X, K, B = rng.random((2, 6, 7)), rng.standard_normal((3, 2, 3, 3)), rng.random((3, 4, 5))
    Y = cnn.conv_layer(tg.tensor(X), tg.tensor(K), tg.tensor(B)).numpy()
    ref = B.copy()
    for i in range(3):
        for u in range(4):
            for v in range(5):
                ref[i, u, v] += np.sum(X[:, u:u + 3, v:v + 3] * K[i])
    # the same sums in another order: within 1e-12 of the largest entry
    np.testing.assert_allclose(Y, ref, rtol=1e-12, atol=1e-12 * np.abs(ref).max())


def test_nn_model_follows_the_expr_model(cnn):
    """Same initial values, batch size 1, same SGD: the tg.nn model and the expression model
    take the same steps."""
    flags = ["--per-class", "10", "--epochs", "1", "--no-progress", "--no-gradcheck"]
    a = cnn.main(flags + ["--model", "expr"])
    b = cnn.main(flags + ["--model", "nn", "--batch-size", "1"])
    np.testing.assert_allclose(a["step_loss"], b["step_loss"], rtol=1e-8, atol=1e-12)
    wa, wb = a["model"].arrays(), cnn.nn_to_expr(b["model"].arrays())
    for k in wa:
        np.testing.assert_allclose(wa[k], wb[k], rtol=1e-8, atol=1e-12, err_msg=k)


def test_nn_batched_adam(cnn, capsys):
    h = cnn.main(SMALL + ["--model", "nn", "--batch-size", "8", "--optimizer", "adam",
                          "--epochs", "2"])
    out = capsys.readouterr().out
    assert "model: nn" in out and "optimizer adam lr 0.001, batch size 8" in out
    assert "PASS" in out
    assert len(h["step_loss"]) == 2 * 5
    assert h["loss"][1] < h["loss"][0]


def test_ten_classes(cnn, capsys):
    h = cnn.main(["--classes", "0-9", "--per-class", "4", "--epochs", "1", "--no-progress",
                  "--no-gradcheck"])
    out = capsys.readouterr().out
    assert "data: 40 training and 1000 test images of digits 0,1,2,3,4,5,6,7,8,9" in out
    assert "model: nn" in out and "optimizer adam lr 0.001, batch size 32" in out
    assert h["model"].n_out == 10
    assert np.isfinite(h["loss"][0])


def test_ten_classes_expr_gradcheck(cnn, capsys):
    """The expression model with softmax cross-entropy on ten logits passes gradcheck."""
    cnn.main(["--classes", "0-9", "--model", "expr", "--per-class", "1", "--epochs", "0",
              "--no-progress"])
    assert re.search(r"gradcheck, .*: PASS", capsys.readouterr().out)


def test_gradcheck_reports_a_wrong_vjp(cnn, capsys, monkeypatch):
    """A sigmoid whose VJP forgets the factor (1 - s): the check says FAIL, with the report."""
    monkeypatch.setitem(tg.sigmoid.vjps, 0, lambda g, out, x: g * out)
    arrays = cnn.init_arrays(np.random.default_rng(0), 2)
    x = np.random.default_rng(1).random((1, 28, 28))
    ok = cnn.run_gradcheck(cnn.ExprModel(arrays), x, np.array([[1.0], [0.0]]), 0)
    out = capsys.readouterr().out
    assert ok is False
    assert ": FAIL" in out
    assert "reverse mode and finite differences disagree" in out


def test_expr_model_rejects_batches(cnn, capsys):
    with pytest.raises(SystemExit) as exit_:
        cnn.main(["--model", "expr", "--batch-size", "4", "--epochs", "0"])
    assert exit_.value.code == 2
    assert "batch size 1" in capsys.readouterr().err


@pytest.mark.parametrize("argv,message", [
    (["--per-class", "0"], "--per-class must be >= 1, got 0"),
    (["--per-class", "-3"], "--per-class must be >= 1, got -3"),
    (["--epochs", "-1"], "--epochs must be >= 0, got -1"),
    (["--model", "nn", "--batch-size", "0"], "--batch-size must be >= 1, got 0"),
])
def test_counts_out_of_range_exit_2_with_one_line(cnn, capsys, argv, message):
    with pytest.raises(SystemExit) as exit_:
        cnn.main(argv + ["--no-progress", "--no-gradcheck"])
    assert exit_.value.code == 2
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == f"mnist_cnn.py: error: {message}\n"


def test_load_of_a_file_that_is_not_npz_says_so(cnn, capsys, tmp_path):
    path = tmp_path / "notes.npz"
    path.write_text("not an archive")
    with pytest.raises(SystemExit) as exit_:
        cnn.main(["--epochs", "0", "--no-progress", "--no-gradcheck", "--load", str(path)])
    assert exit_.value.code == 2
    assert "not a .npz (zip) archive" in capsys.readouterr().err


def test_parse_classes(cnn):
    assert cnn.parse_classes("0,1") == [0, 1]
    assert cnn.parse_classes("0-9") == list(range(10))
    assert cnn.parse_classes("3, 5-7") == [3, 5, 6, 7]
    with pytest.raises(Exception, match="at least two distinct digits"):
        cnn.parse_classes("4")
    with pytest.raises(Exception, match="at least two distinct digits"):
        cnn.parse_classes("1,1")


def test_save_load_across_models(cnn, tmp_path, capsys):
    path = tmp_path / "cnn.npz"
    a = cnn.main(SMALL + ["--epochs", "1", "--no-gradcheck", "--save", str(path)])
    with np.load(path) as f:
        assert sorted(f.files) == sorted(cnn.EXPR_NAMES)
    # evaluate the saved expression model as an nn model, and back
    capsys.readouterr()
    b = cnn.main(["--epochs", "0", "--no-progress", "--no-gradcheck", "--model", "nn",
                  "--load", str(path), "--save", str(tmp_path / "nn.npz")])
    assert b["final_accuracy"] == a["final_accuracy"]
    out = capsys.readouterr().out
    assert f"float64, weights from {path}; optimizer" in out and "notebook init" not in out
    c = cnn.main(["--epochs", "0", "--no-progress", "--no-gradcheck",
                  "--load", str(tmp_path / "nn.npz")])
    assert c["final_accuracy"] == a["final_accuracy"]
    bad = tmp_path / "bad.npz"
    np.savez(bad, w=np.zeros(3))
    with pytest.raises(SystemExit) as exit_:
        cnn.main(["--epochs", "0", "--no-gradcheck", "--load", str(bad)])
    assert exit_.value.code == 2
    assert "expected the parameters" in capsys.readouterr().err


def _one_line_exit(cnn, capsys, argv):
    """Run main(argv), expecting the one-line error and exit status 2; return the line."""
    capsys.readouterr()
    with pytest.raises(SystemExit) as exit_:
        cnn.main(argv + ["--epochs", "0", "--per-class", "1", "--no-progress",
                         "--no-gradcheck"])
    assert exit_.value.code == 2
    captured = capsys.readouterr()
    assert captured.out == ""  # refused before the data and model summary
    lines = captured.err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("mnist_cnn.py: error: "), captured.err
    return lines[0]


@pytest.mark.parametrize("option,path,message", [
    ("--data", "missing_folder", "no such file or folder"),
    ("--load", "missing.npz", "no such file"),
    ("--plot", "no_such_folder/cnn.png", "the folder .*no_such_folder does not exist"),
    ("--save", "no_such_folder/cnn.npz", "the folder .*no_such_folder does not exist"),
])
def test_bad_paths_exit_2_with_one_line(cnn, capsys, tmp_path, option, path, message):
    line = _one_line_exit(cnn, capsys, [option, str(tmp_path / path)])
    assert re.search(f"{option}:? .*{message}", line), line


def test_loading_a_two_class_model_for_ten_classes_says_why(cnn, capsys, tmp_path):
    path = tmp_path / "two.npz"
    np.savez(path, **cnn.init_arrays(np.random.default_rng(0), 2))
    line = _one_line_exit(cnn, capsys, ["--classes", "0-9", "--load", str(path)])
    assert (f"--load: {path} holds a model with 2 output classes, but --classes asks "
            "for 10; pass --classes with 2 digits") in line


def test_data_without_the_requested_digits_says_which(cnn, capsys, tmp_path):
    from tensorgrad.data import load_mnist

    (xtr, ytr), (xte, yte) = load_mnist()
    path = tmp_path / "two_digits.npz"
    keep_tr, keep_te = ytr < 2, yte < 2
    np.savez(path, x_train=xtr[keep_tr][::10], y_train=ytr[keep_tr][::10],
             x_test=xte[keep_te][::10], y_test=yte[keep_te][::10])
    line = _one_line_exit(cnn, capsys, ["--classes", "0-9", "--data", str(path)])
    assert (f"--data: {path} has no training images of digit(s) 2,3,4,5,6,7,8,9 (it "
            "holds 0,1); choose --classes among those") in line


def test_data_path_and_limits(cnn, tmp_path, capsys):
    """--data reads a Keras-layout npz with the notebook's limit of 100 test images per
    class; --per-class sets the training limit."""
    from tensorgrad.data import load_mnist

    (xtr, ytr), (xte, yte) = load_mnist()
    keep_tr = np.isin(ytr, [0, 1])
    path = tmp_path / "mnist.npz"
    np.savez(path, x_train=xtr[keep_tr][::10], y_train=ytr[keep_tr][::10], x_test=xte,
             y_test=yte)
    cnn.main(["--data", str(path), "--per-class", "15", "--epochs", "1", "--no-progress",
              "--no-gradcheck"])
    out = capsys.readouterr().out
    assert f"data: 30 training and 200 test images of digits 0,1 ({path})" in out


def test_plot(cnn, tmp_path):
    pytest.importorskip("matplotlib")
    path = tmp_path / "cnn.png"
    cnn.main(["--per-class", "5", "--epochs", "2", "--no-progress", "--no-gradcheck",
              "--plot", str(path)])
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert path.stat().st_size < 150_000


# ---------------------------------------------------------------------------------------
# convolution_animation.py
# ---------------------------------------------------------------------------------------
def test_animation_values(anim):
    corr, conv = anim.compute()
    np.testing.assert_array_equal(corr["output"], [[7, 5], [11, 3]])
    np.testing.assert_array_equal(conv["output"], [[11, -2], [-2, 6]])
    # the kernel drawn for the convolution is the one slid: K' rotated by 180 degrees
    np.testing.assert_array_equal(conv["slid"], [[-1, 1], [0, 2]])
    np.testing.assert_array_equal(corr["slid"], corr["kernel"])
    for row in (corr, conv):
        for r in range(2):
            for c in range(2):
                window = anim.INPUT[r:r + 2, c:c + 2]
                assert np.sum(window * row["slid"]) == row["output"][r, c]


def test_animation_writes_gif(anim, tmp_path, capsys):
    from PIL import Image

    out = anim.main(["--out", str(tmp_path / "conv.gif"), "--interval", "500"])
    assert "tg.correlate2d(I, K, 'valid') = [[7, 5], [11, 3]]" in capsys.readouterr().out
    with Image.open(out) as im:
        assert im.n_frames == 4


def test_animation_writes_html(anim, tmp_path):
    out = anim.main(["--out", str(tmp_path / "conv.html"), "--no-convolution"])
    text = out.read_text(encoding="utf-8")
    assert "<img" in text or "data:image" in text
