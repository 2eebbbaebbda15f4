"""Static accumulator widths: overflow is impossible by construction (``docs/semantics.md`` §1.5)."""

import dataclasses

import numpy as np

from .. import fixed
from ..ir import IRError

__all__ = ["bound_widths", "layer_bounds", "stream_event_bounds"]


def layer_bounds(qnet):
    """Per layer, ``(current_bound, membrane_bound)``: the largest ``|C|`` and ``|V|`` any input can reach.

    ``current_bound`` is 0 for layers without a constant-current register.
    """
    coding = qnet.coding
    out = []
    area = 1
    for k, layer in enumerate(qnet.layers):
        # the largest |m · g| one source brings in a step: one event (input code, spike, or
        # step gain), or a window's worth when the layer before sums its spikes (avg pooling)
        m_max = coding.event_max(k, qnet.input_levels)
        drive = fixed.synaptic_drive_bound(layer.weight, m_max, area)
        area = layer.pool_area
        try:
            mem = coding.membrane_bound(drive, layer.bias, layer.threshold, k, layer.spiking)
        except IRError as e:
            raise IRError(f"layer {layer.name!r}: {e}") from None
        current = int(drive.max()) if k == 0 and coding.static_input else 0
        out.append((current, mem))
    return out


def stream_event_bounds(qnet):
    """Per stream, the most events one image can bring (sizes the event counters).

    Stream 0: one per input and step. Stream ``k``: every step, at most one event per source
    of layer ``k − 1``'s output — per neuron when one-window spikes are average-pooled (each
    goes on).
    """
    coding = qnet.coding
    steps = coding.steps()
    out = [qnet.n_inputs * (1 if coding.static_input else steps)]
    for layer in qnet.layers[:-1]:
        per_step = layer.n_out if (coding.one_window and layer.pool_area > 1) \
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
