"""Spike codings: one :class:`~snnhw.codings.base.Coding` subclass per coding, each in its
own module, owning its parameters, golden rules, width bounds, fire unit and search
(``docs/semantics.md`` §0).

:data:`CODINGS` maps the name a saved network stores to the class; :data:`CHOICES` maps
each value of ``--coding`` to the class and the way its parameters are chosen (``adafire`` is
burst coding whose per-layer parameters are searched).
"""

from dataclasses import dataclass

from ..errors import IRError
from .base import Coding, check_int
from .burst import BurstCoding
from .rate import RateCoding
from .single_spike import SingleSpikeCoding

__all__ = ["Coding", "RateCoding", "BurstCoding", "SingleSpikeCoding", "CODINGS", "CHOICES",
           "Choice", "check_coding", "check_early_exit", "check_int", "OPTION_DEFAULTS"]

#: Coding name → config class.
CODINGS = {c.name: c for c in (RateCoding, BurstCoding, SingleSpikeCoding)}

#: The coding options of ``choose_coding`` and their defaults ("unset").
OPTION_DEFAULTS = {"timesteps": None, "window": None, "base": None, "threshold_shift": True,
                   "negative_spikes": None, "max_burst": None, "ssc": True, "refine": False}


@dataclass(frozen=True)
class Choice:
    """One value of ``--coding``.

    Attributes
    ----------
    name : str
    coding : type
        The :class:`Coding` subclass it builds.
    choose : callable
        ``choose(net, x_cal, y_cal, options, quant)`` → ``(coding, search)``.
    options : tuple of str
        The keys of :data:`OPTION_DEFAULTS` that apply.
    early_exit : bool
        Whether the IAT early exit is on by default.
    """
    name: str
    coding: type
    choose: object
    options: tuple
    early_exit: bool = False

    def check_options(self, options):
        """Raise :class:`IRError` for an option set (not its default) that does not apply."""
        for key, value in options.items():
            if key not in OPTION_DEFAULTS:
                raise IRError(f"unknown coding option {key!r}")
            if key not in self.options and value != OPTION_DEFAULTS[key]:
                raise IRError(f"option {key.replace('_', '-')} = {value!r} does not apply to "
                              f"coding {self.name!r} (it takes: "
                              f"{', '.join(k.replace('_', '-') for k in self.options) or 'none'})")


#: ``--coding`` value → :class:`Choice`.
CHOICES = {c.name: c for c in (
    Choice("rate", RateCoding, RateCoding.choose, ("timesteps",)),
    Choice("burst", BurstCoding, BurstCoding.choose, ("timesteps", "max_burst")),
    Choice("adafire", BurstCoding, BurstCoding.choose_adafire,
           ("timesteps", "max_burst", "ssc", "refine"), early_exit=True),
    Choice("single_spike", SingleSpikeCoding, SingleSpikeCoding.choose,
           ("window", "base", "threshold_shift", "negative_spikes")),
)}


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
