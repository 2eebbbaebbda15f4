"""Input encoders: turn the loaded input codes into the first layer's event stream."""

from amaranth.hdl import Module, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from .stream import event_layout

__all__ = ["CurrentEncoder"]


class CurrentEncoder(wiring.Component):
    """Rate coding's input: one event ``(i, m = x_i)`` per non-zero input, then one end token.

    The first layer integrates these once into its constant-current RAM.

    Members
    -------
    start : In(1); busy : Out(1)
    in_raddr : Out; in_rdata : In   — the input memory's read port (one cycle latency)
    out, out_room                   — events to the first layer
    """
    def __init__(self, n_inputs, in_shape):
        self.n = n_inputs
        self.layout = event_layout(n_inputs, in_shape)
        super().__init__({
            "start": In(1),
            "busy": Out(1),
            "in_raddr": Out(range(max(2, n_inputs))),
            "in_rdata": In(in_shape),
            "out": Out(wiring.Signature({"valid": Out(1), "payload": Out(self.layout)})),
            "out_room": In(1),
        })

    def elaborate(self, platform):
        m = Module()
        running, pending_last = Signal(), Signal()
        i = Signal(range(self.n + 1))
        issue = running & self.out_room
        m.d.comb += self.in_raddr.eq(i)
        with m.If(self.start):
            m.d.sync += [running.eq(1), pending_last.eq(1), i.eq(0)]
        with m.Elif(issue):
            m.d.sync += i.eq(i + 1)
            with m.If(i == self.n - 1):
                m.d.sync += running.eq(0)
        s1_valid, s1_i = Signal(), Signal.like(i)
        m.d.sync += [s1_valid.eq(issue), s1_i.eq(i)]
        send_last = pending_last & ~running & ~s1_valid & self.out_room
        with m.If(send_last):
            m.d.sync += pending_last.eq(0)
        m.d.sync += [self.out.valid.eq(0), self.out.payload.last.eq(0)]     # registered output
        with m.If(s1_valid):
            m.d.sync += [self.out.valid.eq(self.in_rdata != 0), self.out.payload.src.eq(s1_i),
                         self.out.payload.m.eq(self.in_rdata)]
        with m.Elif(send_last):
            m.d.sync += [self.out.valid.eq(1), self.out.payload.last.eq(1)]
        m.d.comb += self.busy.eq(running | s1_valid | pending_last | self.out.valid)
        return m
