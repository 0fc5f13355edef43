"""Products: ``matmul``, ``linear``, and NumPy's ``dot inner outer tensordot einsum kron cross``."""
import collections
import math
import string

import numpy as np

from ..errors import ShapeError
from ..inputs import as_input
from ..registry import primitive
from ..tensor import shape_of
from .elementwise import _values
from .reduce import sum as _sum
from .shape import concatenate, expand_dims, getitem, reshape, swapaxes, transpose

__all__ = ["cross", "dot", "einsum", "inner", "kron", "linear", "matmul", "outer", "tensordot"]

_LETTERS = string.ascii_uppercase + string.ascii_lowercase
"""einsum's labels, in NumPy's order (an implicit output lists its labels in this order; the
sublist form's integers 0..51 are these letters)."""


@primitive(broadcast=True)
def matmul(a, b):
    """Matrix product with NumPy's ``matmul`` rules (BLAS-backed).

    Shapes: ``(n,) @ (n,) -> ()``, ``(m, n) @ (n,) -> (m,)``, ``(n,) @ (n, p) -> (p,)``,
    ``(..., m, n) @ (..., n, p) -> (..., m, p)`` with the batch dimensions broadcast.
    VJPs: dA = g·Bᵀ, dB = Aᵀ·g (the batch broadcast summed back by the engine).

    Raises
    ------
    ShapeError
        A 0-d operand, or inner dimensions that differ (``a.shape[-1] != b.shape[-2]``).
    """
    sa, sb = shape_of(a), shape_of(b)
    if len(sa) == 0 or len(sb) == 0:
        raise ShapeError(f"matmul: operands must have at least 1 dimension, got shapes {sa} and {sb}")
    inner_b = sb[0] if len(sb) == 1 else sb[-2]
    if sa[-1] != inner_b:
        raise ShapeError(f"matmul: shapes {sa} and {sb} are not aligned: expected a.shape[-1] "
                         f"({sa[-1]}) to equal b.shape[{-1 if len(sb) == 1 else -2}] ({inner_b})")
    if len(sa) >= 2 and len(sb) >= 2 and sa[-1] == 1:
        # An outer product: broadcasting is ~5x faster than NumPy's matmul with K = 1, and
        # faster still with the longer factor innermost (then the result is a transposed view).
        if sa[-2] > sb[-1]:
            return np.multiply(np.swapaxes(b, -1, -2), np.swapaxes(a, -1, -2)).swapaxes(-1, -2)
        return np.multiply(a, b)
    try:
        return np.matmul(a, b)
    except ValueError:
        raise ShapeError(f"matmul: batch dimensions of shapes {sa} and {sb} cannot be broadcast") from None


def _matmul_vjp_a(g, out, a, b):
    if np.ndim(b) == 1:
        return expand_dims(g, -1) * b  # (..., m, n)
    if np.ndim(a) == 1:
        return reshape(matmul(b, expand_dims(g, -1)), shape=shape_of(g)[:-1] + (shape_of(b)[-2],))
    return matmul(g, swapaxes(b, -1, -2))


def _matmul_vjp_b(g, out, a, b):
    if np.ndim(a) == 1 and np.ndim(b) == 1:
        return g * a  # g is 0-d
    if np.ndim(a) == 1:
        return expand_dims(a, -1) * expand_dims(g, -2)  # (..., n, p)
    if np.ndim(b) == 1:
        return reshape(matmul(expand_dims(g, -2), a), shape=shape_of(g)[:-1] + (shape_of(a)[-1],))
    return matmul(swapaxes(a, -1, -2), g)


matmul.defvjp(_matmul_vjp_a, _matmul_vjp_b)
matmul.defjvp(lambda t, out, a, b: matmul(t, b), lambda t, out, a, b: matmul(a, t))


@primitive
def linear(x, weight):
    """``x @ weight.T``: a dense layer's product, PyTorch's ``F.linear`` without the bias.

    Shapes: x ``(..., in_features)``, weight ``(out_features, in_features)`` ->
    ``(..., out_features)``. VJPs: dx = g @ weight; dweight = gᵀ x summed over the batch
    dimensions, computed directly in weight's layout (no transposed copy of the largest
    gradient). Add a bias with ``+``.

    Raises
    ------
    ShapeError
        weight not 2-D, x 0-d, or ``x.shape[-1] != weight.shape[1]``.
    """
    sx, sw = shape_of(x), shape_of(weight)
    if len(sw) != 2 or len(sx) == 0 or sx[-1] != sw[1]:
        raise ShapeError(f"linear: expected x of shape (..., {sw[-1] if sw else 'in'}) and weight "
                         f"of shape (out_features, in_features), got {sx} and {sw}")
    return np.matmul(x, np.transpose(weight))


