"""Static accumulator widths: overflow is impossible by construction (methods.md §0.4)."""

from .. import fixed
from ..codings import coding_rules

__all__ = ["bound_widths", "layer_bounds"]


def layer_bounds(qnet):
    """Per layer, ``(current_bound, membrane_bound)``: the largest ``|C|`` and ``|V|`` any input can reach.

    ``current_bound`` is 0 for layers without a constant-current register.
    """
    rules = coding_rules(qnet.coding)
    steps = rules.steps(qnet.coding)
    out = []
    for k, layer in enumerate(qnet.layers):
        # the first layer's events carry input codes; later layers' carry spike multipliers
        m_max = qnet.input_levels if k == 0 else rules.m_max(qnet.coding)
        drive = fixed.synaptic_drive_bound(layer.weight, m_max)
        theta = layer.threshold if layer.spiking else 0
        current = int(drive.max()) if k == 0 and rules.static_input else 0
        out.append((current, fixed.membrane_bound(drive, layer.bias, steps, theta)))
    return out


def bound_widths(qnet):
    """Set ``acc_bits`` (and ``current_bits``) of every layer from :func:`layer_bounds`."""
    layers = []
    for layer, (cur, mem) in zip(qnet.layers, layer_bounds(qnet)):
        layers.append(layer.__class__(
            layer.name, layer.weight, layer.bias, layer.threshold, layer.weight_bits, layer.spiking,
            acc_bits=fixed.signed_width(mem), current_bits=fixed.signed_width(cur) if cur else 0))
    return qnet.replace(layers=tuple(layers))
