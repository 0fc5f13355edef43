"""Graphviz DOT text, written directly (no graphviz import): quoting and one digraph."""
from __future__ import annotations


def quote(text: str) -> str:
    """``text`` as a DOT double-quoted string; newlines become centred line breaks."""
    text = str(text).replace("\\", "\\\\").replace('"', '\\"')
    return '"' + text.replace("\n", "\\n") + '"'


def _attrs(attrs: dict) -> str:
    return ", ".join(f"{k}={quote(v)}" for k, v in attrs.items())


def digraph(nodes, edges, name: str = "tensorgrad") -> str:
    """DOT text of a directed graph.

    Parameters
    ----------
    nodes : iterable of (str, dict)
        Node identifier and its attributes (``label``, ``shape``, ...), in drawing order.
    edges : iterable of (str, str)
        ``(tail, head)`` identifiers: data flows from tail to head.
    name : str
        The graph's name.
    """
    lines = [f"digraph {name} {{",
             '  graph [rankdir="TB"];',
             '  node [fontname="Helvetica", fontsize="10"];',
             '  edge [arrowsize="0.6"];']
    lines += [f"  {key} [{_attrs(attrs)}];" for key, attrs in nodes]
    lines += [f"  {tail} -> {head};" for tail, head in edges]
    lines.append("}")
    return "\n".join(lines) + "\n"