def _linear_vjp_weight(g, out, x, weight):
    n_out, n_in = shape_of(weight)
    if np.ndim(x) == 1:
        return expand_dims(g, -1) * x  # (out, in)
    rows = math.prod(shape_of(x)[:-1])  # explicit: -1 is ambiguous when a size is 0
    g2 = reshape(g, shape=(rows, n_out))
    x2 = reshape(x, shape=(rows, n_in))
    return matmul(swapaxes(g2, 0, 1), x2)


linear.defvjp(lambda g, out, x, weight: matmul(g, weight), _linear_vjp_weight)


# -- einsum and the products written as contractions ---------------------------------------

def _contraction_vjp(k, g, operands, inputs, output):
    """The gradient of operand ``k`` of the contraction ``einsum(inputs -> output)``, for the
    cotangent ``g`` (labelled ``output``): itself an einsum of ``g`` and the other operands
    onto operand k's labels, so every gradient can be differentiated again.

    What the einsum of the others cannot express is added as constant operands: a label that
    operand k alone sums over (``'ij->i'``'s j) takes a vector of ones, which broadcasts the
    cotangent along it; a label repeated within operand k (``'ii->i'``, ``'ii'``) takes an
    identity matrix per repetition, which scatters the cotangent onto the diagonal. Axes of
    size 1 that NumPy broadcast against the other operands are summed back.
    """
    labels = inputs[k]
    sizes = {}  # each label's length after broadcasting: a 1 gives way, a 0 stays
    for lab, x in zip((*inputs, output), (*operands, g)):
        for c, n in zip(lab, shape_of(x)):
            if sizes.get(c, 1) == 1:
                sizes[c] = n
    dtype = np.result_type(_values(g))
    if dtype.kind != "f":
        dtype = np.dtype(np.float64)
    fresh = iter(c for c in _LETTERS if c not in set("".join(inputs) + output))
    terms, arrays = [output], [g]
    for j, (lab, x) in enumerate(zip(inputs, operands)):
        if j != k:
            terms.append(lab)
            arrays.append(x)
    elsewhere = set("".join(terms))
    target, seen = [], set()
    for c in labels:
        if c in seen:  # a repeated label: its copy is scattered onto the diagonal
            f = next(fresh, None)
            if f is None:
                raise ValueError("einsum: too many labels to write the gradient of a repeated "
                                 f"label (52 letters) in {','.join(inputs)}->{output}")
            target.append(f)
            terms.append(c + f)
            arrays.append(np.eye(sizes[c], dtype=dtype))
        else:
            seen.add(c)
            target.append(c)
            if c not in elsewhere:  # summed by operand k alone: broadcast g along it
                terms.append(c)
                arrays.append(np.ones(sizes[c], dtype=dtype))
    grad = einsum.bind(*arrays, subscripts=",".join(terms) + "->" + "".join(target),
                       optimize=True)
    shape = shape_of(operands[k])
    summed = tuple(i for i, (n, m) in enumerate(zip(shape, shape_of(grad))) if n != m)
    return _sum(grad, axis=summed, keepdims=True) if summed else grad


def _split_subscripts(subscripts):
    """Explicit subscripts ``'ij,jk->ik'`` as (['ij', 'jk'], 'ik')."""
    lhs, output = subscripts.split("->")
    return lhs.split(","), output


@primitive
def einsum(*operands, subscripts=None, optimize=False):
    """``np.einsum`` on explicit subscripts (see the public ``einsum``)."""
    return np.einsum(subscripts, *operands, optimize=optimize)


def _einsum_vjp(k, g, out, *operands, subscripts, optimize):
    inputs, output = _split_subscripts(subscripts)
    return _contraction_vjp(k, g, operands, inputs, output)


einsum.defvjp_argnum(_einsum_vjp)


