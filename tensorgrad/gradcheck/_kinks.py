"""Kinks that finite differences step over: which recorded ops of the function a step of
one input brings to a point where the op is not differentiable (declared with
:meth:`Op.defkinks <tensorgrad.Op.defkinks>`: relu and abs at 0, ties of max, min, maximum,
minimum and max_pool2d, clip's bounds).

A step ``±h`` of the input moves each op's inputs; an op input element is reached when its
distance to a kink is at most twice how far the step moved it (two moving elements may
meet halfway). The recorded graph is compared at the input, at input + h and at input - h,
node by node in creation order.
"""
from __future__ import annotations

import dataclasses

import numpy as np

from ._report import index_of


@dataclasses.dataclass(frozen=True)
class Kink:
    """A recorded op input element that a finite-difference step reaches a kink at."""

    op: str
    position: int  # of the node in creation order, from 0
    count: int  # recorded nodes in all
    argument: int  # which input of the op
    index: tuple  # in the op input's (or the broadcast) shape
    value: float  # the op input there
    distance: float  # to the kink
    site: str | None
    switch: bool = False  # a boolean input (a where's condition, a mask) that the step changes

    def describe(self) -> str:
        where = f"created at {self.site}" if self.site else "(source line unknown)"
        head = f"'{self.op}' (op {self.position + 1} of {self.count} in creation order), its "
        if self.switch:
            return (f"{head}boolean input {self.argument} (a condition or a mask) at index "
                    f"{self.index} changes within the step: the function switches there; {where}")
        return (f"{head}input {self.argument} at index {self.index} = {self.value:.10g}, "
                f"{self.distance:.3g} from a kink; {where}")


def _distances(node) -> tuple:
    """The op's declared distances to a kink, one entry per input (None: no kinks).

    Raises ValueError when the declared function returns a tuple of the wrong length, or an
    array whose shape does not broadcast with its input's."""
    d = node.op.kinks(*node.inputs, **node.params)
    n = len(node.inputs)
    expected = (f"expected an array of distances broadcastable to the inputs' shapes, or a "
                f"tuple of {n} (one per input, None for an input without kinks)")
    if isinstance(d, (tuple, list)):
        if len(d) != n:
            raise ValueError(f"gradcheck: the kinks declared for '{node.op.name}' (defkinks) "
                             f"returned a tuple of {len(d)} for an op of {n} inputs; {expected}")
        d = tuple(d)
    else:
        d = (d,) * n
    for argument, (distance, x) in enumerate(zip(d, node.inputs)):
        if distance is None or x is None:
            continue
        try:
            np.broadcast_shapes(np.shape(distance), np.shape(x))
        except ValueError:
            raise ValueError(
                f"gradcheck: the kinks declared for '{node.op.name}' (defkinks) returned shape "
                f"{np.shape(distance)} for its input {argument} of shape {np.shape(x)}; "
                f"{expected}") from None
    return d


def _same_run(a, b) -> bool:
    return (a.op is b.op and len(a.inputs) == len(b.inputs)
            and all(np.shape(x) == np.shape(y) for x, y in zip(a.inputs, b.inputs)))


def _conditions(node) -> list:
    """The positions of the node's boolean inputs (a where's condition, a mask it multiplies)."""
    return [i for i, x in enumerate(node.inputs)
            if x is not None and np.asarray(x).dtype == np.bool_]


def kinks_reached(p, j, step) -> list:
    """The :class:`Kink` s that ``base ± step`` of differentiable input ``j`` reaches, the
    nearest element of each op input, and the boolean op inputs it changes (``switch``, the
    first element changed); empty when the function's ops declare none there or
    when the step changes which ops run."""
    base = p.recorded()
    if not any(n.op.kinks is not None or _conditions(n) for n in base):
        return []
    plus, minus = p.recorded(j, step), p.recorded(j, -step)
    if len(plus) != len(base) or len(minus) != len(base):
        return []
    found = []
    for position, (node, up, down) in enumerate(zip(base, plus, minus)):
        if not (_same_run(node, up) and _same_run(node, down)):
            continue
        for argument in _conditions(node):
            x = np.asarray(node.inputs[argument])
            changed = (np.asarray(up.inputs[argument]) != x) | (np.asarray(down.inputs[argument]) != x)
            if np.any(changed):
                index = index_of(int(np.argmax(changed.reshape(-1))), changed.shape)
                found.append(Kink(node.op.name, position, len(base), argument, index,
                                  float(x[index]), 0.0, node.site, switch=True))
        if node.op.kinks is None:
            continue
        for argument, distance in enumerate(_distances(node)):
            x = node.inputs[argument]
            if distance is None or x is None:
                continue
            x = np.asarray(x, dtype=np.float64)
            moved = np.maximum(np.abs(np.asarray(up.inputs[argument], dtype=np.float64) - x),
                               np.abs(np.asarray(down.inputs[argument], dtype=np.float64) - x))
            distance = np.asarray(distance, dtype=np.float64)
            reached = (moved > 0) & (distance <= 2 * moved)
            if not np.any(reached):
                continue
            masked = np.where(reached, distance, np.inf)
            flat = int(np.argmin(masked))
            index = index_of(flat, masked.shape)
            found.append(Kink(node.op.name, position, len(base), argument, index,
                              float(np.broadcast_to(x, masked.shape)[index]),
                              float(masked.reshape(-1)[flat]), node.site))
    return found
