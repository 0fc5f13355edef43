"""``tg.graph``: the recorded graph of some outputs, as data, text, DOT, SVG or PNG.

:func:`graph` reads the nodes the engine already recorded (``tensor.grad_fn`` and its
parents) into a :class:`Graph`: one :class:`GraphNode` per op, per leaf and per constant, in
topological order (inputs before the ops that use them). Nothing is recorded for it and
nothing is computed until it is asked for: the op names, shapes, static parameters, the
``nn.Module`` path (``node.module``) and the source line (``node.site``, under
``tg.record_sites()``) are all read from what recording keeps anyway.

Drawing: :meth:`Graph.to_dot` writes Graphviz DOT text (three ways: every node, one box per
module, or repeated sibling sub-graphs folded into one box with a count), :meth:`Graph.render`
turns it into SVG or PNG through the ``graphviz`` package and the ``dot`` program, and
``str(graph)`` is a text tree. docs/graph.md shows each.

Gradient norms: a Graph registers a gradient hook (:meth:`Tensor.register_hook`) on each of
its tensors that requires grad; the hooks hold the Graph weakly, return None (the gradient
is never changed) and are removed when the Graph is collected or once a backward has
released the whole graph. A backward through the graph fills in ``GraphNode.grad_norm``.
"""
from __future__ import annotations

import html
import pathlib
import shutil
import weakref
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import BackwardError
from ..nn import Parameter
from ..tensor import Tensor
from ._collapse import by_module, by_repeat
from ._dot import digraph
from ._format import shape_text, value_text

__all__ = ["Graph", "GraphNode", "graph"]

_COLLAPSE = {None: None, "module": by_module, "repeat": by_repeat}
_STYLE = {
    "op": {"shape": "box", "style": "rounded,filled", "fillcolor": "#eef2f7"},
    "leaf": {"shape": "ellipse", "style": "filled", "fillcolor": "#dbeafe"},
    "param": {"shape": "ellipse", "style": "filled", "fillcolor": "#dcfce7"},
    "constant": {"shape": "note", "style": "filled", "fillcolor": "#f5f5f5"},
    "module": {"shape": "box3d", "style": "filled", "fillcolor": "#fef3c7"},
    "repeat": {"shape": "box", "style": "filled,bold", "fillcolor": "#ede9fe"},
}


@dataclass
class GraphNode:
    """One node of a :class:`Graph`: an op with its result, a leaf, or a constant.

    Attributes
    ----------
    id : int
        Position in ``Graph.nodes`` (topological: every input has a smaller id).
    kind : str
        ``"op"``, ``"leaf"`` (a Tensor that requires grad and was not computed by an op),
        ``"param"`` (a leaf named through ``params=``, or an ``nn.Parameter``) or
        ``"constant"`` (an array, a number, or a Tensor that does not require grad).
    label : str
        The op's name (``"correlate2d"``), a parameter's name (``"features.0.weight"``),
        ``"leaf"``, ``"parameter"``, ``"constant"``, or a number's value.
    shape : tuple of int
        The shape of the op's result, the leaf or the constant.
    dtype : str
        Its dtype's name.
    inputs : tuple of int
        The ids of the op's arguments in call order (empty for leaves and constants).
    params : dict
        The op's complete static parameters as text; arrays of more than 8 elements or more
        than one dimension (max_pool2d's ``index``) as ``"array(shape, dtype)"``.
    defaults : tuple of str
        The names of the params that hold the op's default values (labels leave them out).
    module : str or None
        The ``nn.Module`` path the op was recorded in (``"features.0"``; ``""`` for the
        outermost module called), None outside modules.
    module_type : str or None
        That module's class name (``"Conv2d"``).
    site : str or None
        ``"file:line in function: source"``, when recorded under ``tg.record_sites()``.
    tensor : Tensor or None
        The op's result or the leaf (None for arrays and numbers).
    grad_norm : float or None
        The Euclidean norm of the gradient at this tensor in the latest backward through
        the graph after the Graph was taken (None before such a backward, and for
        constants). It is the gradient as the hooks registered before the Graph left it.
    """

    id: int
    kind: str
    label: str
    shape: tuple
    dtype: str
    inputs: tuple = ()
    params: dict = field(default_factory=dict)
    defaults: tuple = ()
    module: str | None = None
    module_type: str | None = None
    site: str | None = None
    tensor: Any = field(default=None, repr=False, compare=False)
    grad_norm: float | None = None

    @property
    def is_op(self) -> bool:
        return self.kind == "op"

    def shown_params(self) -> dict:
        """The params that differ from the op's defaults (what labels show)."""
        return {k: v for k, v in self.params.items() if k not in self.defaults}

    def describe(self) -> str:
        """One line: label, shape and dtype, non-default params (e.g.
        ``"correlate2d (24, 24) float64 mode='valid'"``)."""
        text = f"{self.label} {shape_text(self.shape)} {self.dtype}"
        extra = " ".join(f"{k}={v}" for k, v in self.shown_params().items())
        return f"{text} {extra}" if extra else text


