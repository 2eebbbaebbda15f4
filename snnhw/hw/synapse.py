"""The synapse pipeline: one event → ``K`` weight-ROM words → ``lanes`` accumulates per cycle."""

from amaranth.hdl import Module, Mux, Signal, signed, unsigned
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from .stream import MemPort

__all__ = ["SynapsePipeline"]


class SynapsePipeline(wiring.Component):
    """Apply events ``(src, m)`` to a banked accumulator RAM: ``A[j] += m · W[j, src]``.

    Initiation interval 1: a new ROM word (``lanes`` targets) every cycle, back-to-back
    events without bubbles. Three stages: *issue* (ROM and RAM addresses), *multiply*
    (``m · W`` registered), *accumulate* (add and write back). Writes of the two previous
    cycles are forwarded, so back-to-back hits on the same word are exact.

    Parameters
    ----------
    n_src, n_dst : int
    lanes : int
    weight_bits : int
    m_shape : shape of the event multiplier
    acc_shape : signed shape of the accumulator

    Members
    -------
    events : In(stream of ``{src, m}``)
    rom_addr : Out; rom_data : In(lanes × signed(weight_bits))  — a :class:`WeightROM`
    acc : Out(:class:`MemPort`)
    busy : Out(1)  — an event is being issued or a write is pending
    """
    def __init__(self, n_src, n_dst, lanes, weight_bits, m_shape, acc_shape):
        self.n_src, self.n_dst, self.lanes = n_src, n_dst, lanes
        self.k = -(-n_dst // lanes)
        self.m_shape, self.acc_shape = m_shape, acc_shape
        self.weight_bits = weight_bits
        super().__init__({
            "events": In(stream.Signature(data.StructLayout({
                "src": unsigned(max(1, (n_src - 1).bit_length())), "m": m_shape}))),
            "rom_addr": Out(range(max(2, n_src * self.k))),
            "rom_data": In(data.ArrayLayout(signed(weight_bits), lanes)),
            "acc": Out(MemPort(self.k, acc_shape, lanes)),
            "busy": Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        k, lanes = self.k, self.lanes

        # issue stage
        cur_valid = Signal()
        cur_src = Signal.like(self.events.payload.src)
        cur_m = Signal(self.m_shape)
        word = Signal(range(max(2, k)))
        last_word = word == k - 1
        m.d.comb += [
            self.events.ready.eq(~cur_valid | last_word),
            self.rom_addr.eq(cur_src * k + word),
            self.acc.raddr.eq(word),
        ]
        with m.If(cur_valid):
            with m.If(last_word):
                m.d.sync += cur_valid.eq(0)
            with m.Else():
                m.d.sync += word.eq(word + 1)
        with m.If(self.events.valid & self.events.ready):
            m.d.sync += [cur_valid.eq(1), cur_src.eq(self.events.payload.src),
                         cur_m.eq(self.events.payload.m), word.eq(0)]

        # multiply stage
        s1_valid, s1_word, s1_m = Signal(), Signal.like(word), Signal(self.m_shape)
        m.d.sync += [s1_valid.eq(cur_valid), s1_word.eq(word), s1_m.eq(cur_m)]
        prod_shape = signed(self.weight_bits + len(Signal(self.m_shape)) + 1)
        s2_valid, s2_word = Signal(), Signal.like(word)
        s2_prod = Signal(data.ArrayLayout(prod_shape, lanes))
        s2_old = Signal(data.ArrayLayout(self.acc_shape, lanes))
        m.d.sync += [s2_valid.eq(s1_valid), s2_word.eq(s1_word), s2_old.eq(self.acc.rdata)]
        for p in range(lanes):
            m.d.sync += s2_prod[p].eq(self.rom_data[p] * s1_m)

        # accumulate stage, with forwarding of the writes of the last two cycles
        fwd = [(Signal(), Signal.like(word), Signal(data.ArrayLayout(self.acc_shape, lanes)),
                Signal(lanes)) for _ in range(2)]
        new = Signal(data.ArrayLayout(self.acc_shape, lanes))
        tail_lanes = self.n_dst - (k - 1) * lanes
        for p in range(lanes):
            base = s2_old[p]
            for valid, addr, wdata, we in reversed(fwd):   # older first, newest wins
                base = Mux(valid & we[p] & (addr == s2_word), wdata[p], base)
            m.d.comb += new[p].eq(base + s2_prod[p])
            lane_ok = 1 if p < tail_lanes else (s2_word != k - 1)
            m.d.comb += self.acc.we[p].eq(s2_valid & lane_ok)
        m.d.comb += [self.acc.waddr.eq(s2_word), self.acc.wdata.eq(new)]
        (v1, a1, d1, w1), (v2, a2, d2, w2) = fwd
        m.d.sync += [v1.eq(s2_valid), a1.eq(s2_word), d1.eq(new), w1.eq(self.acc.we),
                     v2.eq(v1), a2.eq(a1), d2.eq(d1), w2.eq(w1)]

        m.d.comb += self.busy.eq(cur_valid | s1_valid | s2_valid)
        return m