def _einsum_arguments(args):
    """(subscripts, operands) from ``einsum('ij,jk', a, b)`` or the sublist form
    ``einsum(a, [0, 1], b, [1, 2], [0, 2])`` (integers 0..51 and ``...``)."""
    if not args:
        raise TypeError("einsum: expected subscripts and at least one operand, got nothing")
    if isinstance(args[0], str):
        return args[0], list(args[1:])
    operands, sublists = list(args[0::2]), list(args[1::2])
    output = None
    if len(args) % 2 == 1:  # the last argument is the output's sublist
        output = operands.pop()

    def letters(sublist, what):
        if not isinstance(sublist, (list, tuple)):
            raise TypeError(f"einsum: in the sublist form, {what} must be a list of integers "
                            f"0..51 or Ellipsis, got {type(sublist).__name__}")
        out = []
        for s in sublist:
            if s is Ellipsis:
                out.append("...")
            elif isinstance(s, (int, np.integer)) and not isinstance(s, bool) and 0 <= s < 52:
                out.append(_LETTERS[s])
            else:
                raise ValueError(f"einsum: in the sublist form, {what} must hold integers "
                                 f"0..51 or Ellipsis, got {s!r}")
        return "".join(out)

    subscripts = ",".join(letters(s, f"sublist {i}") for i, s in enumerate(sublists))
    if output is not None:
        subscripts += "->" + letters(output, "the output sublist")
    return subscripts, operands


def _parse_subscripts(subscripts, shapes):
    """NumPy's einsum subscripts made explicit: (one label string per operand, the output's
    labels). ``...`` becomes letters of its own, right-aligned as NumPy broadcasts them, and
    an implicit output (no ``->``) is NumPy's: the ellipsis axes, then the labels that occur
    once, in alphabetical order (upper case first). ValueError naming einsum otherwise."""
    text = subscripts.replace(" ", "")
    lhs, arrow, out = text.partition("->")
    if not arrow:
        out = None
    elif "->" in out or "-" in lhs or ">" in lhs:
        raise ValueError(f"einsum: subscripts {subscripts!r} have more than one '->'")
    terms = lhs.split(",")
    if len(terms) != len(shapes):
        raise ValueError(f"einsum: subscripts {subscripts!r} name {len(terms)} operand(s), got "
                         f"{len(shapes)} operand(s)")

    def check_term(term, what):
        explicit = term.replace("...", "", 1)
        bad = [c for c in explicit if c not in _LETTERS]
        if bad:
            raise ValueError(f"einsum: subscripts {subscripts!r}: {what} has the character "
                             f"{bad[0]!r}; labels are letters (a-z, A-Z), with one '...' at most")
        return explicit

    ell_ndims = []
    for i, (term, shape) in enumerate(zip(terms, shapes)):
        explicit = check_term(term, f"operand {i}'s term {term!r}")
        if "..." in term:
            k = len(shape) - len(explicit)
            if k < 0:
                raise ValueError(f"einsum: operand {i} has shape {shape} ({len(shape)} axes), "
                                 f"fewer than the {len(explicit)} labels of {term!r}")
        elif len(explicit) != len(shape):
            raise ValueError(f"einsum: operand {i} has shape {shape} ({len(shape)} axes), but "
                             f"its subscripts {term!r} label {len(explicit)} axes")
        else:
            k = 0
        ell_ndims.append(k)
    n_ell = max(ell_ndims, default=0)
    used = set(text)
    fresh = [c for c in _LETTERS if c not in used]
    if n_ell > len(fresh):
        raise ValueError(f"einsum: subscripts {subscripts!r}: too many axes for 52 labels")
    ell = "".join(fresh[:n_ell])
    inputs = [t.replace("...", ell[n_ell - k:]) for t, k in zip(terms, ell_ndims)]
    if out is None:
        counts = collections.Counter("".join(t.replace("...", "") for t in terms))
        return inputs, ell + "".join(sorted(c for c, n in counts.items() if n == 1))
    explicit = check_term(out, f"the output {out!r}")
    missing = [c for c in explicit if c not in "".join(terms)]
    repeated = [c for c, n in collections.Counter(explicit).items() if n > 1]
    if missing or repeated:
        what = (f"the output label {missing[0]!r} is in no operand" if missing
                else f"the output label {repeated[0]!r} is repeated")
        raise ValueError(f"einsum: subscripts {subscripts!r}: {what}")
    return inputs, out.replace("...", ell)


