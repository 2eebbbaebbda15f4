"""Frontends: read a trained network into :class:`snnhw.ir.Network`."""

from .torch import from_torch

__all__ = ["from_torch"]
