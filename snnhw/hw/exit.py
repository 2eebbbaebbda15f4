"""IAT early exit (``docs/semantics.md`` §2c): the integer confidence test of the output layer."""

from amaranth.hdl import Module, Signal, signed, unsigned
from amaranth.lib import wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from .. import fixed
from .rom import memory_attrs

__all__ = ["ExitMonitor"]


class ExitMonitor(wiring.Component):
    """Keeps the two largest output membranes of a step's scan and tests
    ``top1 − top2 ≥ margins[step]`` (:func:`snnhw.fixed.top2_margin`: tied maxima give 0).

    Parameters
    ----------
    acc_bits : int
        Width of the output membranes.
    margins : sequence of int
        The calibrated margin of each step (``snnhw.ir.EarlyExit``).

    Members
    -------
    clear : In(1)        start of a scan
    valid, value : In    one scanned membrane
    step : In            the step being scanned (0-based), stable during the scan
    confident : Out(1)   the test, valid two cycles after the scan's last value
    """
    def __init__(self, acc_bits, margins):
        self.acc_bits = acc_bits
        self.margins = [int(v) for v in margins]
        self.margin_bits = fixed.unsigned_width(max(self.margins))
        super().__init__({
            "clear": In(1),
            "valid": In(1),
            "value": In(signed(acc_bits)),
            "step": In(range(max(2, len(self.margins)))),
            "confident": Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        depth = max(2, len(self.margins))
        m.submodules.table = table = Memory(
            shape=unsigned(self.margin_bits), depth=depth, init=self.margins,
            attrs=memory_attrs(depth, self.margin_bits, rom=True))
        rd = table.read_port()
        m.d.comb += rd.addr.eq(self.step)
        lowest = fixed.signed_range(self.acc_bits)[0]
        top1 = Signal(signed(self.acc_bits), init=lowest)
        top2 = Signal(signed(self.acc_bits), init=lowest)
        # the values are registered first (the comparisons' inputs are then local); the last
        # one lands a cycle later, long before the engine asks for the decision
        valid, value = Signal(), Signal(signed(self.acc_bits))
        m.d.sync += [valid.eq(self.valid & ~self.clear), value.eq(self.value)]
        with m.If(self.clear):
            m.d.sync += [top1.eq(lowest), top2.eq(lowest)]
        with m.Elif(valid):
            with m.If(value > top1):
                m.d.sync += [top1.eq(value), top2.eq(top1)]
            with m.Elif(value > top2):
                m.d.sync += top2.eq(value)
        diff = Signal(signed(self.acc_bits + 1))
        m.d.comb += [diff.eq(top1 - top2), self.confident.eq(diff >= rd.data)]
        return m