@einsum.defcall
def einsum(*operands, optimize=False):
    """Einstein summation with NumPy's ``einsum`` semantics: ``einsum('ij,jk->ik', a, b)``,
    implicit outputs (``'ij,jk'``, ``'ii'`` the trace, ``'ji'`` the transpose), ``...`` for
    broadcast leading axes, repeated labels within an operand (``'ii->i'`` the diagonal),
    any number of operands, and the sublist form ``einsum(a, [0, 1], b, [1, 2], [0, 2])``.

    Parameters
    ----------
    *operands : str, then Tensors or array-likes
        The subscripts, then one operand per comma-separated term (or the sublist form).
    optimize : bool, str or list
        Passed to ``np.einsum`` for the forward (False, as NumPy's default). The gradients
        always contract with ``optimize=True`` (BLAS where it applies).

    Returns
    -------
    Tensor
        NumPy's result, dtype by NumPy's rules. The node records the subscripts made
        explicit (``'ij,jk->ik'``, the ellipsis replaced by letters of its own).

    Gradients: the gradient of operand k is the einsum of the cotangent and the other
    operands onto operand k's labels. A label that only operand k sums over is broadcast
    back with a vector of ones, and a label repeated within operand k (``'ii->i'``) is
    scattered onto the diagonal with an identity matrix per repetition, which einsum alone
    cannot write; axes of size 1 broadcast against the other operands are summed back. Every
    gradient is thus an einsum, differentiable again.

    Raises
    ------
    ValueError
        Subscripts that do not match the operands (count, number of axes, characters, an
        output label in no operand or repeated), or axes of one label whose sizes differ.
    TypeError
        An operand that is not an array of real numbers; a malformed sublist.
    """
    subscripts, arrays = _einsum_arguments(operands)
    if not isinstance(subscripts, str):
        raise TypeError(f"einsum: subscripts must be a str, got {type(subscripts).__name__}")
    arrays = [as_input("einsum", i, a) for i, a in enumerate(arrays)]
    inputs, output = _parse_subscripts(subscripts, [shape_of(a) for a in arrays])
    return einsum.bind(*arrays, subscripts=",".join(inputs) + "->" + output, optimize=optimize)


def _labels_vjp(labels):
    """The VJPs of a product that is the contraction ``labels(a.ndim, b.ndim) -> (a's labels,
    b's labels, the output's)``, for ``defvjp_argnum``."""
    def vjp(k, g, out, a, b, **params):
        la, lb, lo = labels(np.ndim(_values(a)), np.ndim(_values(b)), **params)
        return _contraction_vjp(k, g, (a, b), [la, lb], lo)
    return vjp


def _check_ndims(name, *ndims):
    if sum(ndims) > len(_LETTERS):
        raise ValueError(f"{name}: operands of {' and '.join(map(str, ndims))} axes have more "
                         f"axes than the {len(_LETTERS)} labels tensorgrad writes the gradient with")



@primitive
def tensordot(a, b, axes=None):
    """``np.tensordot`` with ``axes`` normalised to two tuples (see the public ``tensordot``)."""
    return np.tensordot(a, b, axes)


def _tensordot_labels(na, nb, axes):
    la = _LETTERS[:na]
    lb = list(_LETTERS[na:na + nb])
    for i, j in zip(*axes):
        lb[j] = la[i]
    out = ("".join(c for i, c in enumerate(la) if i not in axes[0])
           + "".join(c for j, c in enumerate(lb) if j not in axes[1]))
    return la, "".join(lb), out


tensordot.defvjp_argnum(_labels_vjp(_tensordot_labels))


def _normalize_tensordot_axes(axes, sa, sb):
    na, nb = len(sa), len(sb)
    if isinstance(axes, (int, np.integer)) and not isinstance(axes, bool):
        if not 0 <= axes <= min(na, nb):
            raise ValueError(f"tensordot: axes={axes} must be between 0 and the smaller "
                             f"number of axes of the operands (shapes {sa} and {sb})")
        pairs = (tuple(range(na - axes, na)), tuple(range(axes)))
    else:
        try:
            first, second = axes
            first = (first,) if isinstance(first, (int, np.integer)) else tuple(first)
            second = (second,) if isinstance(second, (int, np.integer)) else tuple(second)
        except (TypeError, ValueError):
            raise TypeError(f"tensordot: axes must be an int or a pair of sequences of axes, "
                            f"got {axes!r}") from None
        if len(first) != len(second):
            raise ValueError(f"tensordot: axes {axes!r} pair {len(first)} axis(es) of a with "
                             f"{len(second)} of b")
        norm = []
        for seq, n, name in ((first, na, "a"), (second, nb, "b")):
            out = []
            for ax in seq:
                if isinstance(ax, bool) or not isinstance(ax, (int, np.integer)):
                    raise TypeError(f"tensordot: axes must hold ints, got {ax!r}")
                if not -n <= ax < n:
                    raise ValueError(f"tensordot: axis {ax} is out of range for {name} of "
                                     f"{n} axes")
                out.append(int(ax) % n)
            if len(set(out)) != len(out):
                raise ValueError(f"tensordot: axes {axes!r} repeat an axis of {name}")
            norm.append(tuple(out))
        pairs = tuple(norm)
    for i, j in zip(*pairs):
        if sa[i] != sb[j]:
            raise ShapeError(f"tensordot: shapes {sa} and {sb} are not aligned: axis {i} of a "
                             f"(size {sa[i]}) is paired with axis {j} of b (size {sb[j]})")
    return pairs


