"""Spike codings: each module holds one coding's golden rules (numpy only).

A coding module provides

* ``static_input`` — whether the first layer receives the input once, as a constant
  current added every step (rate), or as events every step;
* ``steps(coding)`` — the number of steps of one inference;
* ``m_max(coding)`` — the largest ``|m|`` a spiking layer's event carries;
* ``fire(v, theta, coding)`` — the golden fire rule: ``(m, v_after)`` from the membrane
  after integration.

The matching hardware fire unit lives in :mod:`snnhw.hw.fire`.
"""

from ..ir import IRError
from . import rate

__all__ = ["coding_rules", "RULES"]

RULES = {"rate": rate}


def coding_rules(coding):
    """The rules module of a coding config."""
    try:
        return RULES[coding.kind]
    except (KeyError, AttributeError):
        raise IRError(f"unknown coding {coding!r}; available: {', '.join(RULES)}") from None
