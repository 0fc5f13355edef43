"""tg.save / tg.load: state dicts as .npz without pickle; exact round trips of the structure
and types, clear errors for other objects, missing files and bad files."""
import io
import math
import os
import zipfile

import numpy as np
import pytest

import tensorgrad as tg
from tensorgrad import nn


def _model():
    return nn.Sequential(nn.Conv2d(1, 2, 3, rng=0), nn.BatchNorm2d(2), nn.ReLU(), nn.Flatten(),
                         nn.Linear(8, 3, rng=1), nn.LayerNorm(3))


def test_a_models_state_dict_round_trips(tmp_path):
    src = _model()
    src(np.random.default_rng(0).standard_normal((4, 1, 4, 4)))  # move the running stats
    path = tmp_path / "model.pt"
    tg.save(src.state_dict(), path)
    assert os.path.exists(path) and not os.path.exists(str(path) + ".npz")  # the exact path
    loaded = tg.load(path)
    assert list(loaded) == list(src.state_dict())
    dst = _model()
    assert dst.load_state_dict(loaded) == ([], [])
    for (k, a), (k2, b) in zip(src.state_dict().items(), dst.state_dict().items()):
        assert k == k2 and a.dtype == b.dtype
        np.testing.assert_array_equal(a, b)
    x = np.ones((2, 1, 4, 4))
    np.testing.assert_array_equal(src.eval()(x).data, dst.eval()(x).data)


def test_the_arrays_are_plain_npz_entries_under_flat_keys(tmp_path):
    path = tmp_path / "sd.npz"
    tg.save({"fc.weight": np.eye(2), "state": {0: {"exp_avg": np.ones(3)}}}, path)
    with np.load(path, allow_pickle=False) as npz:
        assert set(npz.files) == {"fc.weight", "state/0/exp_avg", "__tensorgrad__"}
        np.testing.assert_array_equal(npz["state/0/exp_avg"], np.ones(3))


def test_an_optimiser_like_state_dict_round_trips_exactly():
    state = {
        "state": {0: {"step": 3, "exp_avg": np.arange(3, dtype=np.float32),
                      "exp_avg_sq": tg.tensor(np.ones((2, 2)))},
                  1: {"step": np.int64(7), "momentum_buffer": None}},
        "param_groups": [{"lr": 0.001, "betas": (0.9, 0.999), "eps": 1e-8, "weight_decay": 0,
                          "amsgrad": False, "params": [0, 1], "name": "body",
                          "initial_lr": math.pi, "max": math.inf, "bad": math.nan}],
        "last_epoch": -1,
        "big": 2 ** 70,
        "nested": [[1, 2], (np.float32(0.5), "x"), []],
    }
    f = io.BytesIO()
    tg.save(state, f)
    f.seek(0)
    out = tg.load(f)
    assert list(out["state"]) == [0, 1]  # int keys stay ints
    s0 = out["state"][0]
    assert s0["step"] == 3 and type(s0["step"]) is int
    assert s0["exp_avg"].dtype == np.float32
    np.testing.assert_array_equal(s0["exp_avg"], np.arange(3))
    assert isinstance(s0["exp_avg_sq"], tg.Tensor) and not s0["exp_avg_sq"].requires_grad
    assert type(out["state"][1]["step"]) is np.int64 and out["state"][1]["step"] == 7
    assert out["state"][1]["momentum_buffer"] is None
    g = out["param_groups"][0]
    assert g["betas"] == (0.9, 0.999) and isinstance(g["betas"], tuple)
    assert g["params"] == [0, 1] and g["name"] == "body" and g["amsgrad"] is False
    assert g["initial_lr"] == math.pi and g["max"] == math.inf and math.isnan(g["bad"])
    assert type(g["weight_decay"]) is int and g["eps"] == 1e-8
    assert out["last_epoch"] == -1 and out["big"] == 2 ** 70
    assert out["nested"][0] == [1, 2] and out["nested"][2] == []
    assert type(out["nested"][1][0]) is np.float32 and out["nested"][1][1] == "x"


