"""The frozen, typed network description: the single source of truth of snnhw.

:class:`Network` holds a float ReLU network as read by a frontend; :class:`QuantNetwork`
holds the integer network after the passes, with its coding and every width. Both
validate themselves on construction and raise :class:`IRError` naming the culprit.
"""

import dataclasses
import json
import pathlib
from dataclasses import dataclass, field

import numpy as np

from . import fixed

__all__ = ["IRError", "Dense", "Network", "RateCoding", "BurstCoding", "SingleSpikeCoding", "EarlyExit",
           "QuantLayer", "QuantNetwork", "CODINGS"]


class IRError(ValueError):
    """A network, layer or parameter that snnhw cannot represent; the message names it."""


def _frozen_array(a, dtype, what):
    try:
        arr = np.array(a, dtype=dtype, copy=True)
    except (TypeError, ValueError) as e:
        raise IRError(f"{what}: cannot convert to {np.dtype(dtype).name}: {e}") from None
    arr.setflags(write=False)
    return arr


class _LayerShape:
    """``n_in`` / ``n_out`` of a layer with a ``(n_out, n_in)`` weight."""

    @property
    def n_in(self):
        return self.weight.shape[1]

    @property
    def n_out(self):
        return self.weight.shape[0]


@dataclass(frozen=True, eq=False)
class Dense(_LayerShape):
    """A fully connected layer ``y = W x + b`` (float), followed by ReLU unless it is the last.

    Parameters
    ----------
    name : str
        Layer name (the frontend uses the torch module path).
    weight : array ``(n_out, n_in)``
    bias : array ``(n_out,)``
    """
    name: str
    weight: np.ndarray
    bias: np.ndarray

    def __post_init__(self):
        w = _frozen_array(self.weight, np.float64, f"layer {self.name!r} weight")
        b = _frozen_array(self.bias, np.float64, f"layer {self.name!r} bias")
        if w.ndim != 2:
            raise IRError(f"layer {self.name!r}: weight must be 2-D (n_out, n_in), got shape {w.shape}")
        if b.shape != (w.shape[0],):
            raise IRError(f"layer {self.name!r}: bias shape {b.shape} does not match "
                          f"weight shape {w.shape} (expected ({w.shape[0]},))")
        if w.size == 0:
            raise IRError(f"layer {self.name!r}: weight is empty, shape {w.shape}")
        for what, a in (("weight", w), ("bias", b)):
            bad = ~np.isfinite(a)
            if bad.any():
                idx = tuple(int(i) for i in np.argwhere(bad)[0])
                raise IRError(f"layer {self.name!r}: {what} has {int(bad.sum())} non-finite "
                              f"value(s) (NaN/inf), first at index {idx}")
        object.__setattr__(self, "weight", w)
        object.__setattr__(self, "bias", b)


@dataclass(frozen=True, eq=False)
class Network:
    """A float ReLU network: ``layers[k]`` feeds ``layers[k+1]`` through a ReLU.

    Parameters
    ----------
    name : str
    input_shape : tuple of int
        Shape of one input sample (flattened in row-major order before the first layer).
    layers : tuple of :class:`Dense`
    """
    name: str
    input_shape: tuple
    layers: tuple

    def __post_init__(self):
        shape = tuple(int(s) for s in self.input_shape)
        if not shape or any(s <= 0 for s in shape):
            raise IRError(f"network {self.name!r}: invalid input shape {self.input_shape}")
        object.__setattr__(self, "input_shape", shape)
        layers = tuple(self.layers)
        if not layers:
            raise IRError(f"network {self.name!r}: has no layers")
        object.__setattr__(self, "layers", layers)
        n = int(np.prod(shape))
        names = set()
        for layer in layers:
            if layer.name in names:
                raise IRError(f"network {self.name!r}: duplicate layer name {layer.name!r}")
            names.add(layer.name)
            if layer.n_in != n:
                raise IRError(f"layer {layer.name!r}: expects {layer.n_in} inputs but receives {n}")
            n = layer.n_out

    @property
    def n_inputs(self):
        return int(np.prod(self.input_shape))

    @property
    def n_outputs(self):
        return self.layers[-1].n_out

    def forward(self, x):
        """Float reference: logits of a batch ``x`` of shape ``(N, *input_shape)``."""
        a = check_input_batch(x, self.input_shape, self.name)
        for k, layer in enumerate(self.layers):
            a = a @ layer.weight.T + layer.bias
            if k < len(self.layers) - 1:
                a = np.maximum(a, 0.0)
        return a

    def activations(self, x):
        """Per-layer activations (ReLU applied except at the output) of a batch."""
        a = check_input_batch(x, self.input_shape, self.name)
        out = []
        for k, layer in enumerate(self.layers):
            a = a @ layer.weight.T + layer.bias
            if k < len(self.layers) - 1:
                a = np.maximum(a, 0.0)
            out.append(a)
        return out


