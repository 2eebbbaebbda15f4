"""The :class:`Coding` base class: what every spike coding tells the rest of snnhw.

A coding is a frozen dataclass (its parameters, validated with the error messages users see)
that subclasses :class:`Coding` and answers every question the golden model, the width and
quantisation passes, the hardware generator, the cycle and resource models and the report ask
about it (``docs/semantics.md`` §0). Nothing outside :mod:`snnhw.codings` looks at a coding's
name: it asks the coding object.

Golden methods take integer numpy arrays and return int64 arrays; ``layer`` is the index of the
weight layer (0 = the first) and ``step`` the layer's step (1-based). The hardware methods import
:mod:`snnhw.hw` lazily, so the golden model stays numpy-only.
"""

import dataclasses
import math
from dataclasses import dataclass

import numpy as np

from .. import fixed
from ..errors import IRError

__all__ = ["OPTION_DEFAULTS", "REGISTRY", "Choice", "Coding", "check_int"]

#: Every :class:`Coding` subclass that has a ``name``, as it is defined.
REGISTRY = []

#: The coding options of ``choose_coding`` and their defaults ("unset").
OPTION_DEFAULTS = {"timesteps": None, "window": None, "base": None, "threshold_shift": True,
                   "negative_spikes": None, "max_burst": None, "ssc": True, "refine": False}


