"""Seeing gradients: the recorded graph drawn as text, DOT, SVG or PNG (:func:`graph`), and
the reverse pass step by step (:func:`backward_steps`)."""
from .graph import Graph, graph
from .steps import backward_steps

__all__ = ["Graph", "backward_steps", "graph"]
