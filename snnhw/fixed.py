"""Every rounding, saturation, bit-width and tie rule of snnhw, in one place.

Both the golden model (:mod:`snnhw.golden`) and the hardware generator (:mod:`snnhw.hw`)
import these functions; nothing else in the project decides a width or a rounding.

Rules
-----
* Quantisation rounds half away from zero (:func:`round_half_away`), then saturates
  (:func:`saturate`) to the two's-complement range of the target width.
* Inference arithmetic is exact integer arithmetic: every accumulator is as wide as its
  static bound (:func:`signed_width` of the bounds below), so overflow is impossible.
* The initial membrane of a spiking neuron is ``θ // 2`` (:func:`initial_membrane`).
* ``argmax`` ties go to the lowest index (:func:`argmax_lowest`); hardware updates its
  running maximum only on a strictly greater value.
"""

import math

import numpy as np

__all__ = [
    "WEIGHT_BITS_RANGE", "INPUT_BITS_RANGE", "READOUT_BITS",
    "round_half_away", "saturate", "signed_range", "signed_width", "unsigned_width",
    "ceil_log2", "input_levels", "input_code_range", "check_input_codes", "quantise_input", "weight_frac_bits", "initial_membrane",
    "argmax_lowest", "top2_margin", "synaptic_drive_bound", "membrane_bound",
]

#: Allowed weight widths (inclusive).
WEIGHT_BITS_RANGE = (4, 16)
#: Allowed input widths (inclusive).
INPUT_BITS_RANGE = (2, 16)
#: Width of the accelerator's readout registers (output potentials, counters).
READOUT_BITS = 32


def round_half_away(x):
    """Round to the nearest integer, halves away from zero; returns int64."""
    x = np.asarray(x, dtype=np.float64)
    return (np.sign(x) * np.floor(np.abs(x) + 0.5)).astype(np.int64)


def signed_range(bits):
    """``(lo, hi)`` of a two's-complement integer of ``bits`` bits."""
    return -(1 << (bits - 1)), (1 << (bits - 1)) - 1


def saturate(x, bits, signed=True):
    """Clip integers to the range of a ``bits``-bit (un)signed integer."""
    lo, hi = signed_range(bits) if signed else (0, (1 << bits) - 1)
    return np.clip(np.asarray(x, dtype=np.int64), lo, hi)


def ceil_log2(n):
    """Smallest ``k`` with ``2**k >= n`` (0 for ``n <= 1``)."""
    return max(0, int(n - 1).bit_length())


def unsigned_width(hi):
    """Bits of an unsigned integer holding ``0..hi`` (at least 1)."""
    return max(1, int(hi).bit_length())


def signed_width(lo, hi=None):
    """Bits of a two's-complement integer holding ``lo..hi`` (``-lo..lo`` if one argument)."""
    if hi is None:
        lo, hi = -abs(int(lo)), abs(int(lo))
    lo, hi = int(lo), int(hi)
    bits = 1
    while not (-(1 << (bits - 1)) <= lo and hi <= (1 << (bits - 1)) - 1):
        bits += 1
    return bits


def input_levels(bits, signed):
    """Integer that stands for the input value 1.0 (the largest code).

    Unsigned inputs use ``0 .. 2**bits - 1``; signed inputs ``-(2**(bits-1) - 1) .. 2**(bits-1) - 1``.
    """
    return (1 << (bits - 1)) - 1 if signed else (1 << bits) - 1


def input_code_range(bits, signed):
    """``(lo, hi)``: the input codes a network with ``bits``-bit (un)signed inputs accepts."""
    levels = input_levels(bits, signed)
    return (-levels if signed else 0), levels


def check_input_codes(codes, bits, signed, name):
    """Raise ``ValueError`` naming the first code of ``codes`` outside :func:`input_code_range`.

    The hardware reads exactly ``bits`` bits of every code: a code outside the range would be
    masked by the link, not computed, so it is refused here rather than reported later as a
    mismatch that is not one.
    """
    codes = np.asarray(codes)
    if codes.size and not np.issubdtype(codes.dtype, np.integer):
        if not np.array_equal(codes, np.round(codes)):
            raise ValueError(f"network {name!r}: input codes must be integers, got {codes.dtype} values")
    lo, hi = input_code_range(bits, signed)
    bad = np.flatnonzero((codes < lo) | (codes > hi))
    if bad.size:
        img, pos = np.unravel_index(bad[0], codes.shape) if codes.ndim == 2 else (0, bad[0])
        kind = "signed" if signed else "unsigned"
        raise ValueError(f"network {name!r}: input code {int(codes.flat[bad[0]])} (image {img}, "
                         f"input {pos}) is outside the {bits}-bit {kind} range {lo}..{hi}")


def quantise_input(x, scale, bits, signed):
    """Quantise real inputs to integer codes: ``clip(round(x / scale * L))``.

    ``L = input_levels(bits, signed)``; values outside the range saturate (negative
    values saturate to 0 when the input is unsigned).
    """
    levels = input_levels(bits, signed)
    q = round_half_away(np.asarray(x, dtype=np.float64) / scale * levels)
    return np.clip(q, -levels if signed else 0, levels)


