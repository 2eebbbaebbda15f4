"""The synapse pipeline: one event → its target words in the weight ROM → ``lanes`` accumulates per cycle."""

import math

from amaranth.hdl import Array, Const, Module, Mux, Shape, Signal, signed, unsigned
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from .. import fixed
from .arith import multiply, times_constant
from .stream import MemPort

__all__ = ["SynapsePipeline", "multiplier_kind", "pipeline_latency"]


def multiplier_kind(m_shape):
    """How ``m · W`` is built for events with multipliers of ``m_shape``: ``"gate"`` (1 bit,
    always 1: nothing to do), ``"sign"`` (±1: a negation), ``"multiply"``."""
    m_sh = Shape.cast(m_shape)
    if m_sh.width == 1 and not m_sh.signed:
        return "gate"
    return "sign" if m_sh.width == 2 and m_sh.signed else "multiply"


def pipeline_latency(m_shape, gains):
    """Stages of a :class:`SynapsePipeline` after its input register (see its ``latency``)."""
    return 4 + (multiplier_kind(m_shape) != "gate") + bool(gains)


class SynapsePipeline(wiring.Component):
    """Apply events ``(source, m[, step])`` to a banked accumulator RAM:
    ``A[j] += m · g(step) · W[j, source]`` for every target ``j`` of the event.

    Initiation interval 1: a new ROM word (``lanes`` targets) every cycle, back-to-back
    events without bubbles. Stages: *issue* (walks the event's targets: ``K`` words per output
    position, positions row by row — :class:`~snnhw.hw.address.AddressMap`), *register* (the
    ROM word), *multiply* (``m · W``: none for a 1-bit ``m``, which is 1 on every event; a
    negation for ``±1``),
    *step gain* (only with ``gains``: a shift when every gain is a power of two, else a
    constant table and a multiply), *accumulate* (add; the write-back is registered). The old
    accumulator word is read :attr:`READ_LEAD` cycles before the add (not at issue), so it
    needs no pipeline registers; the writes of the last :attr:`FORWARD_DEPTH` adds are
    forwarded where they can hit the same word (only when ``K ≤`` :attr:`FORWARD_DEPTH`).

    Parameters
    ----------
    amap : :class:`~snnhw.hw.address.AddressMap`
    weight_bits : int
    m_shape : shape of the event multiplier
    acc_shape : signed shape of the accumulator
    gains : sequence of int, optional
        Step gains ``g(1..W)``; the events then carry ``step``.
    multipliers : ``"dsp"`` or ``"lut"``
        Where the multiplies (``m · W`` wider than a sign, the step gain) go
        (:func:`snnhw.hw.arith.multiply`).

    Members
    -------
    events : In(stream of ``{src | c, y, x; m[, step]}``)  — a 1-bit unsigned ``m`` must be 1
             (producers send spikes only)
    rom_addr : Out; rom_data : In(lanes × signed(weight_bits))  — a :class:`WeightROM`
    acc : Out(:class:`MemPort`)
    busy : Out(1)  — an event is being issued or a write is pending
    """
    #: Cycles from the accumulator read to the add of the same item.
    READ_LEAD = 2
    #: Adds whose writes a read can miss: the two of the read lead, and the registered write.
    FORWARD_DEPTH = READ_LEAD + 1

    def __init__(self, amap, weight_bits, m_shape, acc_shape, gains=None, multipliers="dsp"):
        self.amap = amap
        self.lanes, self.k = amap.lanes, amap.k
        self.m_shape, self.acc_shape = m_shape, acc_shape
        self.weight_bits = weight_bits
        self.gains = None if gains is None else [int(g) for g in gains]
        self.step_bits = 0 if gains is None else fixed.unsigned_width(len(self.gains))
        self._m_kind = multiplier_kind(m_shape)
        self._shift = gains is not None and all(g > 0 and g & (g - 1) == 0 for g in self.gains)
        #: Pipeline stages after the input register: issue, ROM read, ROM register, the
        #: multiply (not for a 1-bit ``m``), the step gain (only with ``gains``), the add,
        #: and the registered write-back.
        self.latency = pipeline_latency(m_shape, gains is not None)
        self.multiplier_placement = multipliers
        #: Multipliers wider than a gate or a negation (``lanes`` per kind).
        self.multipliers = self.lanes * ((self._m_kind == "multiply")
                                         + (gains is not None and not self._shift))
        #: Of those, the ones in DSP blocks.
        self.dsp_multipliers = self.multipliers if multipliers == "dsp" else 0
        if amap.spatial:
            fields = {n: unsigned(max(1, (size - 1).bit_length())) for n, size in zip("cyx", amap.source)}
        else:
            fields = {"src": unsigned(max(1, (amap.source[0] - 1).bit_length()))}
        fields["m"] = m_shape
        if self.step_bits:
            fields["step"] = unsigned(self.step_bits)
        super().__init__({
            "events": In(stream.Signature(data.StructLayout(fields))),
            "rom_addr": Out(range(max(2, amap.rom_depth))),
            "rom_data": In(data.ArrayLayout(signed(weight_bits), self.lanes)),
            "acc": Out(MemPort(amap.acc_depth, acc_shape, self.lanes)),
            "busy": Out(1),
        })

    def _times_m(self, w, mult):
        if self._m_kind == "sign":              # m ∈ {−1, +1}
            return Mux(mult[-1], -w, w)
        return multiply(w, mult, self.multiplier_placement)

    @staticmethod
    def _table(values, shape):
        return Array(Const(int(v), shape) for v in values)

    def _decode(self, m, payload):
        """``(rom, acc, ny, nx)`` of an incoming event: its first word and target counts."""
        amap = self.amap
        rom_w = range(max(2, amap.rom_depth))
        acc_w = range(max(2, amap.acc_depth))
        if not amap.spatial:
            return times_constant(payload.src, self.k), Const(0, acc_w), Const(1, 1), Const(1, 1)
        t = amap.tables
        rom = Signal(rom_w)
        acc = Signal(acc_w)
        ny = Signal(range(int(t["y_count"].max()) + 1))
        nx = Signal(range(int(t["x_count"].max()) + 1))
        m.d.comb += [
            rom.eq(self._table(t["c_rom"], rom_w)[payload.c] + self._table(t["y_rom"], rom_w)[payload.y]
                   + self._table(t["x_rom"], rom_w)[payload.x]),
            acc.eq(self._table(t["y_acc"], acc_w)[payload.y] + self._table(t["x_acc"], acc_w)[payload.x]),
            ny.eq(self._table(t["y_count"], ny.shape())[payload.y]),
            nx.eq(self._table(t["x_count"], nx.shape())[payload.x]),
        ]
        return rom, acc, ny, nx

    def _issue(self, m):
        """The issue stage: walk the current event's words (``w``), columns (``xi``) and rows
        (``yi``); the "at the end" flags are registers, so ``ready`` stays a few gates deep.
        Returns ``(valid, word, tail, m, step)`` of the item issued this cycle."""
        k, amap, spatial = self.k, self.amap, self.amap.spatial
        cur_valid = Signal()
        cur_m = Signal(self.m_shape)
        cur_step = Signal(max(1, self.step_bits))
        rom, acc = Signal.like(self.rom_addr), Signal(range(max(2, amap.acc_depth)))
        w = Signal(range(max(2, k)))
        w_end = Signal()
        m.d.comb += self.rom_addr.eq(rom)
        # the next event waits in a register, already decoded (its first words and target
        # counts): the walk's many enables then depend on registers only, not on the
        # producer's valid and the decode tables
        d_rom, d_acc, d_ny, d_nx = self._decode(m, self.events.payload)
        pend_valid, pend_empty = Signal(), Signal()
        pend_rom, pend_acc = Signal.like(rom, reset_less=True), Signal.like(acc, reset_less=True)
        pend_ny, pend_nx = Signal.like(d_ny, reset_less=True), Signal.like(d_nx, reset_less=True)
        pend_m = Signal(self.m_shape, reset_less=True)
        pend_step = Signal(max(1, self.step_bits), reset_less=True)
        if spatial:
            xi, yi = Signal.like(d_nx), Signal.like(d_ny)
            nx, ny = Signal.like(d_nx), Signal.like(d_ny)
            x_end, y_end = Signal(), Signal()
            rom_pos, rom_row = Signal.like(rom), Signal.like(rom)
            acc_pos, acc_row = Signal.like(acc), Signal.like(acc)
            last = w_end & x_end & y_end
            empty = (d_ny == 0) | (d_nx == 0)          # reaches nothing: consumed, not issued
        else:
            last, empty = w_end, Const(0)
        take = Signal()                                # the walk takes the pending event
        m.d.comb += [take.eq(pend_valid & (~cur_valid | last)),
                     self.events.ready.eq(~pend_valid | take)]
        with m.If(self.events.valid & self.events.ready):
            m.d.sync += [pend_valid.eq(1), pend_empty.eq(empty), pend_rom.eq(d_rom),
                         pend_acc.eq(d_acc), pend_ny.eq(d_ny), pend_nx.eq(d_nx),
                         pend_m.eq(self.events.payload.m)]
            if self.step_bits:
                m.d.sync += pend_step.eq(self.events.payload.step)
        with m.Elif(take):
            m.d.sync += pend_valid.eq(0)
        with m.If(cur_valid):
            with m.If(~w_end):
                m.d.sync += [w.eq(w + 1), w_end.eq(w == k - 2), rom.eq(rom + 1), acc.eq(acc + 1)]
            with m.Elif(last):
                m.d.sync += cur_valid.eq(0)
            if spatial:
                with m.Elif(~x_end):           # next output column
                    m.d.sync += [w.eq(0), w_end.eq(k == 1), xi.eq(xi + 1), x_end.eq(xi == nx - 2),
                                 rom.eq(rom_pos + amap.steps["rom_x"]), rom_pos.eq(rom_pos + amap.steps["rom_x"]),
                                 acc.eq(acc_pos + amap.steps["acc_x"]), acc_pos.eq(acc_pos + amap.steps["acc_x"])]
                with m.Else():                 # next output row
                    nxt_rom, nxt_acc = rom_row + amap.steps["rom_y"], acc_row + amap.steps["acc_y"]
                    m.d.sync += [w.eq(0), w_end.eq(k == 1), xi.eq(0), x_end.eq(nx == 1),
                                 yi.eq(yi + 1), y_end.eq(yi == ny - 2),
                                 rom.eq(nxt_rom), rom_pos.eq(nxt_rom), rom_row.eq(nxt_rom),
                                 acc.eq(nxt_acc), acc_pos.eq(nxt_acc), acc_row.eq(nxt_acc)]
        with m.If(take):
            m.d.sync += [cur_valid.eq(~pend_empty), cur_m.eq(pend_m), w.eq(0),
                         w_end.eq(k == 1), rom.eq(pend_rom), acc.eq(pend_acc)]
            if spatial:
                m.d.sync += [xi.eq(0), yi.eq(0), nx.eq(pend_nx), ny.eq(pend_ny),
                             x_end.eq(pend_nx == 1), y_end.eq(pend_ny == 1), rom_pos.eq(pend_rom),
                             rom_row.eq(pend_rom), acc_pos.eq(pend_acc), acc_row.eq(pend_acc)]
            if self.step_bits:
                m.d.sync += cur_step.eq(pend_step)
        self._pending = pend_valid
        # the accumulator word travels down the pipeline with whether it is a position's
        # last word (lane mask)
        return cur_valid, acc, w_end, cur_m, cur_step

    def _stage(self, m, name, item):
        """Register an item ``{field: value}`` into the next stage."""
        out = {}
        for field, value in item.items():
            sig = Signal.like(value, name=f"{name}_{field}")
            m.d.sync += sig.eq(value)
            out[field] = sig
        return out

    def _gain(self, m, item, before):
        """The step-gain stage: ``· g(step)``, a shift when every gain is a power of two. The
        gain is looked up a stage early (from ``before``'s step) and registered, so the
        table's logic is not in front of the multiplier."""
        # steps 1..W are distinct modulo 2^k (W ≤ 2^k): the table is indexed by the step's
        # low k bits, so each output bit is one k-input function (a LUT4 for W ≤ 16)
        k = max(1, (len(self.gains) - 1).bit_length())
        index = before["step"][:k]
        prod = item["prod"]
        p_shape = Shape.cast(prod.shape().elem_shape)

        def lookup(values, shape):
            table = [0] * (1 << k)
            for step, v in enumerate(values, start=1):      # steps are 1-based
                table[step % (1 << k)] = v
            return Array(Const(v, shape) for v in table)[index]

        if self._shift:
            shifts = [int(math.log2(g)) for g in self.gains]
            amount = Signal(range(max(shifts) + 1), name="gain_shift", reset_less=True)
            m.d.sync += amount.eq(lookup(shifts, range(max(shifts) + 1)))
            g_shape = signed(p_shape.width + max(shifts))
        else:
            g_width = fixed.unsigned_width(max(self.gains))
            gain = Signal(unsigned(g_width), name="gain", reset_less=True)
            m.d.sync += gain.eq(lookup(self.gains, unsigned(g_width)))
            g_shape = signed(p_shape.width + g_width + 1)
        gained = Signal(data.ArrayLayout(g_shape, self.lanes), name="gained", reset_less=True)
        for p in range(self.lanes):
            m.d.sync += gained[p].eq(prod[p] << amount if self._shift
                                     else multiply(prod[p], gain, self.multiplier_placement))
        out = self._stage(m, "s_gain", {f: item[f] for f in ("valid", "word", "tail")})
        out["prod"] = gained
        return out

    def _accumulate(self, m, item, old, before):
        """Add the products to the old words and write them back a cycle later (the write is
        registered: the adder and the RAM's write path were one path). The old word was read
        :attr:`READ_LEAD` cycles before the add, so the writes of the last
        :attr:`FORWARD_DEPTH` adds are not in it: they are forwarded where they can hit the
        same word — an earlier event's item with the same address is at least ``K`` cycles
        back."""
        lanes, k = self.lanes, self.k
        depths = [d for d in range(1, self.FORWARD_DEPTH + 1) if d >= k]
        new = Signal(data.ArrayLayout(self.acc_shape, lanes))
        we = Signal(lanes)
        tail_lanes = self.amap.tail_lanes
        # entry d holds the add of d cycles ago; entry 1 is also the registered write
        history = {0: (item["valid"], item["word"], new, we)}
        for d in range(1, self.FORWARD_DEPTH + 1):
            regs = tuple(Signal.like(v, name=f"hist{d}_{i}", reset_less=(i == 2))
                         for i, v in enumerate(history[d - 1]))
            m.d.sync += [dst.eq(src) for dst, src in zip(regs, history[d - 1])]
            history[d] = regs
        # whether the add of d cycles ago wrote this item's word: compared a cycle ahead,
        # from the stage before (`before`) and the add before (`history[d - 1]`), and
        # registered (the comparison and the forwarding multiplexers were one path)
        hits = {}
        for d in depths:
            hits[d] = Signal(name=f"hit{d}")
            p_valid, p_addr = history[d - 1][0], history[d - 1][1]
            m.d.sync += hits[d].eq(p_valid & (p_addr == before["word"]))
        for p in range(lanes):
            base = old[p]
            for d in reversed(depths):                            # oldest first, newest wins
                f_valid, f_addr, f_data, f_we = history[d]
                base = Mux(hits[d] & f_we[p], f_data[p], base)
            m.d.comb += new[p].eq(base + item["prod"][p])
            lane_ok = 1 if p < tail_lanes else ~item["tail"]
            m.d.comb += we[p].eq(item["valid"] & lane_ok)
        w_valid, w_addr, w_data, w_we = history[1]
        m.d.comb += [self.acc.waddr.eq(w_addr), self.acc.wdata.eq(w_data),
                     self.acc.we.eq(Mux(w_valid, w_we, 0))]
        return w_valid

    def elaborate(self, platform):
        m = Module()
        lanes = self.lanes
        valid, word, tail, mult, step = self._issue(m)
        issued = {"valid": valid, "word": word, "tail": tail, "m": mult, "step": step}
        # s1: the ROM word is being read; s2: it is registered (short block-RAM paths)
        s1 = self._stage(m, "s1", issued)
        s2 = self._stage(m, "s2", s1)
        # datapath registers have no reset (their values matter only with a valid bit, which
        # has one): a DSP block or a block RAM can then absorb them
        s2_w = Signal(data.ArrayLayout(signed(self.weight_bits), lanes), reset_less=True)
        m.d.sync += s2_w.eq(self.rom_data)
        stages = [issued, s1, s2]
        if self._m_kind == "gate":
            # a 1-bit multiplier is 1 on every event (only spikes are sent): m · W = W
            s2["prod"] = s2_w
        else:                                        # s3: m · W
            m_width = Shape.cast(self.m_shape).width
            prod = Signal(data.ArrayLayout(signed(self.weight_bits + m_width + 1), lanes),
                          reset_less=True)
            for p in range(lanes):
                m.d.sync += prod[p].eq(self._times_m(s2_w[p], s2["m"]))
            s3 = self._stage(m, "s3", {f: s2[f] for f in ("valid", "word", "tail", "step")})
            s3["prod"] = prod
            stages.append(s3)
        if self.step_bits:                           # · g(step)
            stages.append(self._gain(m, stages[-1], stages[-2]))
        # the accumulator word is read READ_LEAD cycles before it is written back: its address
        # from the stage two before the accumulate stage, its data registered once
        m.d.comb += self.acc.raddr.eq(stages[-1 - self.READ_LEAD]["word"])
        old = Signal(data.ArrayLayout(self.acc_shape, lanes), reset_less=True)
        m.d.sync += old.eq(self.acc.rdata)
        writing = self._accumulate(m, stages[-1], old, stages[-2])
        busy = writing | self._pending
        for st in stages:
            busy = busy | st["valid"]
        m.d.comb += self.busy.eq(busy)
        return m
