"""Input encoders: turn the streamed input codes into the first layer's event stream."""

import numpy as np
from amaranth.hdl import Module, Mux, Signal, signed
from amaranth.lib import wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from .. import fixed
from .fire import TSAFireUnit
from .rom import ram_attrs, ram_name
from .stream import event_layout

__all__ = ["InputEncoder", "TSAEncoder"]


def encoder_members(in_shape, layout):
    """The members of an input encoder: the input codes in, the first layer's events out."""
    return {
        "inp": In(wiring.Signature({"valid": Out(1), "ready": In(1), "payload": Out(in_shape)})),
        "can_start": In(1),
        "image_start": Out(1),
        "out": Out(wiring.Signature({"valid": Out(1), "payload": Out(layout)})),
        "out_room": In(1),
    }


def source_coordinates(m, shape, payload, index, at_end):
    """Inside the enabling ``with``: the event's source into ``payload`` — ``index``, or for a
    ``(C, H, W)`` input ``(c, y, x)`` counters beside it, stepping channel-major and back to 0
    ``at_end``."""
    if len(shape) != 3:
        m.d.sync += payload.src.eq(index)
        return
    _, h, w = shape
    c, y, x = (Signal(range(max(2, n)), name=name) for name, n in zip("cyx", shape))
    m.d.sync += [payload.c.eq(c), payload.y.eq(y), payload.x.eq(x)]
    with m.If(at_end):
        m.d.sync += [c.eq(0), y.eq(0), x.eq(0)]
    with m.Elif(x != w - 1):
        m.d.sync += x.eq(x + 1)
    with m.Elif(y != h - 1):
        m.d.sync += [x.eq(0), y.eq(y + 1)]
    with m.Else():
        m.d.sync += [x.eq(0), y.eq(0), c.eq(c + 1)]


class InputEncoder(wiring.Component):
    """Turns each input code into at most one event through an input unit, then sends an
    end-of-step and an end-of-image token per image.

    Rate coding's unit passes every non-zero code on as ``(i, m = x_i)`` (the first layer
    integrates them once into its constant-current RAM); single-spike coding's unit is the
    phase fire rule with ``θ = L``, giving ``(i, m = ±1, step = k)``. Inputs arrive as a
    stream, ``n_inputs`` per image in index order (channel-major for a ``(C, H, W)`` input,
    whose events carry ``(c, y, x)``).

    Parameters
    ----------
    shape : int or tuple of int
        The input's shape.
    in_shape : shape of one input code
    unit : :class:`~snnhw.hw.fire.FireUnit`

    Members
    -------
    inp : In(stream of input codes)   ``valid``, ``ready``, ``payload``
    can_start : In(1)                 an image may begin (the accelerator can track one more)
    image_start : Out(1)              the first input of an image was accepted in the last cycle
    out, out_room                     events to the first layer (registered)
    """
    def __init__(self, shape, in_shape, unit):
        self.shape = (shape,) if isinstance(shape, int) else tuple(shape)
        self.n = int(np.prod(self.shape))
        self.unit = unit
        self.layout = event_layout(self.shape, unit.m_shape, unit.step_bits)
        super().__init__(encoder_members(in_shape, self.layout))

    def elaborate(self, platform):
        m = Module()
        m.submodules.unit = unit = self.unit
        m.d.comb += unit.v.eq(self.inp.payload)
        i = Signal(range(max(2, self.n)))
        first = Signal(init=1)              # registered i == 0 (short handshake paths)
        token_pending = Signal()            # the end-of-step token, then the end-of-image one
        final_pending = Signal()
        m.d.comb += self.inp.ready.eq(self.out_room & ~token_pending & ~final_pending
                                      & (~first | self.can_start))
        take = self.inp.valid & self.inp.ready
        # registered: the accelerator stamps the image one cycle after its first input
        m.d.sync += self.image_start.eq(take & first)
        with m.If(take):
            m.d.sync += first.eq(i == self.n - 1)
        m.d.sync += [self.out.valid.eq(0), self.out.payload.last.eq(0),     # registered output
                     self.out.payload.final.eq(0)]
        with m.If(take):
            m.d.sync += [self.out.valid.eq(unit.fire), self.out.payload.m.eq(unit.m)]
            source_coordinates(m, self.shape, self.out.payload, i, i == self.n - 1)
            if unit.step_bits:
                m.d.sync += self.out.payload.step.eq(unit.step)
            with m.If(i == self.n - 1):
                m.d.sync += [i.eq(0), token_pending.eq(1), final_pending.eq(1)]
            with m.Else():
                m.d.sync += i.eq(i + 1)
        with m.Elif((token_pending | final_pending) & self.out_room):
            m.d.sync += [self.out.valid.eq(1), self.out.payload.last.eq(1)]
            with m.If(token_pending):
                m.d.sync += token_pending.eq(0)
            with m.Else():
                m.d.sync += [self.out.payload.final.eq(1), final_pending.eq(0)]
        return m


