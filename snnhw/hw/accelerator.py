"""The accelerator top: input stream, encoder, a chain of layer engines, result buffer, counters."""

from amaranth.hdl import Module, Mux, Signal, signed, unsigned
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from .. import fixed
from ..ir import IRError
from ..passes.widths import stream_event_bounds
from ..plan import DesignPlan
from ..resources import result_placement
from .fire import fire_unit_for, input_unit_for
from .layer import LayerEngine
from .result import ResultBuffer
from .rom import LOAD_WORD_BITS
from .stream import RegFIFO

__all__ = ["SNNAccelerator", "normalise_lanes", "readout_map", "event_shapes"]


def normalise_lanes(qnet, lanes):
    """Per-layer lane counts from an int, a sequence or a :class:`~snnhw.plan.DesignPlan`;
    raises :class:`IRError` on bad values."""
    return DesignPlan.of(qnet, lanes).lanes


def event_shapes(qnet):
    """Per layer, the shape of the multiplier of the events it receives (its synapse's
    ``m``), without building the hardware."""
    from .scan import event_m_shape

    single = qnet.coding.one_window
    unit = input_unit_for(qnet)
    unit._MustUse__silence = True
    shapes = [unit.m_shape]
    for k, layer in enumerate(qnet.layers[:-1]):
        fu = fire_unit_for(layer, qnet.coding, k)
        fu._MustUse__silence = True
        shapes.append(event_m_shape(layer, fu.m_shape, single))
    return shapes


def readout_map(qnet):
    """Name → readout register index (see the README's readout table)."""
    n_out = qnet.n_outputs
    regs = {f"potential[{j}]": j for j in range(n_out)}
    regs["predicted"] = n_out
    regs["cycles"] = n_out + 1
    for k in range(len(qnet.layers)):
        regs[f"events[{k}]"] = n_out + 2 + k
    regs["exit_step"] = n_out + 2 + len(qnet.layers)
    return regs


