"""The neuron scanner: once per step, every neuron gets its bias (and constant current)
and goes through the fire unit; events leave in neuron order, then an end-of-step token."""

from amaranth.hdl import Module, Signal, signed
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from .rom import BiasROM
from .stream import MemPort, event_layout

__all__ = ["NeuronScanner"]


class NeuronScanner(wiring.Component):
    """Scan ``n`` neurons (one per cycle): ``v ← fire(v + c + b)``.

    Parameters
    ----------
    n : int
    lanes : int
    bias : int array ``(n,)``
    fire_unit : :class:`~snnhw.hw.fire.FireUnit`
    current_shape : signed shape or None
        Shape of the constant-current RAM, for a layer driven by analogue input.

    Members
    -------
    start : In(1)    begin a scan (one-cycle pulse), then send an end-of-step token
    finish : In(1)   send an end-of-image token (one-cycle pulse, while not busy)
    busy : Out(1)
    value_valid, value : Out   every scanned neuron's new membrane, in scan order
    v : Out(:class:`MemPort`)            the membrane RAM
    c_raddr : Out; c_rdata : In          the constant-current RAM (if any)
    out : Out(event stream)              events and the end-of-step token
    out_room : In(1)                     the consumer can take ``EMIT_LATENCY`` more events
    """
    def __init__(self, n, lanes, bias, fire_unit, current_shape=None):
        self.n, self.lanes, self.k = n, lanes, -(-n // lanes)
        self.fire_unit = fire_unit
        self.bias_rom = BiasROM(bias)
        self.current_shape = current_shape
        acc = signed(fire_unit.acc_bits)
        members = {
            "start": In(1),
            "finish": In(1),
            "busy": Out(1),
            "value_valid": Out(1),
            "value": Out(acc),
            "v": Out(MemPort(self.k, acc, lanes)),
            "out": Out(wiring.Signature({"valid": Out(1), "payload": Out(
                event_layout(n, fire_unit.m_shape, fire_unit.step_bits))})),
            "out_room": In(1),
        }
        if current_shape is not None:
            members["c_raddr"] = Out(range(max(2, self.k)))
            members["c_rdata"] = In(data.ArrayLayout(current_shape, lanes))
        super().__init__(members)

    def elaborate(self, platform):
        m = Module()
        m.submodules.bias = bias = self.bias_rom
        m.submodules.fire = fire = self.fire_unit
        lanes, k = self.lanes, self.k

        running = Signal()
        j = Signal(range(self.n + 1))
        word = Signal(range(max(2, k)))
        lane = Signal(range(max(2, lanes)))
        issue = running & self.out_room
        m.d.comb += [self.v.raddr.eq(word), bias.addr.eq(j)]
        if self.current_shape is not None:
            m.d.comb += self.c_raddr.eq(word)
        with m.If(self.start):
            m.d.sync += [running.eq(1), j.eq(0), word.eq(0), lane.eq(0)]
        with m.Elif(issue):
            m.d.sync += j.eq(j + 1)
            with m.If(lane == lanes - 1):
                m.d.sync += [lane.eq(0), word.eq(word + 1)]
            with m.Else():
                m.d.sync += lane.eq(lane + 1)
            with m.If(j == self.n - 1):
                m.d.sync += running.eq(0)

        # stage 1: membrane (+ current) + bias
        s1_valid, s1_j, s1_word, s1_lane = Signal(), Signal.like(j), Signal.like(word), Signal.like(lane)
        m.d.sync += [s1_valid.eq(issue), s1_j.eq(j), s1_word.eq(word), s1_lane.eq(lane)]
        total = self.v.rdata[s1_lane] + bias.data
        if self.current_shape is not None:
            total = total + self.c_rdata[s1_lane]
        s2_valid, s2_j, s2_word, s2_lane = Signal(), Signal.like(j), Signal.like(word), Signal.like(lane)
        s2_v = Signal(signed(self.fire_unit.acc_bits))
        m.d.sync += [s2_valid.eq(s1_valid), s2_j.eq(s1_j), s2_word.eq(s1_word),
                     s2_lane.eq(s1_lane), s2_v.eq(total)]

        # stage 2: fire, write back, emit
        m.d.comb += [fire.v.eq(s2_v), self.v.waddr.eq(s2_word),
                     self.value_valid.eq(s2_valid), self.value.eq(fire.v_next)]
        for p in range(lanes):
            m.d.comb += [self.v.wdata[p].eq(fire.v_next), self.v.we[p].eq(s2_valid & (s2_lane == p))]

        # end-of-step token once the last neuron has left stage 2; end-of-image token on finish
        pending_last, pending_final = Signal(), Signal()
        with m.If(self.start):
            m.d.sync += pending_last.eq(1)
        with m.If(self.finish):
            m.d.sync += pending_final.eq(1)
        drained = ~running & ~s1_valid & ~s2_valid
        send_last = pending_last & drained & self.out_room
        send_final = pending_final & ~pending_last & drained & self.out_room
        with m.If(send_last):
            m.d.sync += pending_last.eq(0)
        with m.If(send_final):
            m.d.sync += pending_final.eq(0)
        # the output is registered: the consumer's FIFO sees a flop, not the fire logic
        m.d.sync += [self.out.valid.eq(0), self.out.payload.last.eq(0), self.out.payload.final.eq(0)]
        with m.If(s2_valid):
            m.d.sync += [self.out.valid.eq(fire.fire), self.out.payload.src.eq(s2_j),
                         self.out.payload.m.eq(fire.m)]
            if fire.step_bits:
                m.d.sync += self.out.payload.step.eq(fire.step)
        with m.Elif(send_last | send_final):
            m.d.sync += [self.out.valid.eq(1), self.out.payload.last.eq(1),
                         self.out.payload.final.eq(send_final)]
        m.d.comb += self.busy.eq(running | s1_valid | s2_valid | pending_last | pending_final
                                 | self.out.valid)
        return m
