"""Seeing gradients: the recorded graph drawn as text, DOT, SVG or PNG (:func:`graph`), the
reverse pass step by step (:func:`backward_steps`), and the health of a model's gradients
(:func:`gradient_report`, :func:`watch_activations`, :class:`GradientHistory`), and a
numerical-stability lint of the recorded graph (:func:`lint`)."""
from .graph import Graph, graph
from .lint import Finding, LintReport, lint
from .report import GradientHistory, GradientReport, gradient_report, watch_activations
from .steps import backward_steps

__all__ = ["Finding", "Graph", "GradientHistory", "GradientReport", "LintReport", "backward_steps",
           "gradient_report", "graph", "lint", "watch_activations"]
