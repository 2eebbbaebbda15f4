"""Fire units: the only per-coding hardware. Combinational: membrane in, spike and new membrane out.

Each mirrors the golden ``fire`` rule of one coding of :mod:`snnhw.codings`, whose
``fire_unit`` builds it.
"""

from amaranth.hdl import Cat, Module, Mux, Shape, Signal, signed, unsigned
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from .. import fixed

__all__ = ["FireUnit", "RateFireUnit", "BurstFireUnit", "SingleSpikeFireUnit", "PassThroughUnit", "AccumulateUnit",
           "TSAFireUnit", "DoublingAccumulateUnit", "fire_unit_for", "input_unit_for"]


class FireUnit(wiring.Component):
    """Base signature of a fire unit.

    Members
    -------
    v : In(signed(acc_bits))        membrane after this step's input and bias
    fire : Out(1)                   an event leaves the neuron
    m : Out(m_shape)                its multiplier
    step : Out(step_bits)           its spike step (only when ``step_bits`` > 0)
    v_next : Out(signed(acc_bits))  membrane after the reset

    first : In(1)                   (:attr:`step_flags`) the scan is the image's first step
    last : In(1)                    (:attr:`step_flags`) the scan is the image's last step
    state : In(state_shape)         (:attr:`state_shape`) the neuron's fire state
    state_next : Out(state_shape)   its new fire state

    A unit of :attr:`latency` ``L`` gives ``fire``, ``m``, ``step``, ``v_next`` and ``state_next``
    of the ``v`` it was given ``L`` cycles before (the scanner delays the neuron's place to match).
    """
    #: Cycles from ``v`` to the outputs.
    latency = 0
    #: Whether the unit takes the scan's ``first`` and ``last`` step flags.
    step_flags = False
    #: Shape of a neuron's fire state (kept by the scanner in a RAM beside the membranes,
    #: cleared every image), or ``None``.
    state_shape = None

    def __init__(self, acc_bits, m_shape, step_bits=0):
        self.acc_bits, self.m_shape, self.step_bits = acc_bits, m_shape, step_bits
        members = {
            "v": In(signed(acc_bits)),
            "fire": Out(1),
            "m": Out(m_shape),
            "v_next": Out(signed(acc_bits)),
        }
        if step_bits:
            members["step"] = Out(step_bits)
        if self.step_flags:
            members.update(first=In(1), last=In(1))
        if self.state_shape is not None:
            members.update(state=In(self.state_shape), state_next=Out(self.state_shape))
        super().__init__(members)


class RateFireUnit(FireUnit):
    """Rate IF neuron (``docs/semantics.md`` §2): ``s = [v ≥ θ]``, ``v_next = v − s·θ``."""
    def __init__(self, acc_bits, threshold):
        self.threshold = threshold
        super().__init__(acc_bits, unsigned(1))

    def elaborate(self, platform):
        m = Module()
        # one carry chain: the sign of v − θ is the comparison, and v − θ the reset value
        diff = Signal(signed(self.acc_bits + 1))
        m.d.comb += [diff.eq(self.v - self.threshold), self.fire.eq(~diff[-1]), self.m.eq(~diff[-1]),
                     self.v_next.eq(Mux(diff[-1], self.v, diff))]
        return m


class BurstFireUnit(FireUnit):
    """Burst neuron (``docs/semantics.md`` §2b): ``s = clamp(floor(v / θs), 0, Γ)``, ``v_next = v − s·θs``,
    ``m = s·ρ`` (``ρ`` = 1 unless SSC compresses the layer).

    ``Γ`` subtractions ``d_k = v − k·θs`` in parallel: their signs are the comparisons
    ``v ≥ k·θs`` (a thermometer code), whose highest true one selects ``d_k`` as the new
    membrane and ``k·ρ`` as ``m`` through one-hot OR trees — one carry chain deep, no divider.
    """
    def __init__(self, acc_bits, fire_threshold, max_burst, rho=1):
        self.theta_s, self.max_burst, self.rho = int(fire_threshold), int(max_burst), int(rho)
        super().__init__(acc_bits, unsigned(fixed.unsigned_width(max_burst * rho)))

    def elaborate(self, platform):
        m = Module()
        g = self.max_burst
        diffs = []
        for k in range(1, g + 1):
            d = Signal(signed(self.acc_bits + 1), name=f"d{k}")
            m.d.comb += d.eq(self.v - k * self.theta_s)
            diffs.append(d)
        ge = Cat(~d[-1] for d in diffs)
        hot = ge & ~(ge >> 1)                      # the highest true comparison
        s, v_next = 0, Mux(ge[0], 0, self.v)
        for k in range(1, g + 1):
            s = s | Mux(hot[k - 1], k * self.rho, 0)
            v_next = v_next | Mux(hot[k - 1], diffs[k - 1], 0)
        m.d.comb += [self.fire.eq(ge[0]), self.m.eq(s), self.v_next.eq(v_next)]
        return m


