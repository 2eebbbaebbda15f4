"""Fire units: the only per-coding hardware. Combinational: membrane in, spike and new membrane out.

Each mirrors one golden ``fire`` function of :mod:`snnhw.codings`.
"""

from amaranth.hdl import Module, Mux, Signal, signed, unsigned
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from ..codings import coding_rules

__all__ = ["FireUnit", "RateFireUnit", "AccumulateUnit", "fire_unit_for"]


class FireUnit(wiring.Component):
    """Base signature of a fire unit.

    Members
    -------
    v : In(signed(acc_bits))        membrane after this step's input and bias
    fire : Out(1)                   an event leaves the neuron
    m : Out(m_shape)                its multiplier
    v_next : Out(signed(acc_bits))  membrane after the reset
    """
    def __init__(self, acc_bits, m_shape):
        self.acc_bits, self.m_shape = acc_bits, m_shape
        super().__init__({
            "v": In(signed(acc_bits)),
            "fire": Out(1),
            "m": Out(m_shape),
            "v_next": Out(signed(acc_bits)),
        })


class RateFireUnit(FireUnit):
    """Rate IF neuron (methods.md §2): ``s = [v ≥ θ]``, ``v_next = v − s·θ``."""
    def __init__(self, acc_bits, threshold):
        self.threshold = threshold
        super().__init__(acc_bits, unsigned(1))

    def elaborate(self, platform):
        m = Module()
        # one carry chain: the sign of v − θ is the comparison, and v − θ the reset value
        diff = Signal(signed(self.acc_bits + 1))
        m.d.comb += [diff.eq(self.v - self.threshold), self.fire.eq(~diff[-1]), self.m.eq(~diff[-1]),
                     self.v_next.eq(Mux(diff[-1], self.v, diff))]
        return m


class AccumulateUnit(FireUnit):
    """Output layer: never fires, keeps its membrane."""
    def __init__(self, acc_bits):
        super().__init__(acc_bits, unsigned(1))

    def elaborate(self, platform):
        m = Module()
        m.d.comb += self.v_next.eq(self.v)
        return m


def fire_unit_for(layer, coding):
    """The fire unit of ``layer`` (a :class:`~snnhw.ir.QuantLayer`) under ``coding``."""
    if not layer.spiking:
        return AccumulateUnit(layer.acc_bits)
    kind = coding_rules(coding).__name__.rsplit(".", 1)[-1]
    if kind == "rate":
        return RateFireUnit(layer.acc_bits, layer.threshold)
    raise NotImplementedError(f"no fire unit for coding {kind!r}")
