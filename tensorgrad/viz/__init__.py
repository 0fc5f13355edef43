"""Seeing gradients: the recorded graph drawn as text, DOT, SVG or PNG (:func:`graph`)."""
from .graph import Graph, graph

__all__ = ["Graph", "graph"]