def check_input_batch(x, input_shape, name):
    """Return ``x`` as a float64 ``(N, n_inputs)`` array or raise :class:`IRError`."""
    x = np.asarray(x, dtype=np.float64)
    shape = tuple(input_shape)
    if x.shape[1:] != shape:
        if x.ndim == 2 and x.shape[1] == int(np.prod(shape)):
            pass
        elif x.shape == shape:
            x = x[None]
        else:
            raise IRError(f"network {name!r}: input of shape {x.shape} does not match the "
                          f"model's input shape {shape} (expected (N, {', '.join(map(str, shape))}))")
    if not np.isfinite(x).all():
        raise IRError(f"network {name!r}: input contains NaN/inf")
    return x.reshape(x.shape[0], -1)


@dataclass(frozen=True)
class RateCoding:
    """Rate-coded integrate-and-fire (methods.md §2).

    Parameters
    ----------
    timesteps : int
        Number of steps ``T``; the input drives the first layer with a constant current.
    """
    timesteps: int = 16
    kind: str = field(default="rate", init=False)

    def __post_init__(self):
        if not isinstance(self.timesteps, (int, np.integer)) or not 1 <= self.timesteps <= 4096:
            raise IRError(f"rate coding: timesteps must be an integer in 1..4096, got {self.timesteps!r}")



def _per_layer(value, what, check):
    """An int or a tuple of ints (one per spiking layer), validated by ``check``; lists become tuples."""
    if isinstance(value, (list, tuple)):
        value = tuple(value)
        if not value:
            raise IRError(f"{what}: per-layer tuple is empty")
        for v in value:
            check(v)
        return tuple(int(v) for v in value)
    check(value)
    return int(value)


@dataclass(frozen=True)
class BurstCoding:
    """Burst spikes (methods.md §3) and their adaptive calibration, AdaFire + SSC (§4).

    A neuron of spiking layer ``l`` sends up to ``Γ_l`` spikes in one step, each worth
    ``ρ_l / Γ_l`` of its 1.0. ``Γ_l`` (``max_burst``) and ``ρ_l`` (``compression``) are one
    value for every layer (plain burst coding) or a tuple with one entry per spiking layer
    (AdaFire's per-layer burst budget ``φ_l`` and SSC's threshold multiplier, chosen by
    :func:`snnhw.passes.search_adafire`).

    Parameters
    ----------
    timesteps : int
    max_burst : int or tuple of int
        ``Γ`` (powers of two in 1..16); ``Γ = 1, ρ = 1`` is plain rate coding.
    compression : int or tuple of int
        ``ρ`` in 1..16 (SSC): the spike threshold is ``ρ`` times finer-grained ``θ/Γ`` and each
        spike carries ``m = ρ``.
    """
    timesteps: int = 4
    max_burst: object = 4
    compression: object = 1
    kind: str = field(default="burst", init=False)

    def __post_init__(self):
        if not isinstance(self.timesteps, (int, np.integer)) or not 1 <= self.timesteps <= 4096:
            raise IRError(f"burst coding: timesteps must be an integer in 1..4096, got {self.timesteps!r}")

        def check_burst(v):
            if not isinstance(v, (int, np.integer)) or not 1 <= v <= 16 or v & (v - 1):
                raise IRError(f"burst coding: max_burst must be a power of two in 1..16, got {v!r}")

        def check_rho(v):
            if not isinstance(v, (int, np.integer)) or not 1 <= v <= 16:
                raise IRError(f"burst coding: compression must be an integer in 1..16, got {v!r}")

        object.__setattr__(self, "max_burst", _per_layer(self.max_burst, "burst coding: max_burst", check_burst))
        object.__setattr__(self, "compression", _per_layer(self.compression, "burst coding: compression", check_rho))

    @property
    def per_layer(self):
        """Whether ``Γ`` or ``ρ`` differs per layer (an AdaFire/SSC configuration)."""
        return isinstance(self.max_burst, tuple) or isinstance(self.compression, tuple)

    def burst(self, layer):
        """``Γ`` of spiking layer ``layer``."""
        return self.max_burst[layer] if isinstance(self.max_burst, tuple) else self.max_burst

    def rho(self, layer):
        """``ρ`` of spiking layer ``layer``."""
        return self.compression[layer] if isinstance(self.compression, tuple) else self.compression

    def check_layers(self, n_spiking):
        """Raise :class:`IRError` unless every per-layer tuple has ``n_spiking`` entries."""
        for what, v in (("max_burst", self.max_burst), ("compression", self.compression)):
            if isinstance(v, tuple) and len(v) != n_spiking:
                raise IRError(f"burst coding: {what} has {len(v)} values for {n_spiking} spiking layers")