def _is_default(op, name, value) -> bool:
    if name not in op.defaults:
        return False
    default = op.defaults[name]
    if isinstance(value, (np.ndarray, Tensor)) or isinstance(default, np.ndarray):
        return False
    try:
        return bool(type(value) is type(default) and value == default)
    except (TypeError, ValueError):
        return False


def _param_names(params) -> dict:
    """``params`` (None, a mapping or (name, Tensor) pairs) as a dict id(tensor) -> name."""
    if params is None:
        return {}
    items = params.items() if isinstance(params, Mapping) else params
    names = {}
    try:
        for name, t in items:
            if not isinstance(t, Tensor):
                raise TypeError
            names[id(t)] = str(name)
    except (TypeError, ValueError):
        raise TypeError("graph: params must be a dict name -> Tensor or (name, Tensor) pairs "
                        "such as model.named_parameters()") from None
    return names


def graph(*outputs, params=None) -> Graph:
    """The recorded graph of ``outputs``, as a :class:`Graph` to print, draw or inspect.

    Parameters
    ----------
    *outputs : Tensor
        One or more results (any shapes); their recorded ops and leaves are read.
    params : mapping or iterable of (str, Tensor), optional
        Names for leaves, e.g. ``model.named_parameters()`` or ``{"W1": W1}``: those leaves
        are labelled by name (kind ``"param"``).

    Returns
    -------
    Graph
        One node per op, leaf and constant, inputs before the ops that use them.

    Raises
    ------
    TypeError
        No outputs, an output that is not a Tensor, or ``params`` of another form.
    BackwardError
        Part of the graph was released by a backward without ``retain_graph=True``: take
        the graph before that backward, or pass ``retain_graph=True`` to it.

    Examples
    --------
    >>> x = tg.tensor([1.0, 2.0], requires_grad=True)
    >>> print(tg.graph((x * 3).sum()))
    #3 sum () float64
    └─ #2 multiply (2,) float64
       ├─ #0 leaf (2,) float64
       └─ 3
    """
    if not outputs:
        raise TypeError("graph: expected at least one output Tensor")
    for i, t in enumerate(outputs):
        if not isinstance(t, Tensor):
            raise TypeError(f"graph: output {i} must be a Tensor, got {type(t).__name__}")
    return Graph(outputs, _param_names(params))


