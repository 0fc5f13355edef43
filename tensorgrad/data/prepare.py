"""The seed notebook's data preparation: :func:`binary_subset`."""

from __future__ import annotations

import numpy as np

from .. import defaults
from .._random import as_generator

__all__ = ["binary_subset"]


# --------------------------------------------------------------------------
def binary_subset(x, y, classes=(0, 1), per_class=None, rng=None, dtype=None):
    """Prepare a class subset as the seed notebook's ``pp`` does.

    Takes the first ``per_class`` examples of each class in ``classes`` (in
    the order they appear in ``x``), optionally shuffles them, reshapes the
    images to ``(N, 1, H, W)``, divides by 255 and one-hot encodes the
    targets as column vectors.  With the defaults and ``rng`` given this is
    the notebook's ``pp(x, y, lim)``: MNIST zeros vs ones, ``x`` of shape
    ``(N, 1, 28, 28)`` in [0, 1] and targets of shape ``(N, 2, 1)``.  Any
    number of classes works, e.g. ``classes=range(10)``.

    Parameters
    ----------
    x : array_like, shape (M, H, W), (M, 1, H, W) or (M, 784)
        Images with pixel values in 0..255 (e.g. uint8 from
        :func:`load_mnist`); ``(M, 784)`` rows are taken as 28x28 images.
    y : array_like of int, shape (M,)
        Class label of each image.
    classes : sequence of int, default (0, 1)
        The distinct labels to keep.  Output class ``k`` is ``classes[k]``.
    per_class : int or None, default None
        Keep at most this many examples of each class (the first ones, like
        the notebook's ``[:lim]``; fewer if fewer exist).  None keeps all.
    rng : numpy.random.Generator, int or None, default None
        Shuffles the selected examples (the notebook shuffles).  A Generator
        is used (and advanced) as is; an int seeds a new one, so the same
        seed gives the same order.  None: no shuffle, the examples keep the
        order they have in ``x`` (the global NumPy random state is never
        used).
    dtype : floating dtype or None, default None
        dtype of the returned images and one-hot targets; None takes
        ``tg.get_default_dtype()`` (float64 unless ``tg.set_default_dtype`` changed it),
        the dtype new layers take, so that data and parameters agree.

    Returns
    -------
    x : numpy.ndarray, shape (N, 1, H, W), ``dtype``
        Scaled images, values in [0, 1].
    y_onehot : numpy.ndarray, shape (N, len(classes), 1), ``dtype``
        One-hot column vectors: ``y_onehot[i, labels[i], 0] == 1``, zeros
        elsewhere.
    labels : numpy.ndarray, shape (N,), int64
        Index of each example's class in ``classes`` (for accuracy; for the
        default ``(0, 1)`` it equals the digit).

    Raises
    ------
    ValueError
        If the shapes of ``x`` and ``y`` do not fit, ``classes`` is empty or
        has repeats, a class has no example, ``per_class`` is negative, or
        ``x`` has values outside 0..255 (NaN and infinities included).
    TypeError
        If ``dtype`` is not a floating dtype, ``rng`` has the wrong type, ``classes`` is
        not a sequence of ints (a string such as ``'01'`` is refused), ``per_class`` is
        not an int, or ``x`` is not numeric.

    Examples
    --------
    >>> (xtr, ytr), _ = load_mnist()  # doctest: +SKIP
    >>> x, t, labels = binary_subset(xtr, ytr, per_class=100, rng=0)  # doctest: +SKIP
    >>> x.shape, t.shape, labels.shape  # doctest: +SKIP
    ((200, 1, 28, 28), (200, 2, 1), (200,))
    """
    x = np.asarray(x)
    y = np.asarray(y)
    dtype = defaults.get_default_dtype() if dtype is None else np.dtype(dtype)
    if dtype.kind != "f":
        raise TypeError(f"binary_subset: dtype must be a floating dtype, got {dtype}")
    if y.ndim != 1:
        raise ValueError(f"binary_subset: expected y of shape (M,), got {y.shape}")
    if x.ndim == 0 or x.shape[0] != y.shape[0]:
        raise ValueError(
            f"binary_subset: x and y must have the same length, got x {x.shape} "
            f"and y {y.shape}"
        )
    if x.ndim == 2 and x.shape[1] == 784:
        x = x.reshape(-1, 28, 28)
    elif x.ndim == 4 and x.shape[1] == 1:
        x = x[:, 0]
    elif x.ndim != 3:
        raise ValueError(
            "binary_subset: expected x of shape (M, H, W), (M, 1, H, W) or (M, 784), "
            f"got {x.shape}"
        )
    if isinstance(classes, (str, bytes)) or not all(
            isinstance(c, (int, np.integer)) and not isinstance(c, bool) for c in classes):
        raise TypeError(f"binary_subset: classes must be a sequence of int labels, e.g. "
                        f"(0, 1), got {classes!r}")
    classes = [int(c) for c in classes]
    if not classes:
        raise ValueError("binary_subset: classes is empty")
    if len(set(classes)) != len(classes):
        raise ValueError(f"binary_subset: classes has repeated values: {classes}")
    if per_class is not None:
        if not isinstance(per_class, (int, np.integer)) or isinstance(per_class, bool):
            raise TypeError(f"binary_subset: per_class must be an int or None, got "
                            f"{per_class!r}")
        per_class = int(per_class)
        if per_class < 0:
            raise ValueError(f"binary_subset: per_class must be >= 0, got {per_class}")
    generator = None if rng is None else as_generator(rng, "binary_subset")

    picks, idx_labels = [], []
    for k, c in enumerate(classes):
        idx = np.flatnonzero(y == c)
        if idx.size == 0:
            raise ValueError(f"binary_subset: no example of class {c} in y")
        idx = idx[:per_class]
        picks.append(idx)
        idx_labels.append(np.full(idx.size, k, dtype=np.int64))
    indices = np.concatenate(picks)
    labels = np.concatenate(idx_labels)
    if generator is None:
        order = np.argsort(indices, kind="stable")  # the order they have in x
    else:
        order = generator.permutation(indices.size)
    indices, labels = indices[order], labels[order]

    images = x[indices]
    if x.dtype.kind not in "biuf":
        raise TypeError(f"binary_subset: x must hold numbers (pixel values 0..255), got "
                        f"dtype {x.dtype}")
    if images.size and not np.all(np.isfinite(images)):
        raise ValueError("binary_subset: x holds NaN or infinite pixel values; expected "
                         "values in 0..255")
    if images.size and (images.min() < 0 or images.max() > 255):
        raise ValueError(
            "binary_subset: expected pixel values in 0..255, got values in "
            f"[{images.min()}, {images.max()}]"
        )
    images = (images.astype(dtype) / dtype.type(255)).reshape(
        len(indices), 1, *images.shape[1:]
    )
    onehot = np.zeros((len(indices), len(classes), 1), dtype=dtype)
    onehot[np.arange(len(indices)), labels, 0] = 1
    return images, onehot, labels