@tensordot.defcall
def tensordot(a, b, axes=2):
    """Sum products over the given axes (NumPy's ``tensordot``): ``axes=n`` pairs a's last n
    axes with b's first n; ``axes=(a_axes, b_axes)`` pairs them one by one (ints or
    sequences, negative allowed). The result's axes are a's free axes, then b's.

    Gradients are contractions of the cotangent with the other operand (einsums).

    Raises
    ------
    ValueError or ShapeError
        An axis out of range or repeated, pairs of different lengths, or paired axes of
        different sizes; TypeError for axes that are neither an int nor a pair.
    """
    a, b = as_input("tensordot", 0, a), as_input("tensordot", 1, b)
    sa, sb = shape_of(a), shape_of(b)
    _check_ndims("tensordot", len(sa), len(sb))
    return tensordot.bind(a, b, axes=_normalize_tensordot_axes(axes, sa, sb))


@primitive
def dot(a, b):
    """Dot product with NumPy's N-d semantics (``np.dot``): a product with a 0-d operand;
    the inner product of two vectors; for N-d a and 1-d b, the sum over their last axes;
    otherwise ``dot(a, b)[i, j, k, m] = sum(a[i, j, :] * b[k, :, m])`` -- the sum over a's
    last axis and b's second-to-last, with a's other axes then b's in the result (unlike
    ``matmul``, which broadcasts the batch axes). Gradients: contractions of the cotangent
    with the other operand (einsums).

    Raises
    ------
    ValueError
        Summed axes of different sizes (NumPy's "shapes not aligned", naming dot).
    """
    return np.dot(a, b)


def _dot_labels(na, nb):
    if na == 0 or nb == 0:
        return _LETTERS[:na], _LETTERS[na:na + nb], _LETTERS[:na + nb]
    la = _LETTERS[:na]
    if nb == 1:
        return la, la[-1], la[:-1]
    lb = _LETTERS[na:na + nb - 2] + la[-1] + _LETTERS[na + nb - 2]
    return la, lb, la[:-1] + lb[:-2] + lb[-1]


dot.defvjp_argnum(_labels_vjp(_dot_labels))


@primitive
def inner(a, b):
    """Inner product over the last axes (NumPy's ``inner``): ``inner(a, b)[i, j] =
    sum(a[i, :] * b[j, :])`` for 2-d operands, a's other axes then b's in the result, a
    product with a 0-d operand. Gradients: contractions (einsums).

    Raises
    ------
    ValueError
        Last axes of different sizes (naming inner).
    """
    return np.inner(a, b)


def _inner_labels(na, nb):
    if na == 0 or nb == 0:
        return _dot_labels(na, nb)
    la = _LETTERS[:na]
    lb = _LETTERS[na:na + nb - 1] + la[-1]
    return la, lb, la[:-1] + lb[:-1]


inner.defvjp_argnum(_labels_vjp(_inner_labels))


@primitive
def outer(a, b):
    """Outer product of the flattened operands (NumPy's ``outer``): ``out[i, j] =
    a.ravel()[i] * b.ravel()[j]``, shape ``(a.size, b.size)``. VJPs: ``g @ b.ravel()`` and
    ``a.ravel() @ g``, reshaped to each operand's shape."""
    return np.outer(a, b)


outer.defvjp(
    lambda g, out, a, b: reshape(matmul(g, reshape(b, shape=(-1,))), shape=shape_of(a)),
    lambda g, out, a, b: reshape(matmul(reshape(a, shape=(-1,)), g), shape=shape_of(b)))