class Graph:
    """The recorded graph of some outputs (made by :func:`graph`).

    Attributes
    ----------
    nodes : list of GraphNode
        Ops, leaves and constants in topological order (``nodes[i].id == i``).
    outputs : list of int
        The ids of the outputs, in the order given.

    ``str(graph)`` is a text tree from the outputs down to the leaves; :meth:`to_dot` gives
    Graphviz DOT text, :meth:`render` an SVG or PNG file; in Jupyter the graph displays
    itself (SVG when ``dot`` is installed, else an HTML table).
    """

    def __init__(self, outputs, names: dict):
        self.nodes: list[GraphNode] = []
        self._ids: dict[int, int] = {}  # id(Tensor or ndarray) -> node id
        self._keep = []  # what the keys of _ids refer to, alive while the Graph is
        for t in outputs:
            self._walk(t, names)
        self.outputs = [self._ids[id(t)] for t in outputs]
        self.consumers: list[list[int]] = [[] for _ in self.nodes]
        for n in self.nodes:
            for i in n.inputs:
                self.consumers[i].append(n.id)
        self._watch()

    # -- gradient norms ---------------------------------------------------------------------
    def _watch(self) -> None:
        """Register a norm-recording hook on every tensor of the graph that requires grad.

        Op results belong to this graph alone, so their hooks fire only in a backward
        through it. A leaf (a parameter) may be used by other graphs too: its norm is taken
        only when one of its consumers in this graph fired first in the same pass (the
        leaf is then *pending*), so a later backward through another graph that shares
        the parameter leaves this Graph's numbers alone.
        """
        ref = weakref.ref(self)
        handles = []
        self._pending: set[int] = {i for i in self.outputs if not self.nodes[i].is_op}
        self._leaf_inputs = {}  # op node id -> ids of the leaves among its inputs
        for n in self.nodes:
            t = n.tensor
            if t is None or not t.requires_grad:
                continue
            handles.append(t.register_hook(_NormHook(ref, n.id)))
            if n.is_op:
                self._leaf_inputs[n.id] = tuple(
                    i for i in set(n.inputs)
                    if self.nodes[i].kind in ("leaf", "param") and self.nodes[i].tensor is not None
                    and self.nodes[i].tensor.requires_grad)
        self._unwatch = weakref.finalize(self, _remove_all, handles)

    def _saw(self, i: int, g) -> None:
        """A hook's report: ``g`` (a Tensor) is the gradient at node ``i``."""
        node = self.nodes[i]
        if node.is_op:
            self._pending.update(self._leaf_inputs[i])
        elif i in self._pending:
            self._pending.discard(i)
        else:
            return  # a backward through another graph that shares this leaf
        node.grad_norm = float(np.linalg.norm(np.ravel(g.data)))
        if not node.is_op and not self._pending and self._released():
            self._unwatch()  # no backward can pass through this graph again

    def _released(self) -> bool:
        """Whether every op of the graph was released by a backward (earliest ops first:
        they are released last, so an unreleased graph answers at once)."""
        return all(n.tensor.grad_fn is None or n.tensor.grad_fn.released
                   for n in self.nodes if n.is_op)

    @property
    def watching(self) -> bool:
        """Whether the Graph still has hooks registered for gradient norms."""
        return self._unwatch.alive

    # -- reading the recorded nodes -------------------------------------------------------
    def _add(self, key, **fields) -> int:
        node = GraphNode(id=len(self.nodes), **fields)
        self.nodes.append(node)
        if key is not None:
            self._ids[id(key)] = node.id
            self._keep.append(key)
        return node.id

    def _leaf(self, a, names) -> int:
        """The node of a leaf or constant argument (a new one per number)."""
        if isinstance(a, (Tensor, np.ndarray)) and id(a) in self._ids:
            return self._ids[id(a)]
        if isinstance(a, Tensor):
            if id(a) in names:
                kind, label = "param", names[id(a)]
            elif a.requires_grad:
                kind, label = ("param", "parameter") if isinstance(a, Parameter) else ("leaf", "leaf")
            else:
                kind, label = "constant", "constant"
            return self._add(a, kind=kind, label=label, shape=a.shape, dtype=str(a.dtype),
                             tensor=a)
        if isinstance(a, np.ndarray):
            label = "constant" if a.size > 1 else value_text(a.reshape(()) if a.size else a)
            return self._add(a, kind="constant", label=label, shape=a.shape, dtype=str(a.dtype))
        arr = np.asarray(a)
        return self._add(None, kind="constant", label=repr(a), shape=arr.shape,
                         dtype=str(arr.dtype))

    def _walk(self, root, names) -> None:
        """Add ``root`` and everything it was computed from, inputs first (iterative)."""
        if id(root) in self._ids:
            return
        stack = [(root, False)]
        while stack:
            t, expanded = stack.pop()
            if id(t) in self._ids:
                continue
            fn = t.grad_fn
            if fn is None:
                self._leaf(t, names)
                continue
            if fn.released:
                raise BackwardError(
                    f"graph: the graph through '{fn.name}' (result shape {t.shape}) was already "
                    "released by a backward call without retain_graph=True; take tg.graph(...) "
                    "before that backward, or pass retain_graph=True to it")
            if not expanded:
                stack.append((t, True))
                stack.extend((p, False) for p in reversed(fn.parents)
                             if isinstance(p, Tensor) and id(p) not in self._ids)
                continue
            inputs = tuple(self._ids[id(p)] if isinstance(p, Tensor) else self._leaf(p, names)
                           for p in fn.parents)
            op, scope = fn.op, fn.module
            self._add(t, kind="op", label=fn.name, shape=t.shape, dtype=str(t.dtype),
                      inputs=inputs,
                      params={k: value_text(v) for k, v in fn.params.items()},
                      defaults=tuple(k for k, v in fn.params.items() if _is_default(op, k, v)),
                      module=None if scope is None else scope.path,
                      module_type=None if scope is None else scope.type,
                      site=fn.site, tensor=t)

    # -- inspection -----------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.nodes)

    def __iter__(self):
        return iter(self.nodes)

    def __getitem__(self, i) -> GraphNode:
        return self.nodes[i]

    def node_of(self, tensor) -> GraphNode:
        """The node of ``tensor`` (an op's result or a leaf); KeyError when it is not in
        the graph."""
        try:
            return self.nodes[self._ids[id(tensor)]]
        except KeyError:
            raise KeyError("Graph.node_of: this tensor is not part of the graph") from None

    def ops(self) -> list[GraphNode]:
        """The op nodes, inputs first."""
        return [n for n in self.nodes if n.is_op]

    # -- text -------------------------------------------------------------------------------
    def _line(self, n: GraphNode) -> str:
        text = f"#{n.id} {n.describe()}" if n.kind != "constant" or n.shape else n.label
        if n.module is not None:
            text += f"  [{n.module or n.module_type}{'' if not n.module else ': ' + n.module_type}]"
        if n.grad_norm is not None:
            text += f"  {_norm_text(n.grad_norm)}"
        if n.site:
            text += f"  @ {n.site}"
        return text

    def __str__(self) -> str:
        """A text tree from each output down to its leaves; a node already shown is named
        by its number (``#3 ^``) instead of being repeated."""
        lines, shown = [], set()
        for out in self.outputs:
            stack = [(out, "", "", True)]
            while stack:
                i, lead, child_lead, _ = stack.pop()
                n = self.nodes[i]
                if i in shown and n.inputs:
                    lines.append(f"{lead}#{i} ^ (shown above)")
                    continue
                shown.add(i)
                lines.append(lead + self._line(n))
                k = len(n.inputs)
                for j, child in reversed(list(enumerate(n.inputs))):
                    last = j == k - 1
                    stack.append((child, child_lead + ("└─ " if last else "├─ "),
                                  child_lead + ("   " if last else "│  "), last))
        return "\n".join(lines)

    def __repr__(self) -> str:
        n_ops = sum(n.is_op for n in self.nodes)
        return (f"<Graph: {n_ops} ops, {len(self.nodes) - n_ops} leaves and constants, "
                f"{len(self.outputs)} output{'s' if len(self.outputs) != 1 else ''}>")

    # -- DOT ---------------------------------------------------------------------------------
    def to_dot(self, collapse: str | None = None) -> str:
        """Graphviz DOT text of the graph (data flows down, from leaves to outputs).

        Parameters
        ----------
        collapse : {None, "module", "repeat"}
            None: one DOT node per op, leaf and constant. ``"module"``: one box per
            ``nn.Module`` path holding the ops recorded in it, with the parameters and
            constants only that module uses. ``"repeat"``: sibling sub-graphs that repeat
            the same ops on the same shapes fold into one box labelled with the count (see
            docs/graph.md for the exact rule), and chains of ``add`` read as one ``Σ``.

        Returns
        -------
        str
            DOT text (``digraph tensorgrad { ... }``); written by tensorgrad, needs no
            graphviz.

        Raises
        ------
        ValueError
            ``collapse`` is not one of the three.
        """
        if not (collapse is None or isinstance(collapse, str)) or collapse not in _COLLAPSE:
            raise ValueError(f"Graph.to_dot: collapse must be None, 'module' or 'repeat', "
                             f"got {collapse!r}")
        boxes_of = _COLLAPSE[collapse]
        return self._dot(boxes_of(self) if boxes_of else {})

    def _dot(self, boxes: dict) -> str:
        """DOT text with the nodes in ``boxes`` (node id -> Box) drawn as their box."""
        key_of, drawn, dot_nodes, edges, seen_edges = {}, set(), [], [], set()
        outputs = set(self.outputs)
        for n in self.nodes:
            box = boxes.get(n.id)
            if box is None:
                key_of[n.id] = f"n{n.id}"
                attrs = {"label": self._dot_label(n), **_STYLE[n.kind]}
                if n.id in outputs:
                    attrs["penwidth"] = "2"
                dot_nodes.append((key_of[n.id], attrs))
                continue
            key_of[n.id] = box.key
            if box.key not in drawn:
                drawn.add(box.key)
                attrs = {"label": box.label, **_STYLE[box.kind]}
                if outputs & box.members:
                    attrs["penwidth"] = "2"
                dot_nodes.append((box.key, attrs))
        for n in self.nodes:
            head = key_of[n.id]
            for i in n.inputs:
                tail = key_of[i]
                if tail != head and (tail, head) not in seen_edges:
                    seen_edges.add((tail, head))
                    edges.append((tail, head))
        return digraph(dot_nodes, edges)

    @staticmethod
    def _dot_label(n: GraphNode) -> str:
        if n.kind == "constant" and not n.shape:
            return n.label
        lines = [n.label, f"{shape_text(n.shape)} {n.dtype}"]
        lines += [f"{k}={v}" for k, v in n.shown_params().items()]
        if n.module is not None:
            lines.append(f"[{n.module or n.module_type}]")
        if n.grad_norm is not None:
            lines.append(_norm_text(n.grad_norm))
        if n.site:
            where = n.site.split(" in ")[0]
            lines.append(where.rsplit("/", 1)[-1])
        return "\n".join(lines)

    # -- files and notebooks ----------------------------------------------------------------
    def render(self, path, collapse: str | None = None) -> pathlib.Path:
        """Draw the graph into an image file through Graphviz.

        Parameters
        ----------
        path : str or path-like
            Where to write; its suffix picks the format: ``.svg``, ``.png`` or ``.pdf``.
        collapse : {None, "module", "repeat"}
            As in :meth:`to_dot`.

        Returns
        -------
        pathlib.Path
            ``path``.

        Raises
        ------
        ValueError
            An unsupported suffix.
        ImportError
            The ``graphviz`` Python package is missing (``pip install "tensorgrad[viz]"``).
        RuntimeError
            Graphviz's ``dot`` program is missing (``apt-get install graphviz``,
            ``brew install graphviz``, or https://graphviz.org/download/).
        """
        path = pathlib.Path(path)
        fmt = path.suffix.lower().lstrip(".")
        if fmt not in ("svg", "png", "pdf"):
            raise ValueError(f"Graph.render: cannot tell the format from the suffix of "
                             f"{str(path)!r}; use .svg, .png or .pdf")
        path.write_bytes(_pipe(self.to_dot(collapse), fmt, "Graph.render"))
        return path

    def _repr_svg_(self):
        """SVG for Jupyter when Graphviz is installed (None otherwise: the HTML table)."""
        if not _graphviz_available():
            return None
        collapse = "repeat" if len(self.nodes) > 150 else None
        return _pipe(self.to_dot(collapse), "svg", "Graph").decode("utf-8")

    def _repr_html_(self):
        """An HTML table of the nodes for Jupyter when Graphviz is missing."""
        if _graphviz_available():
            return None
        return self.to_html()

    def to_html(self) -> str:
        """The nodes as an HTML table: id, kind, label, inputs, shape, dtype, params,
        module, gradient norm, source line."""
        head = ("<tr><th>#</th><th>kind</th><th>op / name</th><th>inputs</th><th>shape</th>"
                "<th>dtype</th><th>params</th><th>module</th><th>grad norm</th><th>source</th></tr>")
        rows = []
        for n in self.nodes:
            cells = [n.id, n.kind, n.label, ", ".join(f"#{i}" for i in n.inputs),
                     shape_text(n.shape), n.dtype,
                     ", ".join(f"{k}={v}" for k, v in n.shown_params().items()),
                     "" if n.module is None else (n.module or n.module_type),
                     "" if n.grad_norm is None else f"{n.grad_norm:.3g}", n.site or ""]
            rows.append("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in cells)
                        + "</tr>")
        return f"<table>{head}{''.join(rows)}</table>"


