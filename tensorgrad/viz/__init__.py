"""Seeing gradients: the recorded graph drawn as text, DOT, SVG or PNG (:func:`graph`), the
reverse pass step by step (:func:`backward_steps`), and the health of a model's gradients
(:func:`gradient_report`, :func:`watch_activations`, :class:`GradientHistory`)."""
from .graph import Graph, graph
from .report import GradientHistory, GradientReport, gradient_report, watch_activations
from .steps import backward_steps

__all__ = ["Graph", "GradientHistory", "GradientReport", "backward_steps", "gradient_report",
           "graph", "watch_activations"]
