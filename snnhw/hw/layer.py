"""One layer engine: event FIFO → synapse pipeline → membrane RAM ← neuron scanner → events out."""

from amaranth.hdl import Module, Mux, Signal, signed
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from .. import fixed
from ..plan import LayerPlan
from .address import AddressMap
from .exit import ExitMonitor
from .ram import LaneRAM
from .rom import WeightROM
from .scan import NeuronScanner
from .stream import ROOM_MARGIN, EventFIFO, EventStream, RegFIFO, event_layout
from .synapse import SynapsePipeline

__all__ = ["LayerEngine", "fifo_depth"]


def fifo_depth(n_src):
    """Input FIFO depth of a layer whose sources number ``n_src``: a whole step of events fits."""
    return min(512, max(16, 1 << fixed.ceil_log2(n_src + 2)))


class LayerEngine(wiring.Component):
    """Runs one layer, image after image (free-running from reset).

    Per step: integrate the events of the input stream up to the end-of-step token, then
    scan every neuron through the fire unit, sending its events and an end-of-step token
    downstream. The end-of-image token ends the image: the engine passes it on, pushes its
    event count into a small queue, re-initialises its membranes and goes on with the next
    image. The output layer (``output``) sends no events: its scans stream its membranes out
    (``value``) to the result buffer, it starts an image's first scan only when the buffer
    can take it (``can_fill``), and it pulses ``finished`` when the image is done.

    A layer with ``static_input`` integrates its input once (step 0) into a constant-current
    RAM and then scans ``steps`` times — or, with ``wait_decision`` (IAT), after each scan
    waits for the output layer's decision and stops early on an exit. With ``exit_margins``
    (the output layer under IAT) the engine tests its membranes after each scan and sends
    the decision.

    Parameters
    ----------
    layer : :class:`~snnhw.ir.QuantLayer`
    fire_unit : :class:`~snnhw.hw.fire.FireUnit`
    plan : :class:`~snnhw.plan.LayerPlan` (resolved) or int (lanes; default placements)
    steps : int
    m_in_shape : shape of the incoming multipliers
    static_input, output : bool
    gains : sequence of int, optional
        Step gains of the incoming events (single-spike coding).
    initial_membrane : int
        Membrane of a spiking neuron at the start of an image.
    wait_decision : bool
        (``static_input``) run step after step only on the output layer's decisions (IAT).
    exit_margins : sequence of int, optional
        (``output``) the early-exit margins of each step (IAT): decide after each scan.
    one_window : bool
        The coding sends single spikes (pooling by step).
    lag : int
        ``layer_lag`` of the coding (0 or 1). With 1 the engine runs one step behind the layer
        before it: the image's first scan sends no end-of-step token, and the end-of-image
        token starts the last scan (``steps`` scans in all, the last without new events).
    bias_once, pool_doubles : bool
        See :class:`~snnhw.hw.scan.NeuronScanner`.
    max_events : int
        The most events one image can bring (:func:`snnhw.passes.widths.stream_event_bounds`):
        the width of the event counter.

    Members
    -------
    inp : In(event stream)      the input FIFO's write side
    inp_room : Out(1)           registered: the input FIFO is below ``depth - ROOM_MARGIN``
    out, out_room               events to the next layer (unused on the output layer)
    count, count_valid, count_pop  per-image event counts (oldest first)
    steps_done : Out            steps of the image so far (its exit step when ``finished``)
    scan_start, value_valid, value : Out   a scan begins; every scanned neuron's new membrane
    can_fill : In(1); finished : Out(1)    (``output``) see above
    decision_valid, decision_exit : Out (``exit_margins``) or In (``wait_decision``)
    load, loaded                (weights in SPRAM) the weight ROM's load stream
    """
    #: Images whose event counts an engine can queue.
    COUNT_DEPTH = 4

    def __init__(self, layer, fire_unit, plan, steps, m_in_shape, static_input=False, output=False,
                 gains=None, initial_membrane=0, wait_decision=False, exit_margins=None,
                 one_window=False, lag=0, bias_once=False, pool_doubles=False,
                 max_events=(1 << 32) - 1):
        if not isinstance(plan, LayerPlan):
            from ..resources import default_placement
            plan = LayerPlan(int(plan), **default_placement(layer, int(plan)))
        if not plan.resolved:
            raise ValueError(f"layer {layer.name!r}: the plan has unresolved placements: {plan}")
        self.layer, self.plan, self.lanes, self.steps = layer, plan, plan.lanes, steps
        self.static_input, self.output = static_input, output
        self.wait_decision = wait_decision
        self.exit_margins = None if exit_margins is None else [int(v) for v in exit_margins]
        self.count_bits = fixed.unsigned_width(max_events)
        self.amap = AddressMap.for_layer(layer, self.lanes)
        self.bank_depth = self.amap.acc_depth    # words of the membrane RAM
        self.acc_shape = signed(layer.acc_bits)
        self.current_shape = signed(layer.current_bits) if static_input else None
        self.depth = fifo_depth(layer.n_in)
        self.rom = WeightROM(layer.weight, self.lanes, layer.weight_bits, plan.weights)
        self.initial_membrane = int(initial_membrane)
        self.synapse = SynapsePipeline(self.amap, layer.weight_bits, m_in_shape,
                                       self.current_shape if static_input else self.acc_shape,
                                       gains=gains, multipliers=plan.multipliers)
        if lag not in (0, 1) or (lag and static_input):
            raise ValueError(f"layer {layer.name!r}: lag must be 0 or 1 (1 only without static input)")
        self.lag = lag
        self.scanner = NeuronScanner(layer, self.lanes, fire_unit, self.current_shape,
                                     one_window=one_window, steps=steps, bias_once=bias_once,
                                     pool_doubles=pool_doubles, silent_first=bool(lag))
        step_bits = self.synapse.step_bits
        self.in_layout = event_layout(layer.in_shape, m_in_shape, step_bits)
        members = {}
        if wait_decision:
            members.update(decision_valid=In(1), decision_exit=In(1))
        if self.exit_margins is not None:
            members.update(decision_valid=Out(1), decision_exit=Out(1))
        if output:
            members.update(can_fill=In(1), finished=Out(1))
        if self.rom.load_words:
            members.update(load=In(self.rom.load.signature.flip()), loaded=Out(1))
        super().__init__({
            **members,
            "inp": In(EventStream(layer.in_shape, m_in_shape, step_bits)),
            "inp_room": Out(1),
            "out": Out(self.scanner.out.signature),
            "out_room": In(1),
            "count": Out(self.count_bits),
            "count_valid": Out(1),
            "count_pop": In(1),
            "steps_done": Out(range(steps + 2)),
            "scan_start": Out(1),
            "value_valid": Out(1),
            "value": Out(self.acc_shape),
        })

    @property
    def load_words(self):
        return self.rom.load_words

    def _ram(self, m, name, shape, init, port, init_phase, init_word, lanes=None, depth=None,
             collisions_matter=False):
        """A :class:`LaneRAM` driven by ``port`` (a MemPort-like dict), written with ``init``
        while ``init_phase`` (word ``init_word``). The synapse's reads that meet its own
        writes are forwarded, so only the scanner's can make a collision matter."""
        lanes = self.lanes if lanes is None else lanes
        depth = max(2, self.bank_depth if depth is None else depth)
        m.submodules[name] = ram = LaneRAM(depth, shape, lanes, self.plan.membranes,
                                           collisions_matter)
        m.d.comb += ram.raddr.eq(port["raddr"])
        with m.If(init_phase):
            m.d.comb += [ram.waddr.eq(init_word), ram.we.eq(Mux(init_word < depth, (1 << lanes) - 1, 0))]
            m.d.comb += [ram.wdata[p].eq(init) for p in range(lanes)]
        with m.Else():
            m.d.comb += [ram.waddr.eq(port["waddr"]), ram.wdata.eq(port["wdata"]), ram.we.eq(port["we"])]
        return ram.rdata

    def _memories(self, m, init_phase, init_word, integrating):
        """The membrane RAM (scanner; also the synapse unless the input is static), the
        constant-current RAM, and LIPooling's count and sent RAMs."""
        syn, scan = self.synapse, self.scanner
        k = self.bank_depth
        v_port = {"raddr": Signal(range(max(2, k))), "waddr": Signal(range(max(2, k))),
                  "wdata": Signal(data.ArrayLayout(self.acc_shape, self.lanes)),
                  "we": Signal(self.lanes)}
        v_init = self.initial_membrane if self.layer.spiking else 0
        # the scanner writes a lane back `write_distance` cycles after reading its word, while
        # it reads the same word for the later lanes
        v_collide = scan.writes_back and self.lanes > scan.write_distance
        v_rdata = self._ram(m, "v", self.acc_shape, v_init, v_port, init_phase, init_word,
                            collisions_matter=v_collide)
        m.d.comb += scan.v.rdata.eq(v_rdata)
        scan_port = {"raddr": scan.v.raddr, "waddr": scan.v.waddr, "wdata": scan.v.wdata, "we": scan.v.we}
        if scan.state_shape is not None:       # the fire state, beside the membranes
            port = scan.fs
            rdata = self._ram(m, "fs", scan.state_shape, 0,
                              {"raddr": port.raddr, "waddr": port.waddr, "wdata": port.wdata,
                               "we": port.we}, init_phase, init_word, collisions_matter=v_collide)
            m.d.comb += port.rdata.eq(rdata)
        if scan.lipool:                # LIPooling's counts (per neuron) and sent totals (per window)
            for name, lanes, depth, collide in (
                    ("cnt", self.lanes, k, self.lanes > scan.write_distance + 1),
                    ("sent", 1, scan.order.windows, False)):     # windows are written once passed
                port = getattr(scan, name)
                rdata = self._ram(m, name, scan.count_shape, 0,
                                  {"raddr": port.raddr, "waddr": port.waddr, "wdata": port.wdata,
                                   "we": port.we}, init_phase, init_word, lanes, depth, collide)
                m.d.comb += port.rdata.eq(rdata)
        if self.static_input:
            c_port = {"raddr": Signal(range(max(2, k))), "waddr": syn.acc.waddr,
                      "wdata": syn.acc.wdata, "we": syn.acc.we}
            c_rdata = self._ram(m, "c", self.current_shape, 0, c_port, init_phase, init_word)
            m.d.comb += [syn.acc.rdata.eq(c_rdata), scan.c_rdata.eq(c_rdata),
                         c_port["raddr"].eq(Mux(integrating, syn.acc.raddr, scan.c_raddr))]
            m.d.comb += [v_port[name].eq(sig) for name, sig in scan_port.items()]
        else:
            syn_port = {"raddr": syn.acc.raddr, "waddr": syn.acc.waddr, "wdata": syn.acc.wdata,
                        "we": syn.acc.we}
            m.d.comb += syn.acc.rdata.eq(v_rdata)
            for name in v_port:
                m.d.comb += v_port[name].eq(Mux(integrating, syn_port[name], scan_port[name]))

    def _input(self, m, integrating, events):
        """Input FIFO → two-entry register queue → synapse; returns ``(head, take_token)``."""
        syn = self.synapse
        m.submodules.fifo = fifo = EventFIFO(len(self.inp.payload.as_value()), self.depth,
                                             ROOM_MARGIN)
        m.d.comb += [fifo.w_data.eq(self.inp.payload.as_value()), fifo.w_en.eq(self.inp.valid),
                     self.inp.ready.eq(fifo.w_rdy)]
        # a two-entry register queue after the block-RAM FIFO: the synapse's handshake then
        # never reaches the FIFO's pointer logic in the same cycle (Fmax)
        m.submodules.skid = skid = RegFIFO(len(fifo.r_data), 2)
        m.d.comb += [skid.w_data.eq(fifo.r_data), skid.w_en.eq(fifo.r_rdy),
                     fifo.r_en.eq(fifo.r_rdy & skid.w_rdy)]
        head = data.View(self.in_layout, skid.r_data)
        m.d.comb += self.inp_room.eq(fifo.room)

        # events from the queue into the synapse pipeline; a token ends integration once the
        # pipeline is empty. `syn_idle` is registered: the pipeline was empty and took nothing
        # in the last cycle, so it is empty now (only the queue's head can enter it).
        is_event = skid.r_rdy & ~head.last
        accept = syn.events.valid & syn.events.ready
        m.d.comb += [syn.events.valid.eq(integrating & is_event), syn.events.payload.m.eq(head.m)]
        for name in ("c", "y", "x") if self.amap.spatial else ("src",):
            m.d.comb += getattr(syn.events.payload, name).eq(getattr(head, name))
        if syn.step_bits:
            m.d.comb += syn.events.payload.step.eq(head.step)
        syn_idle = Signal()
        m.d.sync += syn_idle.eq(~syn.busy & ~accept)
        take_token = integrating & skid.r_rdy & head.last & syn_idle
        m.d.comb += skid.r_en.eq(accept | take_token)
        with m.If(accept):
            m.d.sync += events.eq(events + 1)
        return head, take_token

    def _decisions(self, m, step):
        """IAT: the output layer tests its membranes after each scan; the first layer latches
        each decision (one per scan). Returns ``(monitor, pending, exit)``."""
        scan = self.scanner
        monitor = dec_pending = dec_exit = None
        if self.exit_margins is not None:
            m.submodules.exit = monitor = ExitMonitor(self.layer.acc_bits, self.exit_margins)
            m.d.comb += [monitor.clear.eq(scan.start), monitor.valid.eq(scan.value_valid),
                         monitor.value.eq(scan.value), monitor.step.eq(step)]
            m.d.sync += self.decision_valid.eq(0)
        if self.wait_decision:
            dec_pending, dec_exit = Signal(), Signal()
            with m.If(self.decision_valid):
                m.d.sync += [dec_pending.eq(1), dec_exit.eq(self.decision_exit)]
        return monitor, dec_pending, dec_exit

    def _control(self, m, scan, counts, head, take_token, monitor, dec_pending, dec_exit,
                 initialising, integrating, init_word, init_depth, step, events):
        """The engine's state machine, one-hot (a state is one register; every condition is a
        register or a gate or two deep: the engines' control was the critical path):
        INIT (``initialising``: clear the RAMs) → INTEGRATE (``integrating``: events up to
        the token) → [WAIT_FILL: the output layer's result slot] → SCAN_START → SCAN → back
        to INTEGRATE, to SCAN_START (static input) or to DECIDE (IAT); the end-of-image
        token → FINISH (the scanner passes it on) → END (queue the event count) → INIT."""
        names = ("wait_fill", "scan_start", "scan_on", "decide", "finish", "end")
        s_wait, s_start, s_scan, s_decide, s_finish, s_end = (Signal(name=f"s_{n}") for n in names)
        # registered comparisons of the counters (updated with the counters)
        init_last = Signal(init=int(init_depth == 1))
        step_zero, step_last, step_full = Signal(init=1), Signal(init=int(self.steps == 1)), Signal()

        def goto(*changes):
            m.d.sync += [flag.eq(value) for flag, value in changes]

        def restart_steps():
            m.d.sync += [step.eq(0), step_zero.eq(1), step_last.eq(self.steps == 1), step_full.eq(0)]

        def next_step():
            m.d.sync += [step.eq(step + 1), step_zero.eq(0), step_last.eq(step == self.steps - 2),
                         step_full.eq(step == self.steps - 1)]

        with m.If(initialising):                       # INIT
            m.d.sync += [init_word.eq(init_word + 1), init_last.eq(init_word == init_depth - 2)]
            with m.If(init_last):
                goto((initialising, 0), (integrating, 1))
                m.d.sync += [init_word.eq(0), events.eq(0)]
                restart_steps()
        if scan.step_flags:
            m.d.comb += [scan.first.eq(step_zero), scan.last.eq(step_last)]
        if self.lag:
            closing = Signal()                         # the last scan, then FINISH
        with m.If(integrating & take_token):          # INTEGRATE, the token
            goto((integrating, 0))
            with m.If(head.final):
                if self.lag:
                    goto((closing, 1), (s_start, 1))     # one step behind: the last scan
                else:
                    m.d.comb += scan.finish.eq(1)        # pass the end of the image on
                    goto((s_finish, 1))
            with m.Elif(step_zero if self.output else 0):
                goto((s_wait, 1))
            with m.Else():
                goto((s_start, 1))
        if self.output:
            # the output layer starts an image only when its result has a place to go
            # (`can_fill` registered: only this engine's own commit fills the slot, long
            # before its next image's first scan)
            can_fill = Signal()
            m.d.sync += can_fill.eq(self.can_fill)
            with m.If(s_wait & can_fill):
                goto((s_wait, 0), (s_start, 1))
        # SCAN_START: the start pulse comes from a state register
        m.d.comb += scan.start.eq(s_start)
        with m.If(s_start):
            goto((s_start, 0), (s_scan, 1))
        if self.lag:
            with m.If(s_scan & ~scan.busy & closing):   # the last scan done: FINISH
                m.d.comb += scan.finish.eq(1)
                goto((s_scan, 0), (closing, 0), (s_finish, 1))
                next_step()
        with (m.Elif if self.lag else m.If)(s_scan & ~scan.busy):   # SCAN done (busy from after the start)
            goto((s_scan, 0))
            next_step()
            if monitor is not None:
                m.d.sync += [self.decision_valid.eq(1), self.decision_exit.eq(monitor.confident)]
            if self.static_input and self.wait_decision:
                goto((s_decide, 1))
            elif self.static_input:
                with m.If(step_last):
                    goto((integrating, 1))               # only the end-of-image token is left
                with m.Else():
                    goto((s_start, 1))
            else:
                goto((integrating, 1))
        if self.wait_decision:
            with m.If(s_decide & dec_pending):
                m.d.sync += dec_pending.eq(0)
                goto((s_decide, 0))
                with m.If(dec_exit | step_full):
                    goto((integrating, 1))
                with m.Else():
                    goto((s_start, 1))
        with m.If(s_finish & ~scan.busy):              # FINISH
            goto((s_finish, 0), (s_end, 1))
        m.d.comb += [counts.w_data.eq(events), counts.w_en.eq(s_end)]
        with m.If(s_end & counts.w_rdy):              # END
            if self.output:
                m.d.comb += self.finished.eq(1)
            goto((s_end, 0), (initialising, 1))
            m.d.sync += init_last.eq(init_depth == 1)

    def elaborate(self, platform):
        m = Module()
        m.submodules.rom = rom = self.rom
        m.submodules.synapse = syn = self.synapse
        m.submodules.scanner = scan = self.scanner
        m.submodules.counts = counts = RegFIFO(self.count_bits, self.COUNT_DEPTH)
        if self.rom.load_words:
            wiring.connect(m, wiring.flipped(self.load), rom.load)
            m.d.comb += self.loaded.eq(rom.loaded)

        scan_windows = scan.order.windows if scan.lipool else 0
        init_depth = max(self.bank_depth, scan_windows)
        init_word = Signal(range(max(2, init_depth)))
        step = Signal(range(self.steps + 2))
        initialising = Signal(init=1)
        integrating = Signal()
        events = Signal(self.count_bits)

        m.d.comb += [
            rom.addr.eq(syn.rom_addr), syn.rom_data.eq(rom.data),
            self.out.valid.eq(scan.out.valid), self.out.payload.eq(scan.out.payload),
            scan.out_room.eq(self.out_room),
            self.count.eq(counts.r_data), self.count_valid.eq(counts.r_rdy),
            counts.r_en.eq(self.count_pop), self.steps_done.eq(step),
            self.scan_start.eq(scan.start),
            self.value_valid.eq(scan.value_valid), self.value.eq(scan.value),
        ]
        self._memories(m, initialising, init_word, integrating)
        head, take_token = self._input(m, integrating, events)
        monitor, dec_pending, dec_exit = self._decisions(m, step)

        self._control(m, scan, counts, head, take_token, monitor, dec_pending, dec_exit,
                      initialising, integrating, init_word, init_depth, step, events)
        return m
