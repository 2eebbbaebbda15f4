"""PLL configuration search: the divider settings that make a clock from the board oscillator.

Pure Python (no Amaranth). Frequencies are in Hz. One search per FPGA family, with the same
maths, limits and tie rules as the vendor-independent tools (see ``boards/README.md``,
"Clocking"):

* iCE40 (``icepll``): ``SB_PLL40_PAD``, SIMPLE feedback.
  ``F_PFD = F_in / (DIVR + 1)`` in 10..133 MHz, ``F_VCO = F_PFD * (DIVF + 1)`` in 533..1066 MHz,
  ``F_out = F_VCO / 2**DIVQ`` with ``DIVQ`` in 1..6 and ``F_out`` in 16..275 MHz;
  ``FILTER_RANGE`` from ``F_PFD``.
* ECP5 (``ecppll``): ``EHXPLLL``, CLKOP feedback.
  ``F_PFD = F_in / CLKI_DIV`` in 3.125..400 MHz, ``F_out = F_PFD * CLKFB_DIV`` in 10..400 MHz,
  ``F_VCO = F_out * CLKOP_DIV`` in 400..800 MHz; among equally good settings the one with
  ``F_VCO`` closest to 600 MHz.

Frequencies are compared exactly (rational arithmetic); the ``f_out`` of a configuration is the
frequency its dividers make, not the request.
"""

from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache
from math import ceil, floor

import numpy as np


__all__ = [
    "ICE40PLLConfig", "ECP5PLLConfig", "PLL_LIMITS",
    "ice40_pll", "ecp5_pll", "nearest", "best_at_most", "achievable",
]


_MHZ = 1_000_000

#: Frequency limits per family, in MHz: input, phase detector, VCO and output.
PLL_LIMITS = {
    "ice40": {"in": (10, 133), "pfd": (10, 133), "vco": (533, 1066), "out": (16, 275)},
    "ecp5":  {"in": (8, 400), "pfd": (3.125, 400), "vco": (400, 800), "out": (10, 400)},
}

_FAMILY_NAMES = {"ice40": "iCE40", "ecp5": "ECP5"}


def _mhz(f):
    return f"{float(f) / _MHZ:.6g} MHz"


def _within(f, limits):
    low, high = limits
    return Fraction(low) * _MHZ <= f <= Fraction(high) * _MHZ


@dataclass(frozen=True)
class ICE40PLLConfig:
    """Settings of an iCE40 ``SB_PLL40_PAD`` with SIMPLE feedback.

    Attributes
    ----------
    f_in : float
        Input (oscillator) frequency, in Hz.
    divr, divf, divq : int
        Reference, feedback and output dividers (``DIVR`` 0..15, ``DIVF`` 0..127, ``DIVQ`` 1..6).
    filter_range : int
        Loop filter setting ``FILTER_RANGE`` (1..6, from the phase detector frequency).
    """
    f_in: float
    divr: int
    divf: int
    divq: int
    filter_range: int

    family = "ice40"
    primitive = "SB_PLL40_PAD"

    @property
    def f_pfd(self):
        """Phase detector frequency, in Hz."""
        return float(Fraction(self.f_in) / (self.divr + 1))

    @property
    def f_vco(self):
        """VCO frequency, in Hz."""
        return float(Fraction(self.f_in) * (self.divf + 1) / (self.divr + 1))

    @property
    def f_out(self):
        """Output frequency, in Hz."""
        return float(Fraction(self.f_in) * (self.divf + 1) / (self.divr + 1) / 2 ** self.divq)

    def parameters(self):
        """Parameters of the ``SB_PLL40_PAD`` instance."""
        return {"FEEDBACK_PATH": "SIMPLE", "DIVR": self.divr, "DIVF": self.divf,
                "DIVQ": self.divq, "FILTER_RANGE": self.filter_range}

    def as_dict(self):
        """The primitive, its parameters and the frequencies (MHz), for reports."""
        return {"primitive": self.primitive, **self.parameters(),
                "f_in_mhz": self.f_in / _MHZ, "f_pfd_mhz": self.f_pfd / _MHZ,
                "f_vco_mhz": self.f_vco / _MHZ, "f_out_mhz": self.f_out / _MHZ}