class _NormHook:
    """The hook a Graph registers on each of its tensors: reports the gradient to the Graph
    (held weakly) and returns None, so the gradient is never changed."""

    __slots__ = ("graph", "node")

    def __init__(self, graph_ref, node_id):
        self.graph, self.node = graph_ref, node_id

    def __call__(self, g):
        graph = self.graph()
        if graph is not None:
            graph._saw(self.node, g)


def _remove_all(handles) -> None:
    for h in handles:
        h.remove()


def _norm_text(value: float) -> str:
    return f"|g|={value:.3g}"


def _graphviz_available() -> bool:
    try:
        import graphviz  # noqa: F401
    except ImportError:
        return False
    return shutil.which("dot") is not None


def _pipe(dot_text: str, fmt: str, what: str) -> bytes:
    """``dot_text`` laid out by Graphviz's ``dot`` into ``fmt`` bytes."""
    try:
        import graphviz
    except ImportError:
        raise ImportError(f"{what}: drawing needs the Python package 'graphviz', which is not "
                          "installed: pip install \"tensorgrad[viz]\" (or pip install graphviz); "
                          "it also needs Graphviz's dot program (apt-get install graphviz). "
                          "Graph.to_dot() works without either") from None
    missing = RuntimeError(f"{what}: drawing needs Graphviz's 'dot' program, which is not on the "
                           "PATH: apt-get install graphviz (Debian/Ubuntu), brew install graphviz "
                           "(macOS), or https://graphviz.org/download/. Graph.to_dot() works "
                           "without it")
    if shutil.which("dot") is None:
        raise missing
    try:
        return graphviz.Source(dot_text).pipe(format=fmt)
    except graphviz.ExecutableNotFound:
        raise missing from None
