"""Seeing gradients: the reverse pass step by step."""
from .steps import backward_steps  # noqa: F401