@dataclass(frozen=True)
class ECP5PLLConfig:
    """Settings of an ECP5 ``EHXPLLL`` with CLKOP feedback.

    Attributes
    ----------
    f_in : float
        Input (oscillator) frequency, in Hz.
    clki_div, clkfb_div, clkop_div : int
        Input, feedback and CLKOP dividers (1..128, 1..80, 1..128).
    clkop_cphase : int
        CLKOP coarse phase, in VCO cycles: half an output period, as ``ecppll`` computes it (in
        single precision, so some even ``clkop_div`` give ``clkop_div / 2 - 1``).
    """
    f_in: float
    clki_div: int
    clkfb_div: int
    clkop_div: int
    clkop_cphase: int

    family = "ecp5"
    primitive = "EHXPLLL"

    @property
    def f_pfd(self):
        """Phase detector frequency, in Hz."""
        return float(Fraction(self.f_in) / self.clki_div)

    @property
    def f_vco(self):
        """VCO frequency, in Hz."""
        return float(Fraction(self.f_in) * self.clkfb_div * self.clkop_div / self.clki_div)

    @property
    def f_out(self):
        """Output (CLKOP) frequency, in Hz."""
        return float(Fraction(self.f_in) * self.clkfb_div / self.clki_div)

    def parameters(self):
        """Parameters of the ``EHXPLLL`` instance."""
        return {"FEEDBK_PATH": "CLKOP", "CLKI_DIV": self.clki_div, "CLKFB_DIV": self.clkfb_div,
                "CLKOP_DIV": self.clkop_div, "CLKOP_CPHASE": self.clkop_cphase,
                "CLKOP_FPHASE": 0, "CLKOP_ENABLE": "ENABLED"}

    def as_dict(self):
        """The primitive, its parameters and the frequencies (MHz), for reports."""
        return {"primitive": self.primitive, **self.parameters(),
                "f_in_mhz": self.f_in / _MHZ, "f_pfd_mhz": self.f_pfd / _MHZ,
                "f_vco_mhz": self.f_vco / _MHZ, "f_out_mhz": self.f_out / _MHZ}


def _ice40_filter_range(f_pfd):
    """``FILTER_RANGE`` for a phase detector frequency (icepll's table)."""
    for bound, value in ((17, 1), (26, 2), (44, 3), (66, 4), (101, 5)):
        if f_pfd < bound * _MHZ:
            return value
    return 6


def _ecp5_cphase(f_in, clki_div, clkfb_div, clkop_div):
    """``CLKOP_CPHASE`` as ``ecppll`` computes it (single-precision frequencies)."""
    f32 = np.float32
    f_vco = f32(f_in / _MHZ) / f32(clki_div) * f32(clkfb_div) * f32(clkop_div)
    f_out = f_vco / f32(clkop_div)
    half_period = f32(1 / (float(f_out) * 1e6) * 0.5)
    return int(float(half_period) * (float(f_vco) * 1e6))


@lru_cache(maxsize=None)
def _ice40_candidates(f_in):
    """``(f_out, config)`` for every valid setting, in icepll's search order."""
    limits = PLL_LIMITS["ice40"]
    f_in_exact = Fraction(f_in)
    result = []
    for divr in range(16):
        f_pfd = f_in_exact / (divr + 1)
        if not _within(f_pfd, limits["pfd"]):
            continue
        for divf in range(128):
            f_vco = f_pfd * (divf + 1)
            if not _within(f_vco, limits["vco"]):
                continue
            for divq in range(1, 7):
                f_out = f_vco / 2 ** divq
                if _within(f_out, limits["out"]):
                    result.append((f_out, f_vco, ICE40PLLConfig(
                        f_in, divr, divf, divq, _ice40_filter_range(f_pfd))))
    return tuple(result)


@lru_cache(maxsize=None)
def _ecp5_candidates(f_in):
    """``(f_out, f_vco, (clki_div, clkfb_div, clkop_div))`` for every valid setting, in ecppll's
    search order (the phase is computed for the chosen one only)."""
    limits = PLL_LIMITS["ecp5"]
    f_in_exact = Fraction(f_in)
    vco_low, vco_high = (Fraction(f) * _MHZ for f in limits["vco"])
    result = []
    for clki_div in range(1, 129):
        f_pfd = f_in_exact / clki_div
        if not _within(f_pfd, limits["pfd"]):
            continue
        for clkfb_div in range(1, 81):
            f_out = f_pfd * clkfb_div
            if not _within(f_out, limits["out"]):
                continue
            for clkop_div in range(max(1, ceil(vco_low / f_out)),
                                   min(128, floor(vco_high / f_out)) + 1):
                result.append((f_out, f_out * clkop_div, (clki_div, clkfb_div, clkop_div)))
    return tuple(result)