class SingleSpikeFireUnit(FireUnit):
    """Single-spike phase coding (``docs/semantics.md`` §3): fire at the first step ``k`` with
    ``v ≥ lvl(k)`` (``m = +1``) or, with negative spikes, ``v ≤ −lvl(k)`` (``m = −1``).

    ``levels`` is :func:`snnhw.fixed.phase_levels` of the layer; one comparator per step.
    The membrane is kept (each image starts from a cleared membrane). With ``latency`` 1 the
    comparisons are registered before the step is encoded (the scanner's units: the
    comparators' carry chains and the encoder are then in different cycles).
    """
    def __init__(self, acc_bits, levels, negative_spikes, latency=0):
        self.levels = [int(v) for v in levels]
        self.negative = negative_spikes
        self.latency = int(latency)
        super().__init__(acc_bits, signed(2) if negative_spikes else unsigned(1),
                         step_bits=fixed.unsigned_width(len(self.levels)))

    def elaborate(self, platform):
        m = Module()
        w = len(self.levels)
        # Levels never increase with k, so the comparator outputs are a thermometer code:
        # the first true one is where it differs from its predecessor (one-hot), and the step
        # is an OR of constants — a shallow tree instead of a W-deep priority chain.
        ge, le = Signal(w), Signal(w)
        v_out = Signal.like(self.v)
        domain = m.d.sync if self.latency else m.d.comb
        domain += [ge.eq(Cat(self.v >= lv for lv in self.levels)), v_out.eq(self.v)]
        if self.negative:
            domain += le.eq(Cat(self.v <= -lv for lv in self.levels))
        hot = (ge & ~(ge << 1)[:w]) | (le & ~(le << 1)[:w])
        step = 0
        for k in range(1, w + 1):
            step = step | Mux(hot[k - 1], k, 0)
        m.d.comb += [self.fire.eq(ge[w - 1] | le[w - 1]), self.step.eq(step), self.v_next.eq(v_out)]
        m.d.comb += self.m.eq(Mux(le[w - 1], -1, 1) if self.negative else ge[w - 1])
        return m


class PassThroughUnit(FireUnit):
    """Rate coding's input: every non-zero input code is an event carrying the code itself."""
    def __init__(self, in_shape):
        self.in_shape = in_shape
        super().__init__(Shape.cast(in_shape).width + 1, in_shape)

    def elaborate(self, platform):
        m = Module()
        m.d.comb += [self.fire.eq(self.v != 0), self.m.eq(self.v), self.v_next.eq(self.v)]
        return m


class AccumulateUnit(FireUnit):
    """Output layer: never fires, keeps its membrane."""
    def __init__(self, acc_bits):
        super().__init__(acc_bits, unsigned(1))

    def elaborate(self, platform):
        m = Module()
        m.d.comb += self.v_next.eq(self.v)
        return m


class TSAFireUnit(FireUnit):
    """CSS Ternary Self-Amplifying neuron (``docs/semantics.md`` §3c).

    Silent at the image's first step; else ``s = +1`` if ``2v ≥ θ``, ``s = −1`` if ``2v ≤ −θ``
    and (``state`` or not ``relu``), else 0; ``after = v − s·θ``. The synapse pipeline adds the
    next step's input to the stored membrane, so ``v_next`` is the doubled ``2·after`` (the
    next step's ``2·V``), except at the last step (``after``, the potential ``V(S)``);
    ``state_next = state | (s = +1)`` (has sent a ``+1`` in this image). With ``latency`` 1 the
    comparisons and both reset candidates ``v ∓ θ`` are registered: the carry chains and the
    selection are in different cycles.

    Parameters
    ----------
    acc_bits : int
        Membrane width; the static bound (``CssCoding.membrane_bound``) makes ``2·after`` fit.
    threshold : int
        ``θ``.
    relu : bool
        The positive-first rule (hidden layers); ``False`` for the input encoder.
    latency : int
        0 or 1.
    """
    step_flags = True
    state_shape = unsigned(1)

    def __init__(self, acc_bits, threshold, relu=True, latency=0):
        self.threshold, self.relu, self.latency = int(threshold), bool(relu), int(latency)
        super().__init__(acc_bits, signed(2))

    def elaborate(self, platform):
        m = Module()
        theta, half = self.threshold, -(-self.threshold // 2)
        acc = signed(self.acc_bits)
        pos, neg, state, last = Signal(), Signal(), Signal(), Signal()
        v, dec, inc = Signal(acc), Signal(acc), Signal(acc)
        # integer v: 2v ≥ θ ⇔ v ≥ ⌈θ/2⌉ and 2v ≤ −θ ⇔ v ≤ −⌈θ/2⌉ (one constant comparison each)
        may_neg = self.state if self.relu else 1
        domain = m.d.sync if self.latency else m.d.comb
        domain += [pos.eq(~self.first & (self.v >= half)),
                   neg.eq(~self.first & (self.v <= -half) & may_neg),
                   v.eq(self.v), dec.eq(self.v - theta), inc.eq(self.v + theta),
                   state.eq(self.state), last.eq(self.last)]
        after = Signal(acc)
        m.d.comb += [after.eq(Mux(pos, dec, Mux(neg, inc, v))),
                     self.v_next.eq(Mux(last, after, after << 1)),
                     self.fire.eq(pos | neg), self.m.eq(Cat(pos | neg, neg)),
                     self.state_next.eq(state | pos)]
        return m


class DoublingAccumulateUnit(FireUnit):
    """CSS output layer (``docs/semantics.md`` §3c): never fires; ``v_next = 2·v`` (the next
    step's doubling), ``v`` at the last step (the potential ``V(S)``)."""
    step_flags = True

    def __init__(self, acc_bits):
        super().__init__(acc_bits, unsigned(1))

    def elaborate(self, platform):
        m = Module()
        m.d.comb += self.v_next.eq(Mux(self.last, self.v, self.v << 1))
        return m


def fire_unit_for(layer, coding, index=0):
    """The fire unit of ``layer`` (a :class:`~snnhw.ir.QuantLayer`, the ``index``-th) under
    ``coding``: its :meth:`~snnhw.codings.base.Coding.fire_unit`, or for the output layer its
    :meth:`~snnhw.codings.base.Coding.output_unit`."""
    if not layer.spiking:
        return coding.output_unit(layer)
    return coding.fire_unit(layer, index)


def input_unit_for(qnet):
    """The unit that turns one input code into the first layer's event
    (:meth:`~snnhw.codings.base.Coding.input_unit`)."""
    return qnet.coding.input_unit(qnet)
