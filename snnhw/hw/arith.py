"""Multipliers placed by the plan: a DSP block, or shift-and-add in logic."""

from amaranth.hdl import Mux, Value

__all__ = ["multiply", "times_constant"]


def _tree_sum(terms):
    """Balanced adder tree (shallower carry chains than a running sum)."""
    terms = list(terms)
    while len(terms) > 1:
        terms = [terms[i] + terms[i + 1] if i + 1 < len(terms) else terms[i]
                 for i in range(0, len(terms), 2)]
    return terms[0]


def multiply(a, b, placement):
    """``a · b`` (exact, ``len(a) + len(b)`` bits) as an expression.

    ``"dsp"``: Amaranth's ``*``, which Yosys maps to a DSP block (``synth_ice40 -dsp``,
    ``synth_ecp5``). ``"lut"``: one AND-gated partial product of ``a`` per bit of ``b`` (the
    sign bit of a signed ``b`` weighs ``−2^(n−1)``), summed by an adder tree — no ``$mul``
    cell, so Yosys never puts it in a DSP.
    """
    a, b = Value.cast(a), Value.cast(b)
    if placement == "dsp":
        return a * b
    if placement != "lut":
        raise ValueError(f"multiply: placement must be 'dsp' or 'lut', got {placement!r}")
    sa, sb = a.shape(), b.shape()
    terms = []
    for i in range(sb.width):
        part = a << i
        if sb.signed and i == sb.width - 1:
            part = -part
        terms.append(Mux(b[i], part, 0))
    total = _tree_sum(terms)[:sa.width + sb.width]
    return total.as_signed() if (sa.signed or sb.signed) else total


def times_constant(x, c):
    """``x · c`` for a constant ``c ≥ 0`` as shifted copies of ``x`` added up (never a
    ``$mul`` cell, which Yosys could put in a DSP block)."""
    x = Value.cast(x)
    terms = [x << b for b in range(int(c).bit_length()) if (int(c) >> b) & 1]
    return _tree_sum(terms) if terms else x & 0
