"""The synapse pipeline: one event → ``K`` weight-ROM words → ``lanes`` accumulates per cycle."""

from amaranth.hdl import Module, Mux, Shape, Signal, signed, unsigned
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from .stream import MemPort

__all__ = ["SynapsePipeline"]


class SynapsePipeline(wiring.Component):
    """Apply events ``(src, m)`` to a banked accumulator RAM: ``A[j] += m · W[j, src]``.

    Initiation interval 1: a new ROM word (``lanes`` targets) every cycle, back-to-back
    events without bubbles. Four stages: *issue* (ROM and RAM addresses), *register*
    (ROM word and old value), *multiply* (``m · W``), *accumulate* (add and write back).
    Writes of the previous ``FORWARD_DEPTH`` cycles are forwarded, so back-to-back hits on
    the same word are exact.

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
    #: Cycles between the accumulator read and the write of the same item.
    FORWARD_DEPTH = 3

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
        last_word = Signal()            # registered word == k - 1: keeps `ready` one LUT deep
        m.d.comb += [
            self.events.ready.eq(~cur_valid | last_word),
            self.rom_addr.eq(cur_src * k + word),
            self.acc.raddr.eq(word),
        ]
        with m.If(cur_valid):
            with m.If(last_word):
                m.d.sync += cur_valid.eq(0)
            with m.Else():
                m.d.sync += [word.eq(word + 1), last_word.eq(word == k - 2)]
        with m.If(self.events.valid & self.events.ready):
            m.d.sync += [cur_valid.eq(1), cur_src.eq(self.events.payload.src),
                         cur_m.eq(self.events.payload.m), word.eq(0), last_word.eq(k == 1)]

        # register stage: ROM word, multiplier and old accumulator value (short BRAM paths)
        s1_valid, s1_word, s1_m = Signal(), Signal.like(word), Signal(self.m_shape)
        m.d.sync += [s1_valid.eq(cur_valid), s1_word.eq(word), s1_m.eq(cur_m)]
        s2_valid, s2_word, s2_m = Signal(), Signal.like(word), Signal(self.m_shape)
        s2_w = Signal(data.ArrayLayout(signed(self.weight_bits), lanes))
        s2_old = Signal(data.ArrayLayout(self.acc_shape, lanes))
        m.d.sync += [s2_valid.eq(s1_valid), s2_word.eq(s1_word), s2_m.eq(s1_m),
                     s2_w.eq(self.rom_data), s2_old.eq(self.acc.rdata)]

        # multiply stage: m · W (a gate when m is a single unsigned bit)
        m_width = len(Signal(self.m_shape))
        prod_shape = signed(self.weight_bits + m_width + 1)
        s3_valid, s3_word = Signal(), Signal.like(word)
        s3_prod = Signal(data.ArrayLayout(prod_shape, lanes))
        s3_old = Signal(data.ArrayLayout(self.acc_shape, lanes))
        m.d.sync += [s3_valid.eq(s2_valid), s3_word.eq(s2_word), s3_old.eq(s2_old)]
        single_bit = m_width == 1 and not Shape.cast(self.m_shape).signed
        for p in range(lanes):
            m.d.sync += s3_prod[p].eq(Mux(s2_m, s2_w[p], 0) if single_bit else s2_w[p] * s2_m)

        # accumulate stage; the RAM value was read before the writes of the last
        # FORWARD_DEPTH cycles landed, so those writes are forwarded (newest wins)
        fwd = [(Signal(name=f"fwd{d}_valid"), Signal.like(word, name=f"fwd{d}_addr"),
                Signal(data.ArrayLayout(self.acc_shape, lanes), name=f"fwd{d}_data"),
                Signal(lanes, name=f"fwd{d}_we")) for d in range(self.FORWARD_DEPTH)]
        new = Signal(data.ArrayLayout(self.acc_shape, lanes))
        tail_lanes = self.n_dst - (k - 1) * lanes
        # an item d cycles ahead hits the same word only if d >= K (words of one event differ)
        hazards = [entry for d, entry in enumerate(fwd, start=1) if d >= k]
        for p in range(lanes):
            base = s3_old[p]
            for valid, addr, wdata, we in reversed(hazards):   # oldest first, newest wins
                base = Mux(valid & we[p] & (addr == s3_word), wdata[p], base)
            m.d.comb += new[p].eq(base + s3_prod[p])
            lane_ok = 1 if p < tail_lanes else (s3_word != k - 1)
            m.d.comb += self.acc.we[p].eq(s3_valid & lane_ok)
        m.d.comb += [self.acc.waddr.eq(s3_word), self.acc.wdata.eq(new)]
        prev = (s3_valid, s3_word, new, self.acc.we)
        for entry in fwd:
            m.d.sync += [dst.eq(src) for dst, src in zip(entry, prev)]
            prev = entry

        m.d.comb += self.busy.eq(cur_valid | s1_valid | s2_valid | s3_valid)
        return m
