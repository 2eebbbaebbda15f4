"""torch ``nn.Module`` → :class:`snnhw.ir.Network`.

Supported: ``Linear``, ``ReLU``, ``Flatten`` (before the first ``Linear``), and the no-ops
``Dropout`` / ``Identity``, in ``nn.Sequential`` (nested allowed) or any module whose
``forward`` traces (``torch.fx``) to a straight chain of those. The network must read
``Linear (ReLU Linear)*``; a trailing ReLU is accepted (the output layer never spikes;
the prediction is the argmax of its accumulated potential).
"""

import numpy as np

from ..ir import Dense, IRError, Network

__all__ = ["from_torch", "FrontendError"]


class FrontendError(IRError):
    """The torch module cannot be converted; the message names the layer."""


SUPPORTED = "Linear, ReLU, Flatten, Dropout, Identity"


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
    if isinstance(module, (nn.Linear, nn.ReLU, nn.Flatten)):
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

    if isinstance(m, nn.Linear):
        return "linear"
    if isinstance(m, nn.ReLU):
        return "relu"
    if isinstance(m, nn.Flatten):
        return "flatten"
    if isinstance(m, (nn.Dropout, nn.Identity)):
        return "noop"
    raise FrontendError(f"layer {name!r} ({type(m).__name__}) is not supported; "
                        f"supported: {SUPPORTED}")


def from_torch(module, input_shape=None, name=None):
    """Read a torch ReLU MLP into a float :class:`~snnhw.ir.Network`.

    Parameters
    ----------
    module : torch.nn.Module
    input_shape : tuple of int, optional
        Shape of one sample; default ``(in_features,)`` of the first ``Linear``.
    name : str, optional
        Network name; default the module's class name.
    """
    name = name or type(module).__name__
    layers, pending_relu, last_linear, seen_linear = [], False, None, False
    for op_name, kind, m in _ops(module):
        if kind == "noop":
            continue
        if kind == "flatten":
            if seen_linear:
                raise FrontendError(f"layer {op_name!r} (Flatten) after a Linear layer is not supported")
            continue
        if kind == "relu":
            if not seen_linear:
                raise FrontendError(f"layer {op_name!r} (ReLU) comes before any Linear layer; "
                                    f"inputs are assumed already non-negative")
            if pending_relu:
                continue  # ReLU(ReLU(x)) == ReLU(x)
            pending_relu = True
            continue
        # linear
        if seen_linear and not pending_relu:
            raise FrontendError(f"layers {last_linear!r} and {op_name!r}: two Linear layers without "
                                f"a ReLU between them (fuse them first)")
        w = m.weight.detach().cpu().double().numpy()
        b = (m.bias.detach().cpu().double().numpy() if m.bias is not None
             else np.zeros(w.shape[0]))
        layers.append(Dense(op_name, w, b))
        seen_linear, pending_relu, last_linear = True, False, op_name
    if not layers:
        raise FrontendError(f"model {name!r} has no Linear layer")
    if input_shape is None:
        input_shape = (layers[0].n_in,)
    input_shape = tuple(int(s) for s in input_shape)
    if int(np.prod(input_shape)) != layers[0].n_in:
        raise FrontendError(f"input shape {input_shape} has {int(np.prod(input_shape))} values but "
                            f"layer {layers[0].name!r} expects {layers[0].n_in} inputs")
    return Network(name, input_shape, tuple(layers))
