"""Event streams between blocks (one convention: :mod:`amaranth.lib.stream`)."""

from amaranth.hdl import unsigned
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from .. import fixed

__all__ = ["event_layout", "EventStream", "MemPort", "EMIT_LATENCY"]

#: Most events a producer (scanner, encoder) can have in flight between deciding to read a
#: neuron and its event being written into the consumer's FIFO.
EMIT_LATENCY = 3
#: A consumer signals room (registered, so one cycle stale) while its FIFO level is below
#: ``depth - ROOM_MARGIN``: the stale cycle, the in-flight events and the one being issued fit.
ROOM_MARGIN = EMIT_LATENCY + 2


def event_layout(n_src, m_shape):
    """Payload of an event: ``src`` neuron, multiplier ``m``, and ``last`` (end-of-step token)."""
    return data.StructLayout({
        "src": unsigned(max(1, fixed.ceil_log2(n_src))),
        "m": m_shape,
        "last": unsigned(1),
    })


def EventStream(n_src, m_shape):
    """Signature of an event stream."""
    return stream.Signature(event_layout(n_src, m_shape))


class MemPort(wiring.Signature):
    """A read-modify-write port bundle of a ``lanes``-wide banked RAM (driver side).

    Members
    -------
    raddr : Out(addr)      read address (data one cycle later)
    rdata : In(lanes × shape)
    waddr : Out(addr)
    wdata : Out(lanes × shape)
    we    : Out(lanes)     per-lane write enable
    """
    def __init__(self, depth, shape, lanes):
        self.depth, self.shape, self.lanes = depth, shape, lanes
        arr = data.ArrayLayout(shape, lanes)
        super().__init__({
            "raddr": Out(range(max(2, depth))),
            "rdata": In(arr),
            "waddr": Out(range(max(2, depth))),
            "wdata": Out(arr),
            "we": Out(lanes),
        })
