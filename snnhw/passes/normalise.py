"""Normalisation: scale weights so every layer's threshold is 1.0 (``docs/semantics.md`` §1.3)."""

from ..ir import WEIGHT_LAYERS, BatchNorm, IRError, Network

__all__ = ["normalise"]


def normalise(net, calib):
    """``W'_l = W_l · λ_{l-1} / λ_l``, ``b'_l = b_l / λ_l`` with ``λ_0 = input_scale``, for every
    weight layer (pooling passes activations on at their scale)."""
    bn = [l.name for l in net.layers if isinstance(l, BatchNorm)]
    if bn:
        raise IRError(f"layer {bn[0]!r}: fold BatchNorm into its layer first (passes.fold_batchnorm)")
    weight_layers = net.weight_layers
    if len(calib.lambdas) != len(weight_layers):
        raise IRError(f"calibration has {len(calib.lambdas)} scales for {len(weight_layers)} layers")
    lam = dict(zip((l.name for l in weight_layers), calib.lambdas))
    prev, layers = calib.input_scale, []
    for layer in net.layers:
        if isinstance(layer, WEIGHT_LAYERS):
            layer = layer.__class__(layer.name, layer.weight * (prev / lam[layer.name]),
                                    layer.bias / lam[layer.name],
                                    *((layer.stride, layer.padding) if hasattr(layer, "stride") else ()))
            prev = lam[layer.name]
        layers.append(layer)
    return Network(net.name, net.input_shape, tuple(layers))
