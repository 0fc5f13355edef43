"""The OpenBLAS that NumPy itself loaded, reached through ctypes: its thread count, and the
two BLAS updates that write into an existing array (``ger``, ``gemm`` with ``beta = 1``).

SciPy ships an OpenBLAS of its own, with its own thread pool: calling it between NumPy's
products makes the two pools' threads compete for the cores (measured on the shared 2-core
machine: a 100 x 2880 ``dger`` of SciPy took 20 ms inside a training step, 0.3 ms alone).
Using NumPy's copy keeps one pool. A rank-1 update of a matrix of at least
:data:`GER_THREADED_BYTES` runs on OpenBLAS's threads, as NumPy's products do; a smaller one
on one thread. Measured on the quiet 2-core machine (2 MiB of L2 per core), the 100 x 2880
``dger`` of the notebook's dense layer alone after other NumPy work: 70 us on two threads
against 123 us on one in float64 (2.3 MB), 39 against 62 in float32 (1.2 MB); but inside
a training step the float32 one made the compiled step 13-17% slower on two threads (the
threads' wake-up, the matrix staying in one core's cache) while the float64 one made it
5-7% faster. With other processes on the cores, a threaded update waits for its threads as
every threaded product of OpenBLAS does (a 15.8 ms ``dger`` was seen then).

Everything here is unavailable (False) when that library or its symbols are not found
(another NumPy build); the callers then take their NumPy path.
"""
from __future__ import annotations

import ctypes
import glob
import os

import numpy as np

_ROW_MAJOR, _NO_TRANS, _TRANS = 101, 111, 112
GER_THREADED_BYTES = 2 << 20  # a rank-1 update of a matrix this large uses OpenBLAS's threads


def _load():
    libs = os.path.join(os.path.dirname(os.path.dirname(np.__file__)), "numpy.libs")
    for path in sorted(glob.glob(os.path.join(libs, "*openblas*"))):
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for prefix, suffix, integer in (("scipy_", "64_", ctypes.c_int64),
                                        ("scipy_", "", ctypes.c_int),
                                        ("", "64_", ctypes.c_int64), ("", "", ctypes.c_int)):
            get = getattr(lib, f"{prefix}openblas_get_num_threads{suffix}", None)
            put = getattr(lib, f"{prefix}openblas_set_num_threads{suffix}", None)
            if get is None or put is None:
                continue
            put.argtypes = [ctypes.c_int]
            funcs = {}
            for kind, dtype, real in (("d", np.float64, ctypes.c_double),
                                      ("s", np.float32, ctypes.c_float)):
                ger = getattr(lib, f"{prefix}cblas_{kind}ger{suffix}", None)
                gemm = getattr(lib, f"{prefix}cblas_{kind}gemm{suffix}", None)
                if ger is None or gemm is None:
                    continue
                p = ctypes.c_void_p
                ger.argtypes = [ctypes.c_int, integer, integer, real, p, integer, p, integer,
                                p, integer]
                ger.restype = None
                gemm.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int, integer, integer,
                                 integer, real, p, integer, p, integer, real, p, integer]
                gemm.restype = None
                funcs[np.dtype(dtype)] = (ger, gemm)
            return get, put, funcs
    return None


_LIB = _load()


def available() -> bool:
    """Whether NumPy's OpenBLAS was found (its thread count can be set)."""
    return _LIB is not None


def get_num_threads() -> int:
    """OpenBLAS's thread count (call only when :func:`available`)."""
    return _LIB[0]()


def set_num_threads(n: int) -> None:
    """Set OpenBLAS's thread count, for every thread of the process (call only when
    :func:`available`)."""
    _LIB[1](n)


def _ptr(a):
    return a.__array_interface__["data"][0]  # a.ctypes.data builds a ctypes object: 10x slower


def _blas_for(out):
    """``(ger, gemm)`` of ``out``'s dtype when ``out`` can be updated in place (C-contiguous,
    writeable, float32/float64, the library found), else None."""
    funcs = None if _LIB is None else _LIB[2].get(out.dtype)
    if funcs is None or not out.flags.c_contiguous or not out.flags.writeable:
        return None
    return funcs


def rank1_update(a, alpha, y, x) -> bool:
    """``a += alpha * outer(y, x)`` in place for C-contiguous 2-D ``a`` (m, n), ``y`` (m,),
    ``x`` (n,) of a's dtype (float32/float64). Returns False (nothing done) when it cannot."""
    funcs = _blas_for(a)
    if funcs is None:
        return False
    y = np.ascontiguousarray(y, dtype=a.dtype)
    x = np.ascontiguousarray(x, dtype=a.dtype)
    m, n = a.shape
    previous = get_num_threads() if a.nbytes < GER_THREADED_BYTES else 1
    if previous != 1:
        set_num_threads(1)
    try:
        funcs[0](_ROW_MAJOR, m, n, alpha, _ptr(y), 1, _ptr(x), 1, _ptr(a), n)
    finally:
        if previous != 1:
            set_num_threads(previous)
    return True


def product_update(c, alpha, a, b, trans_a=False, trans_b=False) -> bool:
    """``c += alpha * op(a) @ op(b)`` in place (``op`` a transpose when asked) for
    C-contiguous 2-D ``c`` and 2-D ``a``, ``b`` of c's dtype. False when it cannot."""
    funcs = _blas_for(c)
    if funcs is None:
        return False
    a = np.ascontiguousarray(a, dtype=c.dtype)
    b = np.ascontiguousarray(b, dtype=c.dtype)
    m, n = c.shape
    k = a.shape[0] if trans_a else a.shape[1]
    funcs[1](_ROW_MAJOR, _TRANS if trans_a else _NO_TRANS, _TRANS if trans_b else _NO_TRANS,
             m, n, k, alpha, _ptr(a), a.shape[1], _ptr(b), b.shape[1], 1.0, _ptr(c), n)
    return True
