"""torch ``nn.Module`` → :class:`snnhw.ir.Network`.

Supported: ``Linear``, ``Conv2d`` (groups 1, dilation 1, zero padding), ``BatchNorm1d/2d`` (right
after a Linear/Conv2d; folded later by :func:`snnhw.passes.fold_batchnorm`), ``ReLU``,
``AvgPool2d`` / ``MaxPool2d`` (stride = kernel, no padding, floor mode; after the ReLU — a max
pool before it is the same, since the two commute), ``Flatten``, ``Unflatten`` (first, to give
flat inputs their ``(C, H, W)`` shape), and the no-ops ``Dropout`` / ``Identity``, in
``nn.Sequential`` (nested allowed) or any module whose ``forward`` traces (``torch.fx``) to a
straight chain of those. Weight layers are separated by ReLUs; a trailing ReLU is accepted (the
output layer never spikes; the prediction is the argmax of its accumulated potential).
"""

import numpy as np

from ..ir import BatchNorm, Conv2d, Dense, IRError, Network, Pool2d

__all__ = ["from_torch", "FrontendError"]


class FrontendError(IRError):
    """The torch module cannot be converted; the message names the layer."""


SUPPORTED = ("Linear, Conv2d, BatchNorm1d, BatchNorm2d, ReLU, AvgPool2d, MaxPool2d, Flatten, "
             "Unflatten, Dropout, Identity")


def _ops(module):
    """Yield ``(name, kind, module_or_None)`` in execution order."""
    import torch
    from torch import nn

    if isinstance(module, nn.Sequential):
        for name, child in module.named_children():
            if isinstance(child, nn.Sequential):
                for sub, kind, m in _ops(child):
                    yield f"{name}.{sub}", kind, m
            else:
                yield name, _kind(name, child), child
        return
    if isinstance(module, (nn.Linear, nn.Conv2d, nn.ReLU, nn.Flatten)):
        yield type(module).__name__.lower(), _kind("", module), module
        return
    try:
        graph = torch.fx.symbolic_trace(module).graph
    except Exception as e:
        raise FrontendError(f"model {type(module).__name__}: cannot trace its forward() with "
                            f"torch.fx ({type(e).__name__}: {e}); wrap the layers in nn.Sequential") from None
    mods = dict(module.named_modules())
    prev = None
    for node in graph.nodes:
        if node.op in ("placeholder", "output"):
            continue
        if prev is not None and node.args and node.args[0] is not prev:
            raise FrontendError(f"model {type(module).__name__}: node {node.name!r} does not "
                                f"follow a straight chain of layers (branches/skips are not supported)")
        prev = node
        if node.op == "call_module":
            yield node.target, _kind(node.target, mods[node.target]), mods[node.target]
        elif node.op in ("call_function", "call_method"):
            fn = getattr(node.target, "__name__", str(node.target))
            if fn in ("relu", "relu_"):
                yield node.name, "relu", None
            elif fn in ("flatten",):
                yield node.name, "flatten", None
            elif fn in ("dropout", "identity"):
                yield node.name, "noop", None
            else:
                raise FrontendError(f"model {type(module).__name__}: operation {node.name!r} "
                                    f"({fn}) is not supported; supported: {SUPPORTED}")
        else:
            raise FrontendError(f"model {type(module).__name__}: node {node.name!r} "
                                f"({node.op}) is not supported")


def _kind(name, m):
    from torch import nn

    kinds = ((nn.Linear, "linear"), (nn.Conv2d, "conv"), (nn.ReLU, "relu"), (nn.Flatten, "flatten"),
             (nn.Unflatten, "unflatten"), ((nn.BatchNorm1d, nn.BatchNorm2d), "batchnorm"),
             ((nn.AvgPool2d, nn.MaxPool2d), "pool"), ((nn.Dropout, nn.Identity), "noop"))
    for cls, kind in kinds:
        if isinstance(m, cls):
            return kind
    raise FrontendError(f"layer {name!r} ({type(m).__name__}) is not supported; "
                        f"supported: {SUPPORTED}")


def _np(t):
    return t.detach().cpu().double().numpy()