def _family(board_or_family):
    """FPGA family of a board (name or :class:`~boards.platforms.Board`) or a family name."""
    if board_or_family in PLL_LIMITS:
        return board_or_family
    family = getattr(board_or_family, "family", None)
    if family is None:
        from .platforms import BOARDS
        if board_or_family not in BOARDS:
            raise ValueError(f"Unknown FPGA family or board {board_or_family!r}; expected one of "
                             f"{', '.join(PLL_LIMITS)} or a board name")
        family = BOARDS[board_or_family].family
    return family


def _candidates(family, f_in):
    limits = PLL_LIMITS[family]["in"]
    numeric = isinstance(f_in, (int, float)) and not isinstance(f_in, bool) and f_in == f_in
    if not numeric or abs(f_in) == float("inf") or not _within(Fraction(f_in), limits):
        raise ValueError(f"{_FAMILY_NAMES[family]} PLL input must be within "
                         f"{limits[0]:g}..{limits[1]:g} MHz, not "
                         f"{_mhz(f_in) if numeric else repr(f_in)}")
    if family == "ice40":
        return _ice40_candidates(f_in)
    return _ecp5_candidates(f_in)


@lru_cache(maxsize=None)
def _outputs(family, f_in):
    return tuple(sorted({f_out for f_out, _, _ in _candidates(family, f_in)}))


def achievable(board_or_family, f_in):
    """Every output frequency the PLL can make from ``f_in`` (Hz), ascending, in Hz."""
    return [float(f) for f in _outputs(_family(board_or_family), f_in)]


def _reach_error(family, f_in, what):
    outputs = _outputs(family, f_in)
    return ValueError(f"{_FAMILY_NAMES[family]} PLL cannot make {what} from {_mhz(f_in)}: "
                      f"reachable outputs are {float(outputs[0]) / _MHZ:.6g}.."
                      f"{_mhz(outputs[-1])}")


def _check_request(f):
    if isinstance(f, bool) or not isinstance(f, (int, float)) or not f > 0 or f == float("inf"):
        raise ValueError(f"PLL output frequency must be a positive number of Hz, not {f!r}")


def ice40_pll(f_in, f_out):
    """iCE40 settings whose output is closest to ``f_out`` (icepll's choice; ties: the first
    in its search order).

    Raises :exc:`ValueError` if ``f_out`` is outside 16..275 MHz.
    """
    return nearest("ice40", f_in, f_out)


def ecp5_pll(f_in, f_out):
    """ECP5 settings whose output is closest to ``f_out`` (ecppll's choice; ties: VCO closest to
    600 MHz, then the first in its search order).

    Raises :exc:`ValueError` if ``f_out`` is outside 10..400 MHz.
    """
    return nearest("ecp5", f_in, f_out)


def nearest(board_or_family, f_in, f_out):
    """PLL settings whose output is closest to the request ``f_out`` (Hz).

    Parameters
    ----------
    board_or_family : str or Board
        ``"ice40"``, ``"ecp5"``, a board name or a :class:`~boards.platforms.Board`.
    f_in : float
        Oscillator frequency, in Hz.
    f_out : float
        Requested output, in Hz, within the family's output limits (:data:`PLL_LIMITS`).

    Returns
    -------
    ICE40PLLConfig or ECP5PLLConfig

    Raises
    ------
    ValueError
        If ``f_out`` is outside the family's output limits.
    """
    family = _family(board_or_family)
    _check_request(f_out)
    candidates = _candidates(family, f_in)
    outputs = _outputs(family, f_in)
    target = Fraction(f_out)
    if not _within(target, PLL_LIMITS[family]["out"]):
        raise _reach_error(family, f_in, _mhz(f_out))
    best = None
    for f, f_vco, config in candidates:
        error = abs(f - target)
        if (best is None or error < best[0] or
                (family == "ecp5" and error == best[0]
                 and abs(f_vco - 600 * _MHZ) < abs(best[1] - 600 * _MHZ))):
            best = (error, f_vco, config)
    config = best[2]
    if family == "ecp5":
        config = ECP5PLLConfig(f_in, *config, _ecp5_cphase(f_in, *config))
    return config


def best_at_most(board_or_family, f_in, f_max):
    """PLL settings with the highest output at or below ``f_max`` (Hz).

    Parameters as :func:`nearest`; ``f_max`` above the highest reachable output gives the
    highest one. Among settings with that output, the one :func:`nearest` chooses.

    Raises
    ------
    ValueError
        If every reachable output is above ``f_max``.
    """
    family = _family(board_or_family)
    _check_request(f_max)
    outputs = _outputs(family, f_in)
    below = [f for f in outputs if f <= Fraction(f_max)]
    if not below:
        raise _reach_error(family, f_in, f"{_mhz(f_max)} or less")
    return nearest(family, f_in, float(below[-1]))
