"""Grouping a Graph's nodes into boxes: one per ``nn.Module`` path, or one per run of
repeated sibling sub-graphs.

Each function returns a dict node id -> :class:`Box`; nodes in no box are drawn alone.

The repeat rule, precisely:

* A chain of ``add`` ops, each feeding only the next, is one n-ary sum ``Σ`` whose operands
  are the chain's non-add inputs in order (``B_i + c_0 + c_1 + ...``).
* The *signature* of a node is its op (or ``Σ``), result shape and dtype, and the
  signatures of its operands in order; a leaf's or constant's is its kind, shape and dtype.
  Static parameters are not part of it: ``x[0]`` and ``x[1]`` repeat each other.
* Operands of one consumer (one op, one ``Σ``, e.g. one ``stack``) repeat each other when
  they are distinct ops with the same signature, each used by that consumer alone. Two or
  more of them fold into one box, which holds each operand's *own* sub-graph: the nodes
  every use of which stays inside it (leaves and tensors shared with the rest of the graph
  stay outside, drawn once, with edges into the box).
* The box reads ``k × <summary>``, the summary naming the ops inside the sub-graph from the
  top (``Σ 5 × correlate2d``), nested repeats counted, and element-selecting ops
  (``getitem``, ``reshape``, ...) left out of the words.
"""
from __future__ import annotations

import heapq
from collections import Counter
from dataclasses import dataclass

from ._format import shape_text

# ops that only select or rearrange elements: left out of a folded box's short label
PLUMBING = frozenset({"getitem", "reshape", "transpose", "swapaxes", "moveaxis", "permute",
                      "expand_dims", "squeeze", "unsqueeze", "broadcast_to", "astype",
                      "ravel", "flatten", "view"})
_SUM = "add"
_MAX_DEPTH = 6  # a summary deeper than this ends in "…"


@dataclass(frozen=True)
class Box:
    """A group of nodes drawn as one: its DOT key, label, style kind and member ids."""

    key: str
    label: str
    kind: str
    members: frozenset


def _op_list(nodes) -> str:
    counts = Counter(n.label for n in nodes)
    return ", ".join(name if k == 1 else f"{k} × {name}" for name, k in counts.items())


def by_module(g) -> dict:
    """One box per ``nn.Module`` path: the ops recorded in it, and the parameters and
    constant arrays and numbers used only by those ops (input Tensors stay visible)."""
    groups: dict = {}
    for n in g.nodes:
        if n.is_op and n.module is not None:
            groups.setdefault(n.module, []).append(n.id)
    group_of = {i: path for path, ids in groups.items() for i in ids}
    for n in g.nodes:
        if (n.kind == "param" or (n.kind == "constant" and n.tensor is None)) and g.consumers[n.id]:
            paths = {group_of.get(c) for c in g.consumers[n.id]}
            if len(paths) == 1 and None not in paths:
                path = paths.pop()
                group_of[n.id] = path
                groups[path].append(n.id)
    outputs, boxes = set(g.outputs), {}
    for k, (path, ids) in enumerate(groups.items()):
        members = frozenset(ids)
        ops = [g.nodes[i] for i in sorted(ids) if g.nodes[i].is_op]
        kind = ops[0].module_type
        lines = [f"{path}: {kind}" if path else kind, _op_list(ops)]
        results = [n for n in ops if n.id in outputs
                   or any(c not in members for c in g.consumers[n.id])]
        lines += [f"→ {shape_text(n.shape)} {n.dtype}" for n in results]
        lines += [f"{g.nodes[i].label} {shape_text(g.nodes[i].shape)}" for i in sorted(ids)
                  if g.nodes[i].kind == "param"]
        box = Box(f"m{k}", "\n".join(lines), "module", members)
        boxes.update((i, box) for i in ids)
    return boxes


