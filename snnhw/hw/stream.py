"""Event streams between blocks (one convention: :mod:`amaranth.lib.stream`)."""

from amaranth.hdl import Mux, unsigned
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from .. import fixed

__all__ = ["event_layout", "EventStream", "MemPort", "RegFIFO", "EventFIFO", "EMIT_LATENCY",
           "ROOM_MARGIN"]

#: Most events a producer (scanner, encoder) can have in flight between deciding to read a
#: neuron and its event being written into the consumer's FIFO.
EMIT_LATENCY = 4
#: A consumer signals room (registered, so one cycle stale) while its FIFO level is below
#: ``depth - ROOM_MARGIN``: the stale cycle, the in-flight events and the one being issued fit.
ROOM_MARGIN = EMIT_LATENCY + 2


def event_layout(shape, m_shape, step_bits=0):
    """Payload of an event from a source of ``shape`` (an int or ``(n,)``: one index ``src``;
    ``(C, H, W)``: coordinates ``c``, ``y``, ``x``), multiplier ``m``, spike ``step`` (codings
    whose step gain depends on it; absent when ``step_bits`` is 0), and the token flags:
    ``last`` marks a token instead of an event — the end of a step, or with ``final`` the end
    of the image (after its last step token)."""
    shape = (shape,) if isinstance(shape, int) else tuple(shape)
    if len(shape) == 3:
        fields = {name: unsigned(max(1, fixed.ceil_log2(n))) for name, n in zip("cyx", shape)}
    else:
        fields = {"src": unsigned(max(1, fixed.ceil_log2(int(shape[0]))))}
    fields["m"] = m_shape
    if step_bits:
        fields["step"] = unsigned(step_bits)
    fields["last"] = unsigned(1)
    fields["final"] = unsigned(1)
    return data.StructLayout(fields)


def EventStream(shape, m_shape, step_bits=0):
    """Signature of an event stream."""
    return stream.Signature(event_layout(shape, m_shape, step_bits))


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


class RegFIFO(wiring.Component):
    """A small first-in first-out queue in registers (for per-image counters and timestamps).

    Members
    -------
    w_data : In(width); w_en : In(1); w_rdy : Out(1)
    r_data : Out(width)  the oldest entry; r_en : In(1); r_rdy : Out(1)
    """
    def __init__(self, width, depth):
        self.width, self.depth = width, depth
        super().__init__({
            "w_data": In(width), "w_en": In(1), "w_rdy": Out(1),
            "r_data": Out(width), "r_en": In(1), "r_rdy": Out(1),
        })

    def elaborate(self, platform):
        from amaranth.hdl import Array, Module, Signal

        m = Module()
        store = Array(Signal(self.width, name=f"entry{i}") for i in range(self.depth))
        wp, rp = Signal(range(self.depth)), Signal(range(self.depth))
        level = Signal(range(self.depth + 1))
        m.d.comb += [self.w_rdy.eq(level < self.depth), self.r_rdy.eq(level > 0),
                     self.r_data.eq(store[rp])]
        do_w, do_r = self.w_en & self.w_rdy, self.r_en & self.r_rdy
        with m.If(do_w):
            m.d.sync += [store[wp].eq(self.w_data), wp.eq(Mux(wp == self.depth - 1, 0, wp + 1))]
        with m.If(do_r):
            m.d.sync += rp.eq(Mux(rp == self.depth - 1, 0, rp + 1))
        m.d.sync += level.eq(level + do_w - do_r)
        return m


class EventFIFO(wiring.Component):
    """A first-in first-out queue in block RAM with a registered head (first-word
    fall-through), for an engine's incoming events.

    A power-of-two storage (pointers wrap by themselves) behind the memory's own output
    register, and a registered ``room`` flag instead of a level output: the least logic around
    the block RAM (``amaranth.lib.fifo.SyncFIFOBuffered`` keeps a general level).

    Parameters
    ----------
    width : int
    depth : int
        Storage entries, a power of two (the head register holds one more).
    margin : int
        ``room`` is high while the storage holds fewer than ``depth − margin`` entries.

    Members
    -------
    w_data : In(width); w_en : In(1); w_rdy : Out(1)
    r_data : Out(width)  the oldest entry, valid while ``r_rdy``; r_en : In(1); r_rdy : Out(1)
    room : Out(1)        registered (one cycle stale: ``margin`` covers it)
    """
    def __init__(self, width, depth, margin):
        if depth < 2 or depth & (depth - 1):
            raise ValueError(f"EventFIFO: depth must be a power of two >= 2, got {depth}")
        self.width, self.depth, self.margin = width, depth, margin
        super().__init__({
            "w_data": In(width), "w_en": In(1), "w_rdy": Out(1),
            "r_data": Out(width), "r_en": In(1), "r_rdy": Out(1),
            "room": Out(1),
        })

    def elaborate(self, platform):
        from amaranth.hdl import Module, Signal
        from amaranth.lib.memory import Memory

        m = Module()
        depth = self.depth
        from .rom import ram_name
        # reads and writes never meet on one word (empty: no read; full: no write)
        storage = Memory(shape=self.width, depth=depth, init=[])
        m.submodules[ram_name("storage", False)] = storage
        wr, rd = storage.write_port(), storage.read_port()
        produce, consume = Signal(range(depth)), Signal(range(depth))
        level = Signal(range(depth + 1))
        # "not full" and "not empty" are registers kept with the level (no comparison of the
        # level on the handshakes' paths)
        not_full, not_empty = Signal(init=1), Signal()
        do_write = self.w_en & self.w_rdy
        fetch = not_empty & (~self.r_rdy | self.r_en)         # the head is free or leaving
        m.d.comb += [self.w_rdy.eq(not_full),
                     wr.addr.eq(produce), wr.data.eq(self.w_data), wr.en.eq(do_write),
                     rd.addr.eq(consume), rd.en.eq(fetch), self.r_data.eq(rd.data)]
        with m.If(do_write):
            m.d.sync += produce.eq(produce + 1)
        with m.If(fetch):
            m.d.sync += [consume.eq(consume + 1), self.r_rdy.eq(1)]
        with m.Elif(self.r_en):
            m.d.sync += self.r_rdy.eq(0)
        with m.If(do_write & ~fetch):
            m.d.sync += [level.eq(level + 1), not_empty.eq(1), not_full.eq(level != depth - 1)]
        with m.Elif(fetch & ~do_write):
            m.d.sync += [level.eq(level - 1), not_full.eq(1), not_empty.eq(level != 1)]
        m.d.sync += self.room.eq(level < depth - self.margin)
        return m