@dataclass(frozen=True)
class EarlyExit:
    """IAT early exit (methods.md §4), integer rule: after step ``t`` the inference stops when
    ``top1 − top2 ≥ margins[t−1]`` over the accumulated output potentials (ties give 0).

    Parameters
    ----------
    margins : tuple of int
        One per step ``1..T`` (``T`` = the coding's timesteps); the last step always ends.
    """
    margins: tuple

    def __post_init__(self):
        m = tuple(self.margins)
        if not m or any(not isinstance(v, (int, np.integer)) or v < 0 for v in m):
            raise IRError(f"early exit: margins must be non-negative integers, got {self.margins!r}")
        object.__setattr__(self, "margins", tuple(int(v) for v in m))


@dataclass(frozen=True)
class SingleSpikeCoding:
    """Single-spike phase coding, One-Spike (methods.md §5).

    Parameters
    ----------
    window : int
        Steps ``W`` of a layer's window; a spike at step ``k`` carries ``base^(1−k)``.
    base : float
        ``B > 1``; powers of two make the step gain a shift.
    threshold_shift : bool
        Compare against the midpoints between codes (round to nearest) instead of the codes.
    negative_spikes : bool
        Encode negative values with ``m = −1`` spikes (for signed inputs; hidden layers of a
        ReLU network never need them).
    """
    window: int = 8
    base: float = 2.0
    threshold_shift: bool = True
    negative_spikes: bool = False
    kind: str = field(default="single_spike", init=False)

    def __post_init__(self):
        if not isinstance(self.window, (int, np.integer)) or not 1 <= self.window <= 32:
            raise IRError(f"single-spike coding: window must be an integer in 1..32, got {self.window!r}")
        if not isinstance(self.base, (int, float)) or not self.base > 1:
            raise IRError(f"single-spike coding: base must be a number > 1, got {self.base!r}")
        object.__setattr__(self, "base", float(self.base))
        try:
            fixed.phase_gains(self.base, self.window)
        except ValueError as e:
            raise IRError(str(e)) from None


#: Coding name → config class.
CODINGS = {"rate": RateCoding, "burst": BurstCoding, "single_spike": SingleSpikeCoding}


@dataclass(frozen=True, eq=False)
class QuantLayer(_LayerShape):
    """An integer layer.

    Parameters
    ----------
    name : str
    weight : int array ``(n_out, n_in)``, within ``weight_bits`` signed bits.
    bias : int array ``(n_out,)``, added to the membrane every step.
    threshold : int
        The integer that stands for 1.0 in this layer's membrane (``θq``).
    spiking : bool
        ``False`` for the output layer, which only accumulates.
    acc_bits : int
        Width of the membrane (from :func:`snnhw.passes.bound_widths`; 0 before).
    current_bits : int
        Width of the constant-current register of a layer driven by analogue input (else 0).
    """
    name: str
    weight: np.ndarray
    bias: np.ndarray
    threshold: int
    weight_bits: int
    spiking: bool
    acc_bits: int = 0
    current_bits: int = 0

    def __post_init__(self):
        w = _frozen_array(self.weight, np.int64, f"layer {self.name!r} weight")
        b = _frozen_array(self.bias, np.int64, f"layer {self.name!r} bias")
        if w.ndim != 2 or b.shape != (w.shape[0],):
            raise IRError(f"layer {self.name!r}: weight {w.shape} / bias {b.shape} shapes do not match")
        lo, hi = fixed.signed_range(self.weight_bits)
        if w.size and (w.min() < lo or w.max() > hi):
            raise IRError(f"layer {self.name!r}: weights outside {self.weight_bits}-bit signed range")
        if int(self.threshold) < 1:
            raise IRError(f"layer {self.name!r}: threshold must be >= 1, got {self.threshold}")
        object.__setattr__(self, "weight", w)
        object.__setattr__(self, "bias", b)
        object.__setattr__(self, "threshold", int(self.threshold))


