"""The synapse pipeline: one event → ``K`` weight-ROM words → ``lanes`` accumulates per cycle."""

import math

from amaranth.hdl import Array, Const, Module, Mux, Shape, Signal, signed, unsigned
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from .. import fixed
from .stream import MemPort

__all__ = ["SynapsePipeline"]


class SynapsePipeline(wiring.Component):
    """Apply events ``(src, m[, step])`` to a banked accumulator RAM: ``A[j] += m · g(step) · W[j, src]``.

    Initiation interval 1: a new ROM word (``lanes`` targets) every cycle, back-to-back
    events without bubbles. Stages: *issue* (ROM and RAM addresses), *register* (ROM word
    and old value), *multiply* (``m · W``: a gate for 1-bit ``m``, a negation for ``±1``),
    *step gain* (only with ``gains``: a shift when every gain is a power of two, else a
    constant table and a multiply), *accumulate* (add and write back). Writes of the
    previous ``forward_depth`` cycles are forwarded where they can hit the same word.

    Parameters
    ----------
    n_src, n_dst : int
    lanes : int
    weight_bits : int
    m_shape : shape of the event multiplier
    acc_shape : signed shape of the accumulator
    gains : sequence of int, optional
        Step gains ``g(1..W)``; the events then carry ``step``.

    Members
    -------
    events : In(stream of ``{src, m[, step]}``)
    rom_addr : Out; rom_data : In(lanes × signed(weight_bits))  — a :class:`WeightROM`
    acc : Out(:class:`MemPort`)
    busy : Out(1)  — an event is being issued or a write is pending
    """
    def __init__(self, n_src, n_dst, lanes, weight_bits, m_shape, acc_shape, gains=None):
        self.n_src, self.n_dst, self.lanes = n_src, n_dst, lanes
        self.k = -(-n_dst // lanes)
        self.m_shape, self.acc_shape = m_shape, acc_shape
        self.weight_bits = weight_bits
        self.gains = None if gains is None else [int(g) for g in gains]
        self.step_bits = 0 if gains is None else fixed.unsigned_width(len(self.gains))
        #: Cycles between the accumulator read and the write of the same item.
        self.forward_depth = 3 + (gains is not None)
        m_sh = Shape.cast(m_shape)
        self._m_kind = ("gate" if m_sh.width == 1 and not m_sh.signed else
                        "sign" if m_sh.width == 2 and m_sh.signed else "multiply")
        self._shift = gains is not None and all(g > 0 and g & (g - 1) == 0 for g in self.gains)
        #: Multipliers wider than a gate or a negation, per lane (for DSP mapping).
        self.multipliers = lanes * ((self._m_kind == "multiply")
                                    + (gains is not None and not self._shift))
        fields = {"src": unsigned(max(1, (n_src - 1).bit_length())), "m": m_shape}
        if self.step_bits:
            fields["step"] = unsigned(self.step_bits)
        super().__init__({
            "events": In(stream.Signature(data.StructLayout(fields))),
            "rom_addr": Out(range(max(2, n_src * self.k))),
            "rom_data": In(data.ArrayLayout(signed(weight_bits), lanes)),
            "acc": Out(MemPort(self.k, acc_shape, lanes)),
            "busy": Out(1),
        })

    def _times_m(self, w, mult):
        if self._m_kind == "gate":
            return Mux(mult, w, 0)
        if self._m_kind == "sign":              # m ∈ {−1, +1}
            return Mux(mult[-1], -w, w)
        return w * mult

    def elaborate(self, platform):
        m = Module()
        k, lanes = self.k, self.lanes
        has_step = bool(self.step_bits)

        # issue stage
        cur_valid = Signal()
        cur_src = Signal.like(self.events.payload.src)
        cur_m = Signal(self.m_shape)
        cur_step = Signal(max(1, self.step_bits))
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
            if has_step:
                m.d.sync += cur_step.eq(self.events.payload.step)

        # register stage: ROM word, multiplier and old accumulator value (short BRAM paths)
        s1_valid, s1_word = Signal(), Signal.like(word)
        s1_m, s1_step = Signal(self.m_shape), Signal.like(cur_step)
        m.d.sync += [s1_valid.eq(cur_valid), s1_word.eq(word), s1_m.eq(cur_m), s1_step.eq(cur_step)]
        s2_valid, s2_word = Signal(), Signal.like(word)
        s2_m, s2_step = Signal(self.m_shape), Signal.like(cur_step)
        s2_w = Signal(data.ArrayLayout(signed(self.weight_bits), lanes))
        s2_old = Signal(data.ArrayLayout(self.acc_shape, lanes))
        m.d.sync += [s2_valid.eq(s1_valid), s2_word.eq(s1_word), s2_m.eq(s1_m), s2_step.eq(s1_step),
                     s2_w.eq(self.rom_data), s2_old.eq(self.acc.rdata)]

        # multiply stage: m · W
        m_width = Shape.cast(self.m_shape).width
        prod_shape = signed(self.weight_bits + m_width + 1)
        s3_valid, s3_word, s3_step = Signal(), Signal.like(word), Signal.like(cur_step)
        s3_prod = Signal(data.ArrayLayout(prod_shape, lanes))
        s3_old = Signal(data.ArrayLayout(self.acc_shape, lanes))
        m.d.sync += [s3_valid.eq(s2_valid), s3_word.eq(s2_word), s3_step.eq(s2_step), s3_old.eq(s2_old)]
        for p in range(lanes):
            m.d.sync += s3_prod[p].eq(self._times_m(s2_w[p], s2_m))
        valid, word_n, prod, old = s3_valid, s3_word, s3_prod, s3_old

        # step-gain stage: · g(step), a shift for power-of-two gains
        if has_step:
            table = [0] + self.gains                     # steps are 1-based
            if self._shift:
                shifts = [0] + [int(math.log2(g)) for g in self.gains]
                amount = Array(Const(s, range(max(shifts) + 1)) for s in shifts)[s3_step]
                g_shape = signed(prod_shape.width + max(shifts))
            else:
                gain = Array(Const(g, unsigned(fixed.unsigned_width(max(table)))) for g in table)[s3_step]
                g_shape = signed(prod_shape.width + fixed.unsigned_width(max(table)) + 1)
            s4_valid, s4_word = Signal(), Signal.like(word)
            s4_prod = Signal(data.ArrayLayout(g_shape, lanes))
            s4_old = Signal(data.ArrayLayout(self.acc_shape, lanes))
            m.d.sync += [s4_valid.eq(s3_valid), s4_word.eq(s3_word), s4_old.eq(s3_old)]
            for p in range(lanes):
                m.d.sync += s4_prod[p].eq(s3_prod[p] << amount if self._shift else s3_prod[p] * gain)
            valid, word_n, prod, old = s4_valid, s4_word, s4_prod, s4_old

        # accumulate stage; the RAM value was read before the writes of the last
        # forward_depth cycles landed, so those writes are forwarded (newest wins)
        fwd = [(Signal(name=f"fwd{d}_valid"), Signal.like(word, name=f"fwd{d}_addr"),
                Signal(data.ArrayLayout(self.acc_shape, lanes), name=f"fwd{d}_data"),
                Signal(lanes, name=f"fwd{d}_we")) for d in range(self.forward_depth)]
        new = Signal(data.ArrayLayout(self.acc_shape, lanes))
        tail_lanes = self.n_dst - (k - 1) * lanes
        # an item d cycles ahead hits the same word only if d >= K (words of one event differ)
        hazards = [entry for d, entry in enumerate(fwd, start=1) if d >= k]
        for p in range(lanes):
            base = old[p]
            for f_valid, f_addr, f_data, f_we in reversed(hazards):   # oldest first, newest wins
                base = Mux(f_valid & f_we[p] & (f_addr == word_n), f_data[p], base)
            m.d.comb += new[p].eq(base + prod[p])
            lane_ok = 1 if p < tail_lanes else (word_n != k - 1)
            m.d.comb += self.acc.we[p].eq(valid & lane_ok)
        m.d.comb += [self.acc.waddr.eq(word_n), self.acc.wdata.eq(new)]
        prev = (valid, word_n, new, self.acc.we)
        for entry in fwd:
            m.d.sync += [dst.eq(src) for dst, src in zip(entry, prev)]
            prev = entry

        busy = cur_valid | s1_valid | s2_valid | s3_valid
        if has_step:
            busy = busy | s4_valid
        m.d.comb += self.busy.eq(busy)
        return m