def check_int(value, lo, hi, what):
    """``value`` as a Python int; raises :class:`IRError` unless it is an integer in ``lo..hi``."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)) \
            or not lo <= value <= hi:
        raise IRError(f"{what} must be an integer in {lo}..{hi}, got {value!r}")
    return int(value)


@dataclass(frozen=True)
class Choice:
    """One value of ``--coding``.

    Attributes
    ----------
    name : str
    coding : type
        The :class:`Coding` subclass it builds.
    choose : callable
        ``choose(net, x_cal, y_cal, options, quant)`` → ``(coding, search)``.
    options : tuple of str
        The keys of :data:`OPTION_DEFAULTS` that apply.
    early_exit : bool
        Whether the IAT early exit is on by default.
    """
    name: str
    coding: type
    choose: object
    options: tuple
    early_exit: bool = False

    def check_options(self, options):
        """Raise :class:`IRError` for an option set (not its default) that does not apply."""
        for key, value in options.items():
            if key not in OPTION_DEFAULTS:
                raise IRError(f"unknown coding option {key!r}")
            if key not in self.options and value != OPTION_DEFAULTS[key]:
                raise IRError(f"option {key.replace('_', '-')} = {value!r} does not apply to "
                              f"coding {self.name!r} (it takes: "
                              f"{', '.join(k.replace('_', '-') for k in self.options) or 'none'})")


class Coding:
    """Base of every coding config.

    Class attributes
    ----------------
    name : str
        The coding's name in saved networks and reports.
    static_input : bool
        The first layer receives the input once (step 0) and integrates it into a constant
        current added every step; otherwise the input encoder sends events every step.
    resets_by_subtraction : bool
        A firing neuron keeps its residue (otherwise it keeps its membrane and fires once).
    one_window : bool
        Each layer integrates its whole input in one window and then fires at most once per
        neuron, the spike's step carrying its value (:meth:`step_gains`); the membrane is not
        written back.
    early_exit : bool
        Whether the IAT early exit applies (several steps whose output potentials accumulate).
    """
    name = None
    #: The ``--coding`` values it provides: ``(value, chooser classmethod name, options that
    #: apply, IAT early exit on by default)`` each.
    choices = ()
    #: Its place in the ``--coding`` list.
    order = 100
    static_input = True
    resets_by_subtraction = True
    one_window = False
    early_exit = False

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if cls.__dict__.get("name"):
            REGISTRY.append(cls)

    # -- parameters ------------------------------------------------------------------------

    def check_layers(self, n_spiking):
        """Raise :class:`IRError` unless per-layer parameters fit ``n_spiking`` spiking layers."""

    def as_dict(self):
        """``{"kind": name, parameter: value, ...}``: what a saved network and a report hold."""
        return {"kind": self.name, **dataclasses.asdict(self)}

    @classmethod
    def from_dict(cls, params, where):
        """The coding of saved ``params`` (without ``kind``); ``where`` names the file."""
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(params) - known)
        if unknown:
            raise IRError(f"{where}: {cls.name} coding has no parameter {unknown[0]!r}; "
                          f"it has {', '.join(sorted(known))}")
        return cls(**params)

    @classmethod
    def choose(cls, net, x_cal, y_cal, options, quant):
        """The coding of the options that are set and are its parameters (its defaults for the
        rest), ``(coding, [])``: nothing is searched."""
        fields = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in options.items() if k in fields and v is not None}), []

    @property
    def timesteps_reported(self):
        """The ``timesteps`` a report states: the steps of one inference."""
        return self.steps()

    # -- golden rules (docs/semantics.md §2–§3) ------------------------------------------------

    #: Steps by which layer ``k + 1`` runs behind layer ``k``: its step ``τ`` happens at the
    #: network's step ``τ + k · layer_lag`` (0: every layer runs the same step).
    layer_lag = 0

    def steps(self):
        """Steps each layer runs per image."""
        raise NotImplementedError

    def event_unit(self, layer, input_levels):
        """The integer a full-scale (1.0) event into ``layer`` brings; the layer's threshold
        is ``2^f`` times it (``docs/semantics.md`` §1)."""
        raise NotImplementedError

    def event_max(self, layer, input_levels):
        """Largest ``|m · g|`` of one event into ``layer`` (the width bound)."""
        return self.event_unit(layer, input_levels)

    def initial_membrane(self, threshold, layer=0):
        """A spiking neuron's membrane at the start of an image."""
        return 0

    def fire_threshold(self, threshold, layer=0):
        """The membrane one spike takes away."""
        return threshold

    def step_gains(self):
        """Step gains ``g(1..W)`` of one-window events (:attr:`one_window`), or ``None``."""

    def input_events(self, xq, input_levels):
        """Events into the first layer per step, ``(steps + 1, N, n_inputs)`` (row ``τ``: its
        step ``τ``), for codings without :attr:`static_input`."""
        raise NotImplementedError

    def integrate(self, v, drive, bias, layer=0, step=1):
        """A layer's membrane after step ``step``'s input ``drive`` and its ``bias``."""
        return v + drive + bias

    def fire_state(self, shape, layer):
        """A spiking layer's fire state at the start of an image (``None``: stateless)."""

    def fire(self, v, threshold, layer=0, step=1, state=None):
        """Golden fire rule of spiking layer ``layer`` at ``step``: ``(m, v_after, state)``."""
        raise NotImplementedError

    def fire_once(self, v, threshold):
        """One-window fire rule (:attr:`one_window`): ``(m, k)``, ``k`` the spike's step
        (0: none)."""
        raise NotImplementedError

    def max_pool(self, layer, n):
        """The max-pooling state of ``layer`` for ``n`` images; ``.step(m)`` gives a step's
        pooled events (LIPooling, ``docs/semantics.md`` §2b)."""
        from .pooling import LIPool
        return LIPool(layer, n)

    def max_pool_count_bits(self, m_bits):
        """Predicted width of a max-pooled neuron's cumulative count (the LIPooling RAMs of
        :mod:`snnhw.resources`): ``m_bits`` plus the bits of a count of ``0..steps``."""
        return m_bits + max(1, math.ceil(math.log2(self.steps() + 1)))

    def membrane_bound(self, drive, bias, threshold, layer, spiking):
        """Static bound on ``|V|`` of a layer (:func:`snnhw.fixed.membrane_bound`): the
        inputs of every step, plus a threshold while the layer fires."""
        if not spiking:
            slack = 0
        elif self.resets_by_subtraction:
            slack = max(threshold, self.fire_threshold(threshold, layer))
        else:
            slack = abs(self.initial_membrane(threshold, layer))
        return fixed.membrane_bound(drive, bias, self.steps(), slack)

    def transfer(self, a, layer):
        """``Q(a)``: a spiking layer's output over an inference for a normalised activation
        (AdaFire's threshold refinement)."""
        raise IRError(f"threshold refinement: no transfer for coding {self.name!r}")

    @property
    def refines_thresholds(self):
        """Whether the conversion refines per-channel thresholds (:meth:`transfer`)."""
        return False

    def check_pool(self, pool_kind, name):
        """Raise :class:`IRError` if pooling ``pool_kind`` of layer ``name`` is not supported."""

    # -- hardware (docs/semantics.md §4) -----------------------------------------------------

    def fire_unit(self, layer, index):
        """The fire unit of spiking layer ``layer`` (the ``index``-th)."""
        raise IRError(f"coding {self.name!r} has no hardware fire unit")

    def input_unit(self, qnet):
        """The unit that turns one input code into the first layer's event."""
        from ..hw.fire import PassThroughUnit
        return PassThroughUnit(_input_shape(qnet))

    def output_unit(self, layer):
        """The unit of the (non-spiking) output layer: it keeps its membrane."""
        from ..hw.fire import AccumulateUnit
        return AccumulateUnit(layer.acc_bits)

    def input_encoder(self, qnet):
        """The block that turns the streamed input codes into the first layer's events."""
        from ..hw.encoder import InputEncoder
        return InputEncoder(qnet.input_shape, _input_shape(qnet), self.input_unit(qnet))

    #: The scanner adds the bias at the image's first step only (not at every step).
    bias_once = False
    #: Max pooling of doubling counts (``C ← 2C + m``).
    pool_doubles = False
    #: Bits of a neuron's fire state (kept beside its membrane).
    fire_state_bits = 0
    #: Times the input encoder scans an image after loading it (0: it streams it once).
    encoder_scans = 0

    def fire_cost(self, acc_bits, layer):
        """Predicted ``{"lut", "carry"}`` (and ``"ff"`` of a registered unit) of one fire unit
        (:mod:`snnhw.resources`)."""
        raise NotImplementedError

    def encoder_cost(self, qnet, family):
        """Predicted ``{"lut", "carry", "ff"}`` (and ``"bram"``) of the input encoder."""
        return {"lut": 20, "carry": 0, "ff": qnet.input_bits + 21}

    # -- report section (snnhw.report) -------------------------------------------------------

    def report_tables(self, ctx):
        """The golden-model tables the report adds for this coding
        (:class:`snnhw.report_tables.ReportContext`): a dict of report fields, with
        ``accuracy_vs_timesteps``."""
        raise NotImplementedError

    @staticmethod
    def report_markdown(r):
        """Markdown lines of :meth:`report_tables`' fields of report ``r``."""
        return []


def _input_shape(qnet):
    from amaranth.hdl import signed, unsigned
    return signed(qnet.input_bits) if qnet.input_signed else unsigned(qnet.input_bits)