@dataclass(frozen=True, eq=False)
class QuantNetwork:
    """The integer spiking network: what golden and hardware both implement.

    Parameters
    ----------
    name : str
    input_shape : tuple of int
    input_bits : int
    input_signed : bool
    input_scale : float
        Real input value that maps to the largest input code (``λ0``).
    layers : tuple of :class:`QuantLayer`
    coding : coding config (e.g. :class:`RateCoding`)
    calibration : dict
        Provenance: per-layer ``λ``, percentile, saturated weights, etc. (JSON-able).
    early_exit : :class:`EarlyExit`, optional
        IAT: stop an image once its output is confident (multi-step codings only).
    """
    name: str
    input_shape: tuple
    input_bits: int
    input_signed: bool
    input_scale: float
    layers: tuple
    coding: object
    calibration: dict = field(default_factory=dict)
    early_exit: object = None

    def __post_init__(self):
        object.__setattr__(self, "input_shape", tuple(int(s) for s in self.input_shape))
        object.__setattr__(self, "layers", tuple(self.layers))
        lo, hi = fixed.INPUT_BITS_RANGE
        if not lo <= self.input_bits <= hi:
            raise IRError(f"input_bits must be in {lo}..{hi}, got {self.input_bits}")
        n = self.n_inputs
        for layer in self.layers:
            if layer.n_in != n:
                raise IRError(f"layer {layer.name!r}: expects {layer.n_in} inputs but receives {n}")
            n = layer.n_out
        if any(not l.spiking for l in self.layers[:-1]) or self.layers[-1].spiking:
            raise IRError("only the last layer may be (and must be) non-spiking")
        if hasattr(self.coding, "check_layers"):
            self.coding.check_layers(len(self.layers) - 1)
        if self.early_exit is not None:
            steps = getattr(self.coding, "timesteps", None)
            if self.coding.kind not in ("rate", "burst"):
                raise IRError(f"early exit needs a multi-step coding (rate or burst), not {self.coding.kind!r}")
            if len(self.early_exit.margins) != steps:
                raise IRError(f"early exit: {len(self.early_exit.margins)} margins for {steps} timesteps")
            if len(self.layers) < 2 or self.n_outputs < 2:
                raise IRError("early exit needs at least one hidden layer and two outputs")

    @property
    def n_inputs(self):
        return int(np.prod(self.input_shape))

    @property
    def n_outputs(self):
        return self.layers[-1].n_out

    @property
    def input_levels(self):
        return fixed.input_levels(self.input_bits, self.input_signed)

    def quantise_input(self, x):
        """Integer input codes ``(N, n_inputs)`` of a real batch."""
        x = check_input_batch(x, self.input_shape, self.name)
        return fixed.quantise_input(x, self.input_scale, self.input_bits, self.input_signed)

    def replace(self, **changes):
        return dataclasses.replace(self, **changes)

    # -- persistence: JSON (structure) + NPZ (arrays) --------------------------------

    def save(self, path):
        """Write ``<path>.json`` and ``<path>.npz``; returns the JSON path."""
        path = pathlib.Path(path)
        stem = path.with_suffix("")
        meta = {
            "format": "snnhw.QuantNetwork/1",
            "name": self.name, "input_shape": list(self.input_shape),
            "input_bits": self.input_bits, "input_signed": self.input_signed,
            "input_scale": self.input_scale,
            "coding": dataclasses.asdict(self.coding),
            "calibration": self.calibration,
            "early_exit": None if self.early_exit is None else list(self.early_exit.margins),
            "layers": [{"name": l.name, "threshold": l.threshold, "weight_bits": l.weight_bits,
                        "spiking": l.spiking, "acc_bits": l.acc_bits, "current_bits": l.current_bits}
                       for l in self.layers],
        }
        arrays = {}
        for k, l in enumerate(self.layers):
            arrays[f"w{k}"] = l.weight
            arrays[f"b{k}"] = l.bias
        stem.parent.mkdir(parents=True, exist_ok=True)
        stem.with_suffix(".json").write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n")
        np.savez(stem.with_suffix(".npz"), **arrays)
        return stem.with_suffix(".json")

    @classmethod
    def load(cls, path):
        """Read a network written by :meth:`save`."""
        stem = pathlib.Path(path).with_suffix("")
        try:
            meta = json.loads(stem.with_suffix(".json").read_text())
        except FileNotFoundError:
            raise IRError(f"no quantised network at {stem.with_suffix('.json')}") from None
        if meta.get("format") != "snnhw.QuantNetwork/1":
            raise IRError(f"{stem.with_suffix('.json')}: not a snnhw quantised network")
        arrays = np.load(stem.with_suffix(".npz"))
        coding = dict(meta["coding"])
        kind = coding.pop("kind")
        if kind not in CODINGS:
            raise IRError(f"{stem.with_suffix('.json')}: unknown coding {kind!r}")
        layers = tuple(QuantLayer(weight=arrays[f"w{k}"], bias=arrays[f"b{k}"], **lm)
                       for k, lm in enumerate(meta["layers"]))
        return cls(name=meta["name"], input_shape=tuple(meta["input_shape"]),
                   input_bits=meta["input_bits"], input_signed=meta["input_signed"],
                   input_scale=meta["input_scale"], layers=layers,
                   coding=CODINGS[kind](**coding), calibration=meta["calibration"],
                   early_exit=None if meta.get("early_exit") is None else EarlyExit(tuple(meta["early_exit"])))