class TSAEncoder(wiring.Component):
    """The CSS input encoder (``docs/semantics.md`` §3c): one TSA neuron per input, ``θ = L``,
    no positive-first rule, its membranes in a RAM of ``n`` words.

    An image's ``n`` codes are its silent step 1 (``V(1) = x_q``: no events, no token): the
    RAM stores ``2·x_q``, what :attr:`unit` would write back at a silent step. Then ``S − 1 = T``
    scans ``j = 2..S`` read every membrane in index order (the stored value is ``2·V(j−1)``,
    the unit's ``v``), send ``(i, m = s)`` for each ``s ≠ 0`` and write the unit's ``v_next``
    back; each scan ends with an end-of-step token, the last with the end-of-image token too.
    Each read or token is issued only while ``out_room`` is high; its event appears on ``out``
    two cycles later (RAM read, then the registered output). ``|x_q| ≤ L`` (the quantised
    range) keeps ``|2·V| ≤ 2L``.

    Parameters
    ----------
    shape : int or tuple of int
        The input's shape (a ``(C, H, W)`` input's events carry ``(c, y, x)``, channel-major).
    in_shape : shape of one input code
    input_levels : int
        ``L``, the threshold.
    timesteps : int
        ``T``: scans per image after the load (``S = T + 1`` steps).

    Members
    -------
    inp : In(stream of input codes)   ``valid``, ``ready`` (load phase only), ``payload``
    can_start : In(1)                 an image may begin (the accelerator can track one more)
    image_start : Out(1)              the first input of an image was accepted in the last cycle
    out, out_room                     events to the first layer (registered)
    """
    #: Event multiplier and step field of the events (as :attr:`unit`'s).
    m_shape = signed(2)
    step_bits = 0

    def __init__(self, shape, in_shape, input_levels, timesteps):
        self.shape = (shape,) if isinstance(shape, int) else tuple(shape)
        self.n = int(np.prod(self.shape))
        self.input_levels, self.timesteps = int(input_levels), int(timesteps)
        # |2·V| ≤ 2L (the stored value): one spare bit, as CssCoding.input_unit
        self.unit = TSAFireUnit(fixed.signed_width(4 * self.input_levels), self.input_levels,
                                relu=False)
        self.layout = event_layout(self.shape, self.m_shape, 0)
        super().__init__(encoder_members(in_shape, self.layout))

    def elaborate(self, platform):
        m = Module()
        m.submodules.unit = unit = self.unit
        # reads and writes never meet on one word (a token lies between two scans)
        mem = Memory(shape=signed(unit.acc_bits), depth=max(2, self.n), init=[],
                     attrs=ram_attrs("bram"))
        m.submodules[ram_name("v", False)] = mem
        wr, rd = mem.write_port(), mem.read_port()
        loading, take, issue, i, tok, fin, at_last = self._sequence(m)
        # stage 1: the membrane read (or the load's code) through the unit, written back
        s1_read, s1_tok, s1_fin, s1_last = Signal(), Signal(), Signal(), Signal()
        s1_i = Signal.like(i)
        m.d.sync += [s1_read.eq(issue & ~tok & ~fin), s1_tok.eq(issue & tok),
                     s1_fin.eq(issue & fin), s1_last.eq(at_last), s1_i.eq(i)]
        # the load stores 2·x_q itself (what the unit's silent step would write), so that the
        # code's path from the host does not run through the unit's carry chains
        loaded = Signal(signed(unit.acc_bits))
        m.d.comb += [loaded.eq(self.inp.payload), rd.addr.eq(i), unit.v.eq(rd.data),
                     unit.first.eq(0), unit.last.eq(s1_last), unit.state.eq(0),
                     wr.addr.eq(Mux(loading, i, s1_i)),
                     wr.data.eq(Mux(loading, loaded << 1, unit.v_next)), wr.en.eq(take | s1_read)]
        m.d.sync += [self.out.valid.eq((s1_read & unit.fire) | s1_tok | s1_fin),  # registered
                     self.out.payload.m.eq(unit.m), self.out.payload.last.eq(s1_tok | s1_fin),
                     self.out.payload.final.eq(s1_fin)]
        self._coordinates(m, s1_read, s1_i)
        return m

    def _sequence(self, m):
        """The load, then per scan ``n`` reads and a token, then the final token; returns
        ``loading``, ``take`` (a code is accepted), ``issue`` (a read or token leaves),
        the index ``i``, ``tok``/``fin`` (the issue is a step / the final token) and whether
        the scan is the last (``j = S``)."""
        n, last_step = self.n, self.timesteps + 1
        loading, first = Signal(init=1), Signal(init=1)     # first: registered i == 0
        i = Signal(range(max(2, n)))                          # next code / neuron to read
        j = Signal(range(last_step + 1), init=2)              # the scan's step, 2..S
        tok, fin = Signal(), Signal()
        m.d.comb += self.inp.ready.eq(loading & (~first | self.can_start))
        take = self.inp.valid & self.inp.ready
        issue = ~loading & self.out_room
        m.d.sync += self.image_start.eq(take & first)
        with m.If(take):
            m.d.sync += [first.eq(i == n - 1), i.eq(Mux(i == n - 1, 0, i + 1))]
            with m.If(i == n - 1):
                m.d.sync += loading.eq(0)
        with m.Elif(issue & fin):
            m.d.sync += [fin.eq(0), loading.eq(1)]
        with m.Elif(issue & tok):
            m.d.sync += [tok.eq(0), fin.eq(j == last_step), j.eq(Mux(j == last_step, 2, j + 1))]
        with m.Elif(issue):
            m.d.sync += [i.eq(Mux(i == n - 1, 0, i + 1)), tok.eq(i == n - 1)]
        return loading, take, issue, i, tok, fin, j == last_step

    def _coordinates(self, m, s1_read, s1_i):
        """The event's source: ``s1_i``, or ``(c, y, x)`` counters stepping with the reads."""
        with m.If(s1_read):
            source_coordinates(m, self.shape, self.out.payload, s1_i, s1_i == self.n - 1)