def weight_frac_bits(max_abs, bits):
    """Fraction bits ``f`` of a layer so that ``round(max_abs * 2**f)`` fits ``bits`` signed bits.

    ``f`` is never negative: a layer whose largest normalised weight exceeds the integer
    range saturates at ``f = 0`` (the quantise pass counts saturated weights).
    """
    top = (1 << (bits - 1)) - 1
    if max_abs <= 0:
        return bits - 1
    return max(0, int(math.floor(math.log2(top / max_abs))))


def initial_membrane(threshold):
    """Membrane potential of a spiking neuron at the start of an inference: ``θ // 2``."""
    return int(threshold) // 2


def argmax_lowest(v, axis=-1):
    """``argmax`` with ties resolved to the lowest index (NumPy's rule, stated here once)."""
    return np.argmax(np.asarray(v), axis=axis)


def top2_margin(v, axis=-1):
    """``top1 − top2`` of ``v`` along ``axis`` (a multiset: tied maxima give 0): the IAT
    early-exit confidence. Hardware keeps the two largest values seen, replacing the second
    on a value greater than it (so a tie with the first lands there)."""
    s = np.sort(np.asarray(v, dtype=np.int64), axis=axis)
    return np.take(s, -1, axis=axis) - np.take(s, -2, axis=axis)


def synaptic_drive_bound(weight, m_max, events_per_source=1):
    """Per target neuron (or output channel), the largest ``|Σ_i m_i · W[j, i]|`` one step can bring.

    ``weight`` is ``(n_out, n_in)`` or a convolution's ``(C_out, C_in, kh, kw)`` (a neuron of
    channel ``o`` sees at most every tap of ``W[o]`` once); every source sends at most
    ``events_per_source`` events of multiplier magnitude ``m_max`` in one step.
    """
    w = np.abs(np.asarray(weight, dtype=np.int64))
    return w.reshape(len(w), -1).sum(axis=1) * int(m_max) * int(events_per_source)


def membrane_bound(drive, bias, steps, threshold):
    """Static bound on ``|V|`` of a layer over a whole inference.

    ``drive`` is the per-neuron bound of one step's synaptic input, ``bias`` the per-neuron
    bias added every step. ``|V| <= threshold + steps * max_j(drive_j + |bias_j|)``: the
    initial ``θ/2`` plus every step's input; firing only moves ``V`` towards zero.
    """
    per_step = np.asarray(drive, dtype=np.int64) + np.abs(np.asarray(bias, dtype=np.int64))
    return int(threshold) + int(steps) * int(per_step.max(initial=0))


# -- single-spike phase coding (docs/semantics.md §3) ----------------------------------

#: Target width of the step-gain table of a fractional base (sets its fraction bits ``q``).
PHASE_GAIN_BITS = 12
#: Largest step gain allowed (keeps membranes narrow).
PHASE_GAIN_MAX = 1 << 24


def power_of_two_exponent(base):
    """``n`` if ``base == 2**n`` for an integer ``n >= 1``, else ``None``."""
    n = round(math.log2(base))
    return n if n >= 1 and 2.0 ** n == base else None


def phase_gains(base, window):
    """Integer step gains ``g(k)``, ``k = 1..window`` (index ``k - 1``); ``g(1)`` stands for 1.0.

    ``base = 2**n``: ``g(k) = 2**(n·(window − k))`` exactly (a shift). Other bases:
    ``g(k) = round(base**(window − k) · 2**q)`` with ``q`` the fraction bits that give the
    table about ``PHASE_GAIN_BITS`` bits.
    """
    if base ** (window - 1) > PHASE_GAIN_MAX:
        raise ValueError(f"single-spike: step gain base**(window-1) = {base:g}**{window - 1} = "
                         f"{base ** (window - 1):.3g} exceeds {PHASE_GAIN_MAX}; use a smaller base "
                         f"or window")
    n = power_of_two_exponent(base)
    if n is not None:
        gains = [1 << (n * (window - k)) for k in range(1, window + 1)]
    else:
        top = base ** (window - 1)
        q = max(0, PHASE_GAIN_BITS - int(math.floor(top)).bit_length())
        gains = [int(round_half_away(base ** (window - k) * (1 << q))) for k in range(1, window + 1)]
    if gains[0] > PHASE_GAIN_MAX:
        raise ValueError(f"single-spike: step gain base**(window-1) = {gains[0]} exceeds "
                         f"{PHASE_GAIN_MAX}; use a smaller base or window")
    return np.array(gains, dtype=np.int64)


def phase_levels(threshold, base, window, threshold_shift):
    """Integer comparison levels ``lvl(k)``, ``k = 1..window``: fire at the first ``k`` with ``V >= lvl(k)``.

    ``lvl(k) = ceil(θ · base**(1−k) · s)`` with ``s = (1 + 1/base) / 2`` under threshold shift
    (round to the nearest code) and ``s = 1`` without (round down); never below 1.
    """
    s = (1.0 + 1.0 / base) / 2.0 if threshold_shift else 1.0
    lv = [max(1, int(math.ceil(threshold * base ** (1 - k) * s))) for k in range(1, window + 1)]
    return np.array(lv, dtype=np.int64)
