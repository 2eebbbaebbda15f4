"""The exception every check of snnhw raises for bad input."""

__all__ = ["IRError"]


class IRError(ValueError):
    """A network, layer or parameter that snnhw cannot represent; the message names it."""
