"""The hardware plan of a design: per layer, its lanes and where its memories and multipliers go.

A :class:`DesignPlan` is what the folding pass (:func:`snnhw.passes.folding.fold`) chooses and
what :class:`~snnhw.hw.accelerator.SNNAccelerator` builds; ``snnhw build --lanes`` gives one by
hand. See ``docs/semantics.md`` §4 ("Lanes and memory placement") for where each lane's block
RAM and logic go.

Placements
----------
weights
    ``"bram"`` (block RAM: iCE40 EBR, ECP5 DP16KD), ``"spram"`` (iCE40 UP5K single-port RAM,
    loaded after reset through the core's load port: it cannot be initialised by the
    bitstream), ``"lut"`` (a ROM in logic).
membranes
    ``"bram"`` or ``"ff"`` (flip-flops; the read multiplexer is logic). Membranes need a read
    and a write every cycle, which the single-ported SPRAM cannot give.
multipliers
    ``"dsp"`` (iCE40 SB_MAC16, ECP5 MULT18X18D) or ``"lut"`` (shift-and-add in logic): the
    synapse's ``m · W`` where ``m`` is wider than a sign, and the single-spike step gain.
"""

import dataclasses
import json
from dataclasses import dataclass

import numpy as np

from .ir import IRError

__all__ = ["WEIGHT_PLACES", "MEMBRANE_PLACES", "MULTIPLIER_PLACES", "MAX_LANES",
           "LayerPlan", "DesignPlan"]

WEIGHT_PLACES = ("bram", "spram", "lut")
MEMBRANE_PLACES = ("bram", "ff")
MULTIPLIER_PLACES = ("dsp", "lut")
#: Most lanes (output channels per weight word) of one layer.
MAX_LANES = 64


def _check_choice(what, value, choices, layer):
    if value not in choices + ("auto",):
        raise IRError(f"layer {layer!r}: {what} must be one of {', '.join(choices + ('auto',))}, "
                      f"got {value!r}")


@dataclass(frozen=True)
class LayerPlan:
    """How one layer is built.

    Parameters
    ----------
    lanes : int
        Output channels per weight word: synaptic operations per cycle (1..64, at most the
        layer's channels).
    weights, membranes, multipliers : str
        Placements (see the module docstring); ``"auto"`` is resolved by
        :meth:`DesignPlan.resolve`.
    """
    lanes: int = 1
    weights: str = "auto"
    membranes: str = "auto"
    multipliers: str = "auto"

    def check(self, layer):
        """Raise :class:`IRError` unless this plan can build ``layer`` (a QuantLayer)."""
        p = self.lanes
        if isinstance(p, bool) or not isinstance(p, (int, np.integer)) or not 1 <= p <= MAX_LANES:
            raise IRError(f"layer {layer.name!r}: lanes must be an integer in 1..{MAX_LANES}, got {p!r}")
        if p > layer.channels:
            raise IRError(f"layer {layer.name!r}: lanes {p} exceed its {layer.channels} output "
                          f"channels")
        _check_choice("weights", self.weights, WEIGHT_PLACES, layer.name)
        _check_choice("membranes", self.membranes, MEMBRANE_PLACES, layer.name)
        _check_choice("multipliers", self.multipliers, MULTIPLIER_PLACES, layer.name)

    @property
    def resolved(self):
        return "auto" not in (self.weights, self.membranes, self.multipliers)


@dataclass(frozen=True)
class DesignPlan:
    """One :class:`LayerPlan` per layer of a network.

    Use :meth:`of` to make one from lanes (an int for every layer, or one per layer), and
    :meth:`resolve` to fill in the ``"auto"`` placements.
    """
    layers: tuple

    def __post_init__(self):
        layers = tuple(self.layers)
        for lp in layers:
            if not isinstance(lp, LayerPlan):
                raise IRError(f"plan: expected LayerPlan entries, got {type(lp).__name__}")
        object.__setattr__(self, "layers", layers)

    @property
    def lanes(self):
        return tuple(int(lp.lanes) for lp in self.layers)

    @classmethod
    def of(cls, qnet, spec=1):
        """A plan for ``qnet`` from ``spec``: a :class:`DesignPlan` (checked), one lane
        count for every layer (capped at each layer's channels), or a sequence with one
        lane count (or :class:`LayerPlan`) per layer."""
        n = len(qnet.layers)
        if isinstance(spec, DesignPlan):
            plan = spec
        elif isinstance(spec, (int, np.integer)) and not isinstance(spec, bool):
            plan = cls(tuple(LayerPlan(min(int(spec), l.channels)) if 1 <= spec <= MAX_LANES
                             else LayerPlan(spec) for l in qnet.layers))
        else:
            try:
                items = tuple(spec)
            except TypeError:
                raise IRError(f"lanes: expected an int or one value per layer, got {spec!r}") from None
            if len(items) != n:
                raise IRError(f"lanes: got {len(items)} values for {n} layers")
            plan = cls(tuple(v if isinstance(v, LayerPlan) else
                             LayerPlan(int(v) if isinstance(v, np.integer) else v) for v in items))
        if len(plan.layers) != n:
            raise IRError(f"plan: {len(plan.layers)} layer plans for {n} layers")
        for lp, layer in zip(plan.layers, qnet.layers):
            lp.check(layer)
        return plan

    def resolve(self, qnet):
        """The same plan with every ``"auto"`` replaced by the cheaper placement of the
        resource model (:func:`snnhw.resources.default_placement`)."""
        from .resources import default_placement
        out = []
        for lp, layer in zip(self.layers, qnet.layers):
            auto = default_placement(layer, lp.lanes)
            out.append(dataclasses.replace(lp, **{f: auto[f] for f in ("weights", "membranes", "multipliers")
                                                  if getattr(lp, f) == "auto"}))
        return DesignPlan(tuple(out))

    def replace_layer(self, k, **changes):
        layers = list(self.layers)
        layers[k] = dataclasses.replace(layers[k], **changes)
        return DesignPlan(tuple(layers))

    def to_json(self):
        return [dataclasses.asdict(lp) for lp in self.layers]

    @classmethod
    def from_json(cls, items):
        """Inverse of :meth:`to_json` (a list of dicts); unknown keys are an error."""
        fields = {f.name for f in dataclasses.fields(LayerPlan)}
        layers = []
        for k, item in enumerate(items):
            if not isinstance(item, dict) or set(item) - fields:
                raise IRError(f"plan: entry {k} must be an object with keys {sorted(fields)}, got {item!r}")
            layers.append(LayerPlan(**item))
        return cls(tuple(layers))

    def save(self, path):
        import pathlib
        pathlib.Path(path).write_text(json.dumps(self.to_json(), indent=2) + "\n")

    @classmethod
    def load(cls, path):
        import pathlib
        try:
            items = json.loads(pathlib.Path(path).read_text())
        except (OSError, ValueError) as e:
            raise IRError(f"plan {path}: cannot read: {e}") from None
        if not isinstance(items, list):
            raise IRError(f"plan {path}: expected a list of layer plans")
        return cls.from_json(items)

    def describe(self):
        """One line per layer, for logs and reports."""
        return [f"lanes {lp.lanes}, weights {lp.weights}, membranes {lp.membranes}, "
                f"multipliers {lp.multipliers}" for lp in self.layers]