@primitive
def kron(a, b):
    """Kronecker product (NumPy's ``kron``): blocks ``a[i, j] * b`` (for 2-d operands), any
    number of axes, the operand with fewer axes padded with leading 1s; shape
    ``a.shape[i] * b.shape[i]`` per axis.

    Gradients: the cotangent reshaped to interleaved axes ``(a₀, b₀, a₁, b₁, ...)`` and
    contracted with the other operand (an einsum)."""
    return np.kron(a, b)


def _kron_vjp(k, g, out, a, b):
    sa, sb = shape_of(a), shape_of(b)
    nd = max(len(sa), len(sb))
    _check_ndims("kron", 2 * nd)
    pa, pb = (1,) * (nd - len(sa)) + sa, (1,) * (nd - len(sb)) + sb
    interleaved = tuple(n for pair in zip(pa, pb) for n in pair)
    labels = _LETTERS[:2 * nd]
    grad = _contraction_vjp(k, reshape(g, shape=interleaved),
                            (reshape(a, shape=pa), reshape(b, shape=pb)),
                            [labels[0::2], labels[1::2]], labels)
    return reshape(grad, shape=(sa, sb)[k])


kron.defvjp_argnum(_kron_vjp)


@primitive(broadcast=True)
def cross(a, b):
    """The cross product of 3-vectors along the last axes, broadcast over the others (see
    the public ``cross``)."""
    return np.cross(a, b)


cross.defvjp(lambda g, out, a, b: cross(b, g),  # ⟨g, a×b⟩ = ⟨a, b×g⟩ = ⟨b, g×a⟩
             lambda g, out, a, b: cross(g, a))


def _cross_axis(axis, name, what, n):
    """``axis`` (argument ``name`` of cross) as a non-negative index into the ``n`` axes of
    ``what``; TypeError unless it is an int, ValueError when it is out of range."""
    if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)):
        raise TypeError(f"cross: {name} must be an int, got {axis!r}")
    if not -n <= axis < n:
        raise ValueError(f"cross: {name}={axis} is out of range for {what} of {n} axes")
    return int(axis) % n


def _to_last(x, axis, name, what):
    """x with its axis ``axis`` moved last (a transpose)."""
    n = len(shape_of(x))
    axis = _cross_axis(axis, name, what, n)
    if axis == n - 1:
        return x
    return transpose(x, axes=tuple(i for i in range(n) if i != axis) + (axis,))


def _pad_to_3(x):
    """2-vectors as 3-vectors with a zero third component."""
    shape = shape_of(x)
    zero = np.zeros(shape[:-1] + (1,), dtype=np.result_type(_values(x), np.float16))
    return concatenate([x, zero], axis=-1)


@cross.defcall
def cross(a, b, axisa=-1, axisb=-1, axisc=-1, axis=None):
    """Cross product of vectors of 3 (or 2) components, NumPy's ``cross``: the vectors lie
    along ``axisa`` of a and ``axisb`` of b (``axis`` sets all three), the other axes
    broadcast, and the result's vectors lie along ``axisc``.

    A 2-vector is the 3-vector with a zero third component; the product of two 2-vectors is
    the scalar z-component (NumPy's, which NumPy 2 deprecates; here it stays). Gradients:
    d⟨g, a×b⟩/da = b×g and d/db = g×a (cross products, differentiable again).

    Raises
    ------
    ValueError
        Vectors of other than 2 or 3 components, or an axis out of range (naming cross).
    """
    a, b = as_input("cross", 0, a), as_input("cross", 1, b)
    if axis is not None:
        axisa = axisb = axisc = axis
    if not shape_of(a) or not shape_of(b):
        raise ValueError(f"cross: operands must have at least 1 axis, got shapes "
                         f"{shape_of(a)} and {shape_of(b)}")
    a, b = _to_last(a, axisa, "axisa", "a"), _to_last(b, axisb, "axisb", "b")
    na, nb = shape_of(a)[-1], shape_of(b)[-1]
    if na not in (2, 3) or nb not in (2, 3):
        raise ValueError(f"cross: incompatible dimensions for cross product: the vectors have "
                         f"{na} and {nb} components (2 or 3 expected)")
    c = cross.bind(_pad_to_3(a) if na == 2 else a, _pad_to_3(b) if nb == 2 else b)
    if na == 2 and nb == 2:
        return getitem(c, index=(Ellipsis, 2))
    n = len(shape_of(c))
    axisc = _cross_axis(axisc, "axisc", "the result", n)
    if axisc == n - 1:
        return c
    perm = list(range(n - 1))
    perm.insert(axisc, n - 1)
    return transpose(c, axes=tuple(perm))
