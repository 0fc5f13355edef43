"""Rewrites of a recorded step (:mod:`tensorgrad.compiled`): instructions in, instructions out."""
from __future__ import annotations


def rewrite_program(code):
    """The recorded instructions, rewritten (see docs/compile.md)."""
    return list(code)
