"""Static accumulator widths: overflow is impossible by construction (methods.md §0.4)."""

import dataclasses

import numpy as np

from .. import fixed
from ..ir import IRError
from ..codings import coding_rules

__all__ = ["bound_widths", "layer_bounds", "stream_event_bounds"]


def layer_bounds(qnet):
    """Per layer, ``(current_bound, membrane_bound)``: the largest ``|C|`` and ``|V|`` any input can reach.

    ``current_bound`` is 0 for layers without a constant-current register.
    """
    rules = coding_rules(qnet.coding)
    steps = rules.steps(qnet.coding)
    out = []
    area = 1
    for k, layer in enumerate(qnet.layers):
        # the largest |m · g| one source brings in a step: one event (input code, spike, or
        # step gain), or a window's worth when the layer before sums its spikes (avg pooling)
        m_max = rules.event_max(qnet.coding, k, qnet.input_levels)
        drive = fixed.synaptic_drive_bound(layer.weight, m_max, area)
        area = layer.pool_area
        if layer.spiking:
            # V starts at its initial value, and firing only moves it towards zero (by at most
            # the threshold): the inputs of every step plus a threshold bound it
            if hasattr(rules, "fire_threshold"):
                try:
                    theta_s = rules.fire_threshold(layer.threshold, qnet.coding, k)
                except ValueError as e:
                    raise IRError(f"layer {layer.name!r}: {e}") from None
            else:
                theta_s = layer.threshold
            slack = (max(layer.threshold, theta_s) if rules.resets_by_subtraction
                     else abs(rules.initial_membrane(layer.threshold, qnet.coding, k)))
        else:
            slack = 0
        current = int(drive.max()) if k == 0 and rules.static_input else 0
        out.append((current, fixed.membrane_bound(drive, layer.bias, steps, slack)))
    return out


def stream_event_bounds(qnet):
    """Per stream, the most events one image can bring (sizes the event counters).

    Stream 0: one per input. Stream ``k``: every step, at most one event per source of layer
    ``k − 1``'s output — per neuron when single spikes are average-pooled (each goes on).
    """
    rules = coding_rules(qnet.coding)
    steps = rules.steps(qnet.coding)
    out = [qnet.n_inputs]
    for layer in qnet.layers[:-1]:
        per_step = layer.n_out if (qnet.coding.kind == "single_spike" and layer.pool_area > 1) \
            else int(np.prod(layer.pooled_shape))
        out.append(per_step * steps)
    return out


def bound_widths(qnet):
    """Set ``acc_bits`` (and ``current_bits``) of every layer from :func:`layer_bounds`."""
    layers = []
    for layer, (cur, mem) in zip(qnet.layers, layer_bounds(qnet)):
        layers.append(dataclasses.replace(layer, acc_bits=fixed.signed_width(mem),
                                          current_bits=fixed.signed_width(cur) if cur else 0))
    return qnet.replace(layers=tuple(layers))
