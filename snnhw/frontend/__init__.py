"""Frontends: read a trained network into :class:`snnhw.ir.Network`."""

from .torch import from_torch

__all__ = ["as_network", "from_torch"]


def as_network(model, input_shape=None, name=None):
    """``model`` as a float :class:`~snnhw.ir.Network`: a ``Network`` as it is, a
    ``torch.nn.Module`` through :func:`from_torch`; anything else is refused.

    Every public function that takes a float network accepts both, through this door.
    """
    from ..ir import IRError, Network

    if isinstance(model, Network):
        return model
    import torch
    if isinstance(model, torch.nn.Module):
        return from_torch(model, input_shape=input_shape, name=name)
    raise IRError(f"expected an snnhw.ir.Network or a torch.nn.Module, got {type(model).__name__}")