class _Repeats:
    """The chains, signatures and own sub-graphs that :func:`by_repeat` works on."""

    def __init__(self, g):
        self.g = g
        self.outputs = set(g.outputs)
        # chain[i]: the add at the end of the add chain that add i feeds (i itself if none)
        self.chain = {}
        for n in reversed(g.nodes):
            if not (n.is_op and n.label == _SUM):
                continue
            root = self.chain.setdefault(n.id, n.id)
            for i in n.inputs:
                m = g.nodes[i]
                if (m.is_op and m.label == _SUM and g.consumers[i] == [n.id]
                        and i not in self.outputs):
                    self.chain[i] = root
        self.links = Counter(r for i, r in self.chain.items() if i != r)  # adds absorbed
        table, self.sig = {}, []
        for n in g.nodes:
            if n.is_op:
                key = (self.head(n.id), n.shape, n.dtype,
                       tuple(self.sig[o] for o in self.operands(n.id)))
            else:
                key = (n.kind, n.shape, n.dtype)
            self.sig.append(table.setdefault(key, len(table)))

    def is_sum(self, i) -> bool:
        return self.links.get(i, 0) > 0 and self.chain.get(i) == i

    def head(self, i) -> str:
        return "Σ" if self.is_sum(i) else self.g.nodes[i].label

    def members(self, i) -> set:
        """The adds of the sum ending at ``i`` (``{i}`` for any other node)."""
        if not self.is_sum(i):
            return {i}
        return {j for j, r in self.chain.items() if r == i}

    def operands(self, i) -> list:
        """The inputs of ``i``; for a sum, the inputs of its adds that are not adds of it."""
        if not self.is_sum(i):
            return list(self.g.nodes[i].inputs)
        out, stack = [], list(reversed(self.g.nodes[i].inputs))
        while stack:
            j = stack.pop()
            if self.chain.get(j) == i:
                stack.extend(reversed(self.g.nodes[j].inputs))
            else:
                out.append(j)
        return out

    def own(self, root) -> set:
        """``root`` and the ops and constants every use of which is inside that set."""
        g, region, heap, queued = self.g, {root}, [], set()
        for i in g.nodes[root].inputs:
            if i not in queued:
                queued.add(i)
                heapq.heappush(heap, -i)
        while heap:
            i = -heapq.heappop(heap)  # highest id first: its consumers are all decided
            n = g.nodes[i]
            if n.kind in ("leaf", "param") or i in self.outputs:
                continue
            if all(c in region for c in g.consumers[i]):
                region.add(i)
                for j in n.inputs:
                    if j not in queued:
                        queued.add(j)
                        heapq.heappush(heap, -j)
        return region

    def repeated(self, consumer) -> list:
        """The runs of repeating operands of ``consumer`` (lists of two or more ids)."""
        inside = self.members(consumer)
        runs: dict = {}
        for o in dict.fromkeys(self.operands(consumer)):  # distinct, in order
            n = self.g.nodes[o]
            if (n.is_op and o not in self.outputs and len(self.g.consumers[o]) == 1
                    and self.g.consumers[o][0] in inside):
                runs.setdefault(self.sig[o], []).append(o)
        return [run for run in runs.values() if len(run) > 1]

    def summary(self, i, region, depth=0):
        """Words for the sub-graph of ``region`` below ``i``; None for element selection
        of what lies outside it."""
        n = self.g.nodes[i]
        if not n.is_op:
            return None
        if depth > _MAX_DEPTH:
            return "…"
        counts: dict = {}
        for o in self.operands(i):
            if o in region:
                text = self.summary(o, region, depth + 1)
                if text is not None:
                    counts.setdefault(self.sig[o], [text, 0])[1] += 1
        parts = [text if k == 1 else f"{k} × {_paren(text)}" for text, k in counts.values()]
        if self.is_sum(i):
            if len(parts) == 1:
                return f"Σ {parts[0]}"
            return "Σ(" + " + ".join(parts) + ")" if parts else "Σ"
        if not parts:
            return None if n.label in PLUMBING else n.label
        return f"{n.label}({', '.join(parts)})"


def _paren(text: str) -> str:
    return f"({text})" if " " in text and not text.endswith(")") else text


def by_repeat(g) -> dict:
    """Repeated sibling sub-graphs folded into one box each (rule in the module docstring);
    add chains that are not folded drawn as one ``Σ`` box."""
    r = _Repeats(g)
    boxes, done, stack = {}, set(), list(reversed(g.outputs))
    while stack:
        i = stack.pop()
        if i in done or not g.nodes[i].is_op:
            continue
        inside = r.members(i)
        done.update(inside)
        if len(inside) > 1:
            n = g.nodes[i]
            box = Box(f"s{i}", f"Σ  ({len(r.operands(i))} terms)\n{shape_text(n.shape)} "
                               f"{n.dtype}", "op", frozenset(inside))
            boxes.update((j, box) for j in inside)
        folded = set()
        for run in r.repeated(i):
            regions = [r.own(o) for o in run]
            members = frozenset().union(*regions)
            first = g.nodes[run[0]]
            words = r.summary(run[0], regions[0]) or first.label
            n_ops = sum(g.nodes[j].is_op for j in members)
            label = (f"{len(run)} × {_paren(words)}\neach {shape_text(first.shape)} "
                     f"{first.dtype} · {n_ops} ops")
            box = Box(f"r{run[0]}", label, "repeat", members)
            boxes.update((j, box) for j in members)
            done.update(members)
            folded.update(run)
            stack.extend(j for m in members for j in g.nodes[m].inputs if j not in members)
        stack.extend(o for o in reversed(r.operands(i)) if o not in folded)
    return boxes