class SNNAccelerator(wiring.Component):
    """Runs a :class:`~snnhw.ir.QuantNetwork` on a stream of images, one result per image, in order.

    Every layer engine runs concurrently and moves on to the next image as soon as it has
    finished the current one, so images stream through the layers (layer pipelining); the
    output layer's results wait in a two-slot :class:`~snnhw.hw.result.ResultBuffer`.

    Parameters
    ----------
    qnet : :class:`~snnhw.ir.QuantNetwork` (widths bound)
    lanes : int, tuple of int or :class:`~snnhw.plan.DesignPlan`
        Synapse lanes (weights read per cycle) of each layer, or the whole plan (lanes and
        placements); ``"auto"`` placements are resolved by :meth:`DesignPlan.resolve`.

    Members
    -------
    in_valid, in_ready, in_data : the input codes of each image, ``n_inputs`` in index order
    done : Out(1)     the oldest image's result is readable
    ack : In(1)       one-cycle pulse: drop that result (the next image's follows)
    busy : Out(1)     at least one image accepted and not yet acknowledged
    rd_addr : In; rd_data : Out(signed(32))  readout registers of the result, one cycle latency
                      (:func:`readout_map`: potentials, predicted class, cycles, events per
                      stream, exit step)
    load_valid, load_ready, load_data : (weights in SPRAM only, :attr:`load_words` > 0) the
                      16-bit words of :meth:`load_image`, after reset; ``in_ready`` stays low
                      until all arrived
    """
    #: Images in flight (accepted, result not yet acknowledged) at most.
    MAX_IN_FLIGHT = 4

    def __init__(self, qnet, lanes=1):
        if any(l.acc_bits == 0 for l in qnet.layers):
            raise IRError("network has no accumulator widths: run passes.bound_widths first")
        out = qnet.layers[-1]
        if out.acc_bits > fixed.READOUT_BITS:
            raise IRError(f"layer {out.name!r}: output membrane needs {out.acc_bits} bits, more "
                          f"than the {fixed.READOUT_BITS}-bit readout; use fewer timesteps or weight bits")
        if out.is_conv:
            raise IRError(f"layer {out.name!r}: the output layer must be a Linear layer "
                          f"(flatten the last convolution into one)")
        self.qnet = qnet
        self.plan = DesignPlan.of(qnet, lanes).resolve(qnet)
        self.lanes = self.plan.lanes
        self.n_inputs = qnet.n_inputs
        self.input_bits = qnet.input_bits
        self.input_signed = qnet.input_signed
        self.in_shape = signed(qnet.input_bits) if qnet.input_signed else unsigned(qnet.input_bits)
        self.readout = readout_map(qnet)
        self.readout_depth = len(self.readout)
        self.encoder = qnet.coding.input_encoder(qnet)
        self.engines = self._engines()
        self.result = ResultBuffer(qnet.n_outputs, out.acc_bits, self.engines[-1].steps_done.shape(),
                                   result_placement(qnet.n_outputs, out.acc_bits))
        #: Multipliers in DSP blocks (``synth_ice40 -dsp`` maps them; the plan must fit the device).
        self.multipliers = sum(e.synapse.dsp_multipliers for e in self.engines)
        #: 16-bit words to load after reset (weights in SPRAM).
        self.load_words = sum(e.load_words for e in self.engines)
        members = {}
        if self.load_words:
            members = {"load_valid": In(1), "load_ready": Out(1), "load_data": In(LOAD_WORD_BITS)}
        super().__init__({
            **members,
            "in_valid": In(1),
            "in_ready": Out(1),
            "in_data": In(self.in_shape),
            "done": Out(1),
            "ack": In(1),
            "busy": Out(1),
            "rd_addr": In(range(max(2, self.readout_depth))),
            "rd_data": Out(signed(fixed.READOUT_BITS)),
        })

    def _engines(self):
        qnet, coding = self.qnet, self.qnet.coding
        steps = coding.steps()
        gains = coding.step_gains()
        iat = qnet.early_exit is not None
        max_events = stream_event_bounds(qnet)
        n = len(qnet.layers)
        engines, m_in = [], self.encoder.unit.m_shape
        for k, (layer, lp) in enumerate(zip(qnet.layers, self.plan.layers)):
            static = k == 0 and coding.static_input
            engines.append(LayerEngine(
                layer, fire_unit_for(layer, qnet.coding, k), lp, steps, m_in,
                static_input=static, output=(k == n - 1), gains=gains,
                initial_membrane=coding.initial_membrane(layer.threshold, k) if layer.spiking else 0,
                wait_decision=iat and static,
                exit_margins=qnet.early_exit.margins if iat and k == n - 1 else None,
                one_window=coding.one_window, lag=coding.layer_lag, bias_once=coding.bias_once,
                pool_doubles=coding.pool_doubles, max_events=max_events[k]))
            m_in = engines[-1].scanner.m_shape
        return engines

    def planned_memories(self):
        """``{component path: placement}`` of the memories the plan placed (the path of the
        component holding the memory, relative to this core, as Yosys names it): weights,
        membranes, currents, pooling counts."""
        out = {}
        for k, (e, lp) in enumerate(zip(self.engines, self.plan.layers)):
            out[f"layer{k}.rom"] = lp.weights
            for ram in ("v", "c", "cnt", "sent", "fs"):
                if ram == "v" or (ram == "c" and e.static_input) or (ram == "fs" and e.scanner.state_shape is not None) \
                        or (ram in ("cnt", "sent") and e.scanner.lipool):
                    out[f"layer{k}.{ram}"] = lp.membranes
        return out

    def load_image(self):
        """The words of :attr:`load_words`, in load order (the SPRAM weights, layer by layer)."""
        return [w for e in self.engines for w in e.rom.load_image()]

    def _load_chain(self, m):
        """The load stream goes to the SPRAM weight ROMs one after the other; returns
        ``loaded`` (every word arrived)."""
        targets = [e for e in self.engines if e.load_words]
        if not targets:
            return 1
        for k, e in enumerate(targets):
            ahead = [t.loaded for t in targets[:k]]
            mine = ~e.loaded
            for t in ahead:
                mine = mine & t
            m.d.comb += [e.load.valid.eq(self.load_valid & mine), e.load.payload.eq(self.load_data)]
            with m.If(mine):
                m.d.comb += self.load_ready.eq(e.load.ready)
        loaded = Signal()
        m.d.sync += loaded.eq(targets[-1].loaded)
        return loaded

    def elaborate(self, platform):
        m = Module()
        m.submodules.encoder = enc = self.encoder
        m.submodules.result = res = self.result
        m.submodules.timestamps = stamps = RegFIFO(32, self.MAX_IN_FLIGHT)
        loaded = self._load_chain(m)
        now = Signal(32)
        m.d.sync += now.eq(now + 1)
        in_flight = Signal(range(self.MAX_IN_FLIGHT + 1))
        room = Signal()                          # registered: another image may start
        m.d.comb += [
            enc.inp.valid.eq(self.in_valid & loaded), enc.inp.payload.eq(self.in_data),
            self.in_ready.eq(enc.inp.ready & loaded),
            # no new image while the previous one's timestamp is still being written
            enc.can_start.eq(room & ~enc.image_start),
            stamps.w_data.eq(now), stamps.w_en.eq(enc.image_start),
            self.busy.eq(in_flight != 0),
        ]

        producers = [enc] + self.engines[:-1]
        for k, (src, eng) in enumerate(zip(producers, self.engines)):
            m.submodules[f"layer{k}"] = eng
            m.d.comb += [eng.inp.valid.eq(src.out.valid), eng.inp.payload.eq(src.out.payload),
                         src.out_room.eq(eng.inp_room)]
        last = self.engines[-1]
        m.d.comb += last.out_room.eq(1)        # the output layer emits nothing
        if self.qnet.early_exit is not None:   # IAT: the output layer's decisions step the first
            first = self.engines[0]
            m.d.comb += [first.decision_valid.eq(last.decision_valid),
                         first.decision_exit.eq(last.decision_exit)]

        # the output layer's scans fill the result buffer; a finished image commits its slot.
        # Its cycle count is `now − stamp`, computed from registers one cycle ahead (a 32-bit
        # subtraction behind the timestamp queue's multiplexer was the critical path): the
        # oldest image's stamp is stable long before it commits.
        stamp_q, now1, elapsed = Signal(32), Signal(32, init=1), Signal(32)
        m.d.sync += [stamp_q.eq(stamps.r_data), now1.eq(now1 + 1), elapsed.eq(now1 - stamp_q)]
        m.d.comb += [res.clear.eq(last.scan_start), res.valid.eq(last.value_valid),
                     res.value.eq(last.value), res.commit.eq(last.finished),
                     res.steps.eq(last.steps_done), res.cycles.eq(elapsed),
                     last.can_fill.eq(res.can_fill), stamps.r_en.eq(last.finished)]

        # `done` falls at the edge that samples `ack`; dropping the result follows from a
        # registered copy (no path from the host's logic into the buffer)
        ack_q = Signal()
        m.d.comb += self.done.eq(res.done & ~ack_q)
        m.d.sync += ack_q.eq(self.ack & self.done)
        m.d.comb += [res.free.eq(ack_q)] + [e.count_pop.eq(ack_q) for e in self.engines]
        m.d.sync += room.eq(in_flight + enc.image_start < self.MAX_IN_FLIGHT)
        m.d.sync += in_flight.eq(in_flight + enc.image_start - ack_q)

        # readout registers
        n_out = self.qnet.n_outputs
        regs = ([res.predicted, res.cycles_out]
                + [e.count for e in self.engines] + [res.exit_step])
        # each register is copied first (an event count is a FIFO's read multiplexer, and it
        # and the address decode were one path): a value is then two cycles old, and it has
        # long settled when the host reads it (after `done`)
        copies = [Signal.like(reg, name=f"readout{i}", reset_less=True)
                  for i, reg in enumerate(regs)]
        m.d.sync += [c.eq(reg) for c, reg in zip(copies, regs)]
        regs = copies
        is_pot = Signal()
        reg_data = Signal(signed(fixed.READOUT_BITS))
        m.d.comb += res.rd_addr.eq(self.rd_addr)
        m.d.sync += is_pot.eq(self.rd_addr < n_out)
        with m.Switch(self.rd_addr):
            for idx, reg in enumerate(regs):
                with m.Case(n_out + idx):
                    m.d.sync += reg_data.eq(reg)
        m.d.comb += self.rd_data.eq(Mux(is_pot, res.rd_data, reg_data))
        return m