def test_a_plain_npz_file_loads_as_its_arrays(tmp_path):
    path = tmp_path / "plain.npz"
    src = nn.Linear(2, 3, rng=0)
    np.savez(path, **src.state_dict())
    loaded = tg.load(path)
    assert sorted(loaded) == ["bias", "weight"]
    nn.Linear(2, 3, rng=1).load_state_dict(loaded)


def test_keys_are_any_strings():
    f = io.BytesIO()
    obj = {"allow_pickle": np.ones(1), "file": 2, "": np.zeros(1), "a b/c": np.ones(2)}
    tg.save(obj, f)
    f.seek(0)
    out = tg.load(f)
    assert list(out) == list(obj) and out["file"] == 2
    np.testing.assert_array_equal(out["a b/c"], np.ones(2))


def test_save_refuses_what_would_need_pickle(tmp_path):
    path = tmp_path / "x.npz"
    with pytest.raises(TypeError, match="save: cannot save a object at key state/0/f"):
        tg.save({"state": [{"f": object()}]}, path)
    with pytest.raises(TypeError, match="save: the array at key a has dtype object"):
        tg.save({"a": np.array([1, None], dtype=object)}, path)
    with pytest.raises(TypeError, match=r"save: dict keys must be str or int, got \(1, 2\)"):
        tg.save({(1, 2): 1}, path)
    with pytest.raises(TypeError, match="save: expected a state dict"):
        tg.save([np.ones(2)], path)
    with pytest.raises(ValueError, match="save: two entries share the flat key 'a/b'"):
        tg.save({"a/b": np.ones(1), "a": {"b": np.ones(1)}}, path)
    assert not os.path.exists(path) and os.listdir(tmp_path) == []  # no temporary left


def test_save_into_a_missing_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match="save: the folder .*missing.* does not exist"):
        tg.save({"a": 1}, tmp_path / "missing" / "x.npz")


def test_a_failed_save_keeps_the_previous_file(tmp_path):
    path = tmp_path / "x.npz"
    tg.save({"a": np.ones(2)}, path)
    with pytest.raises(TypeError):
        tg.save({"a": np.zeros(2), "b": object()}, path)
    np.testing.assert_array_equal(tg.load(path)["a"], np.ones(2))


def test_load_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="load: no such file: .*nothing.npz"):
        tg.load(tmp_path / "nothing.npz")
    with pytest.raises(IsADirectoryError, match="load: .* is a folder"):
        tg.load(tmp_path)
    text = tmp_path / "notes.txt"
    text.write_text("weights")
    with pytest.raises(ValueError, match="load: .*notes.txt' is not an .npz file"):
        tg.load(text)
    pickled = tmp_path / "pickled.npz"
    np.savez(pickled, a=np.array([{"x": 1}], dtype=object))
    with pytest.raises(ValueError, match="load: .* cannot be read as an .npz file of arrays "
                                         "without pickle"):
        tg.load(pickled)
    damaged = tmp_path / "damaged.npz"
    with zipfile.ZipFile(damaged, "w") as zf:
        with zf.open("__tensorgrad__.npy", "w") as member:
            np.lib.format.write_array(member, np.array("{not json"))
    with pytest.raises(ValueError, match="load: .* is damaged"):
        tg.load(damaged)
    with pytest.raises(ValueError, match="load: map_location must be None or 'cpu'"):
        tg.load(tmp_path / "x", map_location="cuda")
    for bad in (None, 3):
        with pytest.raises(TypeError, match=r"^load: f must be a path \(str or os.PathLike\) or a "
                                            rf"binary file object, got {type(bad).__name__}"):
            tg.load(bad)
    with pytest.raises(TypeError, match=r"^save: f must be a path .* got NoneType None"):
        tg.save({"a": 1}, None)


def test_load_accepts_pytorchs_keywords(tmp_path):
    path = tmp_path / "m.npz"
    tg.save({"w": np.ones(1)}, path)
    assert list(tg.load(path, map_location="cpu", weights_only=True)) == ["w"]


def test_load_state_dict_refuses_a_nested_entry():
    with pytest.raises(TypeError, match="load_state_dict for Linear: 'weight' holds dict"):
        nn.Linear(2, 2, rng=0).load_state_dict({"weight": {"a": 1}, "bias": np.zeros(2)})
