"""Spike codings: one :class:`~snnhw.codings.base.Coding` subclass per coding, each in its
own module, owning its parameters, golden rules, width bounds, fire unit, search and report
section (``docs/semantics.md`` §0).

Every module of this package is imported here, and every coding class registers itself:
adding a coding is adding a module. :data:`CODINGS` maps the name a saved network stores to
the class; :data:`CHOICES` maps each value of ``--coding`` to the class and the way its
parameters are chosen (``adafire`` is burst coding whose per-layer parameters are searched).
"""

import importlib
import pkgutil

from ..errors import IRError
from .base import OPTION_DEFAULTS, REGISTRY, Choice, Coding, check_int
from .burst import BurstCoding
from .rate import RateCoding
from .single_spike import SingleSpikeCoding

__all__ = [
    "CHOICES",
    "CODINGS",
    "OPTION_DEFAULTS",
    "BurstCoding",
    "Choice",
    "Coding",
    "RateCoding",
    "SingleSpikeCoding",
    "check_coding",
    "check_early_exit",
    "check_int",
]

for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")

_CLASSES = sorted(REGISTRY, key=lambda c: c.order)

#: Coding name → config class.
CODINGS = {c.name: c for c in _CLASSES}

#: ``--coding`` value → :class:`~snnhw.codings.base.Choice`.
CHOICES = {name: Choice(name, c, getattr(c, method), tuple(options), early_exit)
           for c in _CLASSES for name, method, options, early_exit in c.choices}


def check_coding(coding):
    """Raise :class:`IRError` unless ``coding`` is a coding config."""
    if not isinstance(coding, Coding):
        raise IRError(f"coding must be a coding config "
                      f"({', '.join(c.__name__ for c in CODINGS.values())}), got {coding!r}")


def check_early_exit(coding):
    """Raise :class:`IRError` unless the IAT early exit applies to ``coding``."""
    if not coding.early_exit:
        multi = " or ".join(name for name, c in CODINGS.items() if c.early_exit)
        raise IRError(f"early exit needs a multi-step coding ({multi}), not {coding.name!r}")
