"""Input encoders: turn the streamed input codes into the first layer's event stream."""

import numpy as np
from amaranth.hdl import Module, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from .stream import event_layout

__all__ = ["InputEncoder"]


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
        super().__init__({
            "inp": In(wiring.Signature({"valid": Out(1), "ready": In(1), "payload": Out(in_shape)})),
            "can_start": In(1),
            "image_start": Out(1),
            "out": Out(wiring.Signature({"valid": Out(1), "payload": Out(self.layout)})),
            "out_room": In(1),
        })

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
            if len(self.shape) == 3:          # coordinates: counters beside the index
                _, h, w = self.shape
                c, y, x = (Signal(range(max(2, n)), name=name) for name, n in zip("cyx", self.shape))
                m.d.sync += [self.out.payload.c.eq(c), self.out.payload.y.eq(y), self.out.payload.x.eq(x)]
                with m.If(i == self.n - 1):
                    m.d.sync += [c.eq(0), y.eq(0), x.eq(0)]
                with m.Elif(x != w - 1):
                    m.d.sync += x.eq(x + 1)
                with m.Elif(y != h - 1):
                    m.d.sync += [x.eq(0), y.eq(y + 1)]
                with m.Else():
                    m.d.sync += [x.eq(0), y.eq(0), c.eq(c + 1)]
            else:
                m.d.sync += self.out.payload.src.eq(i)
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