def _conv(name, m):
    from .. import ir

    if m.groups != 1:
        raise FrontendError(f"layer {name!r} (Conv2d): groups = {m.groups} is not supported (only 1)")
    if tuple(m.dilation) != (1, 1):
        raise FrontendError(f"layer {name!r} (Conv2d): dilation {tuple(m.dilation)} is not supported (only 1)")
    if m.padding_mode != "zeros":
        raise FrontendError(f"layer {name!r} (Conv2d): padding_mode {m.padding_mode!r} is not "
                            f"supported (only 'zeros')")
    padding = m.padding
    if isinstance(padding, str):
        if padding == "valid":
            padding = (0, 0)
        elif all(k % 2 for k in m.kernel_size):
            padding = tuple(k // 2 for k in m.kernel_size)
        else:
            raise FrontendError(f"layer {name!r} (Conv2d): padding='same' with an even kernel "
                                f"{tuple(m.kernel_size)} pads unevenly; not supported")
    w = _np(m.weight)
    b = _np(m.bias) if m.bias is not None else np.zeros(w.shape[0])
    return ir.Conv2d(name, w, b, tuple(m.stride), tuple(padding))


def _pool(name, m):
    from torch import nn

    kind = "max" if isinstance(m, nn.MaxPool2d) else "avg"
    what = type(m).__name__
    kernel = m.kernel_size if isinstance(m.kernel_size, tuple) else (m.kernel_size,) * 2
    stride = m.stride if isinstance(m.stride, tuple) else (m.stride,) * 2
    padding = m.padding if isinstance(m.padding, tuple) else (m.padding,) * 2
    if tuple(stride) != tuple(kernel):
        raise FrontendError(f"layer {name!r} ({what}): stride {tuple(stride)} differs from kernel "
                            f"{tuple(kernel)}; only non-overlapping pooling is supported")
    if any(padding) or m.ceil_mode:
        raise FrontendError(f"layer {name!r} ({what}): padding and ceil_mode are not supported")
    if kind == "max" and (getattr(m, "dilation", 1) not in (1, (1, 1)) or m.return_indices):
        raise FrontendError(f"layer {name!r} ({what}): dilation and return_indices are not supported")
    if kind == "avg" and m.divisor_override:
        raise FrontendError(f"layer {name!r} ({what}): divisor_override is not supported")
    return Pool2d(name, kind, tuple(kernel))


def from_torch(module, input_shape=None, name=None):
    """Read a torch ReLU network into a float :class:`~snnhw.ir.Network`.

    Parameters
    ----------
    module : torch.nn.Module
    input_shape : tuple of int, optional
        Shape of one sample; default from a leading ``Unflatten``, else ``(in_features,)`` of
        the first ``Linear``.
    name : str, optional
        Network name; default the module's class name.
    """
    name = name or type(module).__name__
    layers, seen_weight, last_weight = [], False, None
    relu_done = False          # a ReLU since the last weight layer
    after_weight = False       # nothing but BatchNorm since the last weight layer
    unflat_shape = None
    for op_name, kind, m in _ops(module):
        if kind == "noop":
            continue
        if kind == "unflatten":
            if seen_weight or unflat_shape is not None or m.dim not in (1, -1):
                raise FrontendError(f"layer {op_name!r} (Unflatten) is only supported first, on the "
                                    f"flat input (dim 1)")
            unflat_shape = tuple(int(s) for s in m.unflattened_size)
            continue
        if kind == "flatten":
            continue             # a Linear after a spatial layer flattens it (channel-major)
        if kind == "relu":
            if not seen_weight:
                raise FrontendError(f"layer {op_name!r} (ReLU) comes before any Linear or Conv2d "
                                    f"layer; inputs are assumed already non-negative")
            relu_done, after_weight = True, False
            continue
        if kind == "batchnorm":
            if not after_weight:
                raise FrontendError(f"layer {op_name!r} ({type(m).__name__}) must directly follow a "
                                    f"Linear or Conv2d layer to be folded into it")
            if m.running_mean is None:
                raise FrontendError(f"layer {op_name!r} ({type(m).__name__}): no running statistics "
                                    f"(track_running_stats=False) to fold")
            gamma = _np(m.weight) if m.affine else np.ones(m.num_features)
            beta = _np(m.bias) if m.affine else np.zeros(m.num_features)
            layers.append(BatchNorm(op_name, _np(m.running_mean), _np(m.running_var), gamma, beta,
                                    float(m.eps)))
            continue
        if kind == "pool":
            pool = _pool(op_name, m)
            if not seen_weight:
                raise FrontendError(f"layer {op_name!r} ({type(m).__name__}) comes before any Conv2d layer")
            if pool.kind == "avg" and not relu_done:
                raise FrontendError(f"layer {op_name!r} (AvgPool2d) comes before the ReLU of layer "
                                    f"{last_weight!r}; spiking neurons average after the ReLU: "
                                    f"put the ReLU first")
            layers.append(pool)
            after_weight = False
            continue
        # linear or conv
        if seen_weight and not relu_done:
            raise FrontendError(f"layers {last_weight!r} and {op_name!r}: two weight layers without "
                                f"a ReLU between them (fuse them first)")
        if kind == "conv":
            layers.append(_conv(op_name, m))
        else:
            w = _np(m.weight)
            b = _np(m.bias) if m.bias is not None else np.zeros(w.shape[0])
            layers.append(Dense(op_name, w, b))
        seen_weight, last_weight, relu_done, after_weight = True, op_name, False, True
    if not seen_weight:
        raise FrontendError(f"model {name!r} has no Linear or Conv2d layer")
    first = next(l for l in layers if isinstance(l, (Dense, Conv2d)))
    if input_shape is None:
        input_shape = unflat_shape
    if input_shape is None:
        if isinstance(first, Conv2d):
            raise FrontendError(f"model {name!r}: the first layer {first.name!r} is a Conv2d; give "
                                f"input_shape=(C, H, W) or start the model with nn.Unflatten")
        input_shape = (first.n_in,)
    input_shape = tuple(int(s) for s in input_shape)
    if isinstance(first, Dense) and int(np.prod(input_shape)) != first.n_in:
        raise FrontendError(f"input shape {input_shape} has {int(np.prod(input_shape))} values but "
                            f"layer {first.name!r} expects {first.n_in} inputs")
    return Network(name, input_shape, tuple(layers))
