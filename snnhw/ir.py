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
from .codings import (CODINGS, BurstCoding, RateCoding, SingleSpikeCoding, check_coding,
                      check_early_exit)
from .errors import IRError

__all__ = ["IRError", "Dense", "Conv2d", "BatchNorm", "Pool2d", "Network", "RateCoding", "BurstCoding", "SingleSpikeCoding", "EarlyExit",
           "QuantLayer", "QuantNetwork", "CODINGS"]


def _frozen_array(a, dtype, what):
    try:
        if np.issubdtype(dtype, np.integer):
            src = np.asarray(a)
            if src.dtype.kind in "fc" and not (np.isfinite(src).all() and np.array_equal(src, np.round(src))):
                raise IRError(f"{what}: must hold integers, got {src.dtype} values with fractions "
                              f"or NaN/inf")
        arr = np.array(a, dtype=dtype, copy=True)
    except (TypeError, ValueError) as e:
        if isinstance(e, IRError):
            raise
        raise IRError(f"{what}: cannot convert to {np.dtype(dtype).name}: {e}") from None
    arr.setflags(write=False)
    return arr


def _pair(v, what):
    """An int or a pair of ints → a pair."""
    if isinstance(v, (int, np.integer)):
        return (int(v), int(v))
    try:
        a, b = v
        return (int(a), int(b))
    except (TypeError, ValueError):
        raise IRError(f"{what}: expected an int or a pair of ints, got {v!r}") from None


def _check_finite(name, **arrays):
    for what, a in arrays.items():
        bad = ~np.isfinite(a)
        if bad.any():
            idx = tuple(int(i) for i in np.argwhere(bad)[0])
            raise IRError(f"layer {name!r}: {what} has {int(bad.sum())} non-finite "
                          f"value(s) (NaN/inf), first at index {idx}")


def _shape_str(shape):
    return "(" + ", ".join(map(str, shape)) + ")"


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

    A spatial input ``(C, H, W)`` is flattened channel-major first (torch's ``Flatten``).

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
        _check_finite(self.name, weight=w, bias=b)
        object.__setattr__(self, "weight", w)
        object.__setattr__(self, "bias", b)

    def out_shape(self, in_shape):
        n = int(np.prod(in_shape))
        if n != self.n_in:
            raise IRError(f"layer {self.name!r}: expects {self.n_in} inputs but receives {n}"
                          + (f" (shape {_shape_str(in_shape)})" if len(in_shape) > 1 else ""))
        return (self.n_out,)

    def apply(self, a):
        return a.reshape(len(a), -1) @ self.weight.T + self.bias


@dataclass(frozen=True, eq=False)
class Conv2d:
    """A 2-D convolution ``(C_in, H, W) → (C_out, H', W')`` (float, groups = 1, zero padding),
    followed by ReLU unless it is the last layer.

    Parameters
    ----------
    name : str
    weight : array ``(C_out, C_in, kh, kw)``
    bias : array ``(C_out,)``
    stride, padding : int or pair of int
    """
    name: str
    weight: np.ndarray
    bias: np.ndarray
    stride: tuple = (1, 1)
    padding: tuple = (0, 0)

    def __post_init__(self):
        w = _frozen_array(self.weight, np.float64, f"layer {self.name!r} weight")
        b = _frozen_array(self.bias, np.float64, f"layer {self.name!r} bias")
        if w.ndim != 4 or w.size == 0:
            raise IRError(f"layer {self.name!r}: weight must be 4-D (C_out, C_in, kh, kw), got shape {w.shape}")
        if b.shape != (w.shape[0],):
            raise IRError(f"layer {self.name!r}: bias shape {b.shape} does not match "
                          f"weight shape {w.shape} (expected ({w.shape[0]},))")
        _check_finite(self.name, weight=w, bias=b)
        stride = _pair(self.stride, f"layer {self.name!r} stride")
        padding = _pair(self.padding, f"layer {self.name!r} padding")
        if min(stride) < 1:
            raise IRError(f"layer {self.name!r}: stride must be >= 1, got {stride}")
        if min(padding) < 0:
            raise IRError(f"layer {self.name!r}: padding must be >= 0, got {padding}")
        for k, (what, v) in enumerate((("weight", w), ("bias", b), ("stride", stride), ("padding", padding))):
            object.__setattr__(self, what, v)

    @property
    def kernel(self):
        return self.weight.shape[2:]

    def out_shape(self, in_shape):
        from .geometry import conv_output_size
        if len(in_shape) != 3 or in_shape[0] != self.weight.shape[1]:
            raise IRError(f"layer {self.name!r}: expects input (C, H, W) with C = {self.weight.shape[1]}, "
                          f"receives {_shape_str(in_shape)}")
        ho, wo = (conv_output_size(n, k, s, p) for n, k, s, p in
                  zip(in_shape[1:], self.kernel, self.stride, self.padding))
        if ho < 1 or wo < 1:
            raise IRError(f"layer {self.name!r}: kernel {tuple(self.kernel)} does not fit input "
                          f"{_shape_str(in_shape)} with padding {self.padding}")
        return (self.weight.shape[0], ho, wo)

    def apply(self, a):
        from .geometry import conv2d
        return conv2d(a, self.weight, self.stride, self.padding) + self.bias[:, None, None]


@dataclass(frozen=True, eq=False)
class BatchNorm:
    """Batch normalisation (inference) of the preceding layer's output, per channel:
    ``γ (x − μ) / sqrt(σ² + ε) + β``; folded into that layer by :func:`snnhw.passes.fold_batchnorm`."""
    name: str
    mean: np.ndarray
    var: np.ndarray
    gamma: np.ndarray
    beta: np.ndarray
    eps: float = 1e-5

    def __post_init__(self):
        arrays = {k: _frozen_array(getattr(self, k), np.float64, f"layer {self.name!r} {k}")
                  for k in ("mean", "var", "gamma", "beta")}
        shapes = {a.shape for a in arrays.values()}
        if len(shapes) != 1 or len(next(iter(shapes))) != 1:
            raise IRError(f"layer {self.name!r}: mean/var/weight/bias must be 1-D of one length, "
                          f"got shapes {sorted(shapes)}")
        _check_finite(self.name, **arrays)
        if (arrays["var"] + self.eps <= 0).any():
            raise IRError(f"layer {self.name!r}: running variance + eps must be > 0")
        for k, v in arrays.items():
            object.__setattr__(self, k, v)

    @property
    def scale(self):
        """Per-channel multiplier ``γ / sqrt(σ² + ε)``."""
        return self.gamma / np.sqrt(self.var + self.eps)

    def out_shape(self, in_shape):
        if in_shape[0] != len(self.mean):
            raise IRError(f"layer {self.name!r}: normalises {len(self.mean)} channels, input has "
                          f"shape {_shape_str(in_shape)}")
        return tuple(in_shape)

    def apply(self, a):
        shape = (1, -1) + (1,) * (a.ndim - 2)
        return (a - self.mean.reshape(shape)) * self.scale.reshape(shape) + self.beta.reshape(shape)


POOL_KINDS = ("avg", "max")


@dataclass(frozen=True, eq=False)
class Pool2d:
    """Non-overlapping pooling (stride = kernel, no padding, floor rule) after a ReLU.

    Parameters
    ----------
    name : str
    kind : ``"avg"`` or ``"max"``
    kernel : int or pair of int
    """
    name: str
    kind: str
    kernel: tuple

    def __post_init__(self):
        if self.kind not in POOL_KINDS:
            raise IRError(f"layer {self.name!r}: pooling kind must be one of {POOL_KINDS}, got {self.kind!r}")
        kernel = _pair(self.kernel, f"layer {self.name!r} kernel")
        if min(kernel) < 1:
            raise IRError(f"layer {self.name!r}: kernel must be >= 1, got {kernel}")
        object.__setattr__(self, "kernel", kernel)

    def out_shape(self, in_shape):
        if len(in_shape) != 3:
            raise IRError(f"layer {self.name!r}: pooling needs a (C, H, W) input, receives {_shape_str(in_shape)}")
        c, h, w = in_shape
        if h < self.kernel[0] or w < self.kernel[1]:
            raise IRError(f"layer {self.name!r}: kernel {self.kernel} larger than input {_shape_str(in_shape)}")
        return (c, h // self.kernel[0], w // self.kernel[1])

    def apply(self, a):
        from .geometry import pool2d
        return pool2d(a, self.kernel, "mean" if self.kind == "avg" else "max")


WEIGHT_LAYERS = (Dense, Conv2d)


@dataclass(frozen=True, eq=False)
class Network:
    """A float ReLU network. Every weight layer (:class:`Dense`, :class:`Conv2d`) but the
    last is followed by a ReLU; a :class:`BatchNorm` acts on the weight layer before it (before
    the ReLU), a :class:`Pool2d` on the ReLU's output.

    Parameters
    ----------
    name : str
    input_shape : tuple of int
        Shape of one input sample: ``(n,)`` or ``(C, H, W)``.
    layers : tuple of :class:`Dense`, :class:`Conv2d`, :class:`BatchNorm`, :class:`Pool2d`
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
        names, prev = set(), None
        last_weight = max(i for i, l in enumerate(layers) if isinstance(l, WEIGHT_LAYERS)) \
            if any(isinstance(l, WEIGHT_LAYERS) for l in layers) else None
        if last_weight is None:
            raise IRError(f"network {self.name!r}: has no Linear or Conv2d layer")
        for i, layer in enumerate(layers):
            if layer.name in names:
                raise IRError(f"network {self.name!r}: duplicate layer name {layer.name!r}")
            names.add(layer.name)
            if isinstance(layer, BatchNorm) and not isinstance(prev, WEIGHT_LAYERS):
                raise IRError(f"layer {layer.name!r}: BatchNorm must directly follow a Linear or Conv2d layer")
            if isinstance(layer, Pool2d):
                if prev is None or isinstance(prev, Pool2d):
                    raise IRError(f"layer {layer.name!r}: pooling must follow a Conv2d layer's ReLU "
                                  f"(not the input or another pooling layer)")
                if i > last_weight:
                    raise IRError(f"layer {layer.name!r}: pooling after the output layer is not supported")
            if i > last_weight and not isinstance(layer, BatchNorm):
                raise IRError(f"layer {layer.name!r}: the network must end with a Linear or Conv2d layer")
            shape = layer.out_shape(shape)
            prev = layer

    @property
    def weight_layers(self):
        """The :class:`Dense` and :class:`Conv2d` layers, in order."""
        return tuple(l for l in self.layers if isinstance(l, WEIGHT_LAYERS))

    @property
    def shapes(self):
        """``(in_shape, out_shape)`` of every layer."""
        out, shape = [], self.input_shape
        for layer in self.layers:
            new = layer.out_shape(shape)
            out.append((shape, new))
            shape = new
        return out

    @property
    def n_inputs(self):
        return int(np.prod(self.input_shape))

    @property
    def n_outputs(self):
        return int(np.prod(self.shapes[-1][1]))

    def _run(self, x):
        """Yield ``(weight layer, activation)``: post-ReLU (pre-pool) activations, the output last."""
        a = check_input_batch(x, self.input_shape, self.name).reshape((-1,) + self.input_shape)
        weight_layers = self.weight_layers
        pending, current = False, None
        for layer in self.layers:
            if isinstance(layer, BatchNorm):
                a = layer.apply(a)
                continue
            if current is not None:              # the previous weight layer's output is complete
                if pending:
                    a = np.maximum(a, 0.0)
                yield current, a
                current = None
            a = layer.apply(a)
            if isinstance(layer, WEIGHT_LAYERS):
                current, pending = layer, layer is not weight_layers[-1]
        yield current, a.reshape(len(a), -1)

    def forward(self, x):
        """Float reference: logits of a batch ``x`` of shape ``(N, *input_shape)``."""
        for _, a in self._run(x):
            pass
        return a

    def activations(self, x):
        """Per weight layer, its activation (after its BatchNorm and ReLU, before pooling;
        the output layer's logits last) of a batch."""
        return [a for _, a in self._run(x)]


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
class EarlyExit:
    """IAT early exit (``docs/semantics.md`` §2c), integer rule: after step ``t`` the inference stops when
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


@dataclass(frozen=True, eq=False)
class QuantLayer:
    """An integer layer: fully connected, or a convolution with an optional fused pooling.

    Parameters
    ----------
    name : str
    weight : int array ``(n_out, n_in)`` or ``(C_out, C_in, kh, kw)``, within ``weight_bits`` signed bits.
    bias : int array ``(n_out,)`` or ``(C_out,)``, added to the membrane every step.
    threshold : int
        The integer that stands for 1.0 in this layer's membrane (``θq``).
    spiking : bool
        ``False`` for the output layer, which only accumulates.
    acc_bits : int
        Width of the membrane (from :func:`snnhw.passes.bound_widths`; 0 before).
    current_bits : int
        Width of the constant-current register of a layer driven by analogue input (else 0).
    in_shape : tuple of int, optional
        Shape of the events it receives: ``(n_in,)`` (default for a dense layer) or ``(C, H, W)``
        (a convolution's input; a dense layer flattens it channel-major).
    stride, padding : pairs of int
        Convolution only.
    pool : tuple, optional
        ``(kind, kh, kw)``, ``kind`` ``"avg"`` or ``"max"``: the pooling of this (spiking,
        convolutional) layer's spikes, fused into its neuron scan. The convolution's output is
        cropped to whole windows (floor rule), so no neuron is computed for nothing.
    """
    name: str
    weight: np.ndarray
    bias: np.ndarray
    threshold: int
    weight_bits: int
    spiking: bool
    acc_bits: int = 0
    current_bits: int = 0
    in_shape: tuple = None
    stride: tuple = (1, 1)
    padding: tuple = (0, 0)
    pool: tuple = None

    def __post_init__(self):
        w = _frozen_array(self.weight, np.int64, f"layer {self.name!r} weight")
        b = _frozen_array(self.bias, np.int64, f"layer {self.name!r} bias")
        if w.ndim not in (2, 4) or b.shape != (w.shape[0],):
            raise IRError(f"layer {self.name!r}: weight {w.shape} / bias {b.shape} shapes do not match")
        lo, hi = fixed.signed_range(self.weight_bits)
        if w.size and (w.min() < lo or w.max() > hi):
            raise IRError(f"layer {self.name!r}: weights outside {self.weight_bits}-bit signed range")
        if isinstance(self.threshold, bool) or not isinstance(self.threshold, (int, np.integer)) \
                or self.threshold < 1:
            raise IRError(f"layer {self.name!r}: threshold must be an integer >= 1, got {self.threshold!r}")
        object.__setattr__(self, "weight", w)
        object.__setattr__(self, "bias", b)
        object.__setattr__(self, "threshold", int(self.threshold))
        in_shape = (w.shape[1],) if self.in_shape is None else tuple(int(v) for v in self.in_shape)
        object.__setattr__(self, "in_shape", in_shape)
        object.__setattr__(self, "stride", _pair(self.stride, f"layer {self.name!r} stride"))
        object.__setattr__(self, "padding", _pair(self.padding, f"layer {self.name!r} padding"))
        if w.ndim == 4:
            if len(in_shape) != 3 or in_shape[0] != w.shape[1]:
                raise IRError(f"layer {self.name!r}: convolution over {w.shape[1]} channels receives "
                              f"{_shape_str(in_shape)}")
        elif int(np.prod(in_shape)) != w.shape[1]:
            raise IRError(f"layer {self.name!r}: expects {w.shape[1]} inputs but receives {_shape_str(in_shape)}")
        if self.pool is not None:
            kind, kh, kw = self.pool
            if kind not in POOL_KINDS or w.ndim != 4 or not self.spiking or min(kh, kw) < 1:
                raise IRError(f"layer {self.name!r}: pool {self.pool!r} needs a spiking convolution "
                              f"and a kind in {POOL_KINDS}")
            object.__setattr__(self, "pool", (str(kind), int(kh), int(kw)))
        if min(self.out_shape) < 1:
            raise IRError(f"layer {self.name!r}: empty output {_shape_str(self.out_shape)}")

    @property
    def is_conv(self):
        return self.weight.ndim == 4

    @property
    def kernel(self):
        """``(kh, kw)`` (convolutions)."""
        return tuple(self.weight.shape[2:])

    @property
    def channels(self):
        """Output channels (a convolution) or neurons (a dense layer): what lanes split."""
        return self.weight.shape[0]

    @property
    def conv_shape(self):
        """``(C_out, H', W')`` of the convolution before any cropping."""
        from .geometry import conv_output_size
        return (self.channels,) + tuple(conv_output_size(n, k, s, p) for n, k, s, p in
                                        zip(self.in_shape[1:], self.kernel, self.stride, self.padding))

    @property
    def out_shape(self):
        """Shape of the layer's neurons: ``(n_out,)``, or ``(C_out, Ho, Wo)`` cropped to whole
        pooling windows."""
        if not self.is_conv:
            return (self.channels,)
        c, ho, wo = self.conv_shape
        if self.pool is not None:
            ho, wo = ho // self.pool[1] * self.pool[1], wo // self.pool[2] * self.pool[2]
        return (c, ho, wo)

    @property
    def pooled_shape(self):
        """Shape of what the next layer receives."""
        if self.pool is None:
            return self.out_shape
        c, ho, wo = self.out_shape
        return (c, ho // self.pool[1], wo // self.pool[2])

    @property
    def positions(self):
        """Output positions (1 for a dense layer)."""
        return int(np.prod(self.out_shape[1:])) if self.is_conv else 1

    @property
    def n_in(self):
        return int(np.prod(self.in_shape))

    @property
    def n_out(self):
        """Neurons."""
        return int(np.prod(self.out_shape))

    @property
    def pool_area(self):
        """Spikes summed into one event by average pooling (1 otherwise)."""
        return self.pool[1] * self.pool[2] if self.pool is not None and self.pool[0] == "avg" else 1

    @property
    def macs(self):
        """Multiply-accumulates of the layer in the ANN: ``n_in · n_out`` (dense), or every
        output position of the uncropped convolution times ``C_in · kh · kw``."""
        if not self.is_conv:
            return self.n_in * self.channels
        return int(np.prod(self.conv_shape)) * int(np.prod(self.weight.shape[1:]))

    def fan_out(self):
        """Synaptic operations of one event at every input coordinate, flattened (``(n_in,)``)."""
        if not self.is_conv:
            return np.full(self.n_in, self.channels, dtype=np.int64)
        from .geometry import conv_fan_out
        return conv_fan_out(self.in_shape, self.out_shape, self.kernel, self.stride,
                            self.padding).reshape(-1)

    def drive(self, values):
        """The synaptic input ``(N, n_out)`` of per-source event values ``(N, n_in)`` (exact)."""
        values = np.asarray(values, dtype=np.int64)
        if not self.is_conv:
            return values.reshape(len(values), -1) @ self.weight.T
        from .geometry import conv2d
        x = values.reshape((len(values),) + self.in_shape)
        return conv2d(x, self.weight, self.stride, self.padding, self.out_shape[1:]).reshape(len(values), -1)

    def geometry(self):
        """The JSON-able geometry fields."""
        return {"in_shape": list(self.in_shape), "stride": list(self.stride),
                "padding": list(self.padding), "pool": None if self.pool is None else list(self.pool)}


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
        if isinstance(self.input_bits, bool) or not isinstance(self.input_bits, (int, np.integer)) \
                or not lo <= self.input_bits <= hi:
            raise IRError(f"input_bits must be in {lo}..{hi}, got {self.input_bits}")
        object.__setattr__(self, "input_bits", int(self.input_bits))
        if not isinstance(self.input_signed, (bool, np.bool_)):
            raise IRError(f"input_signed must be True or False, got {self.input_signed!r}")
        object.__setattr__(self, "input_signed", bool(self.input_signed))
        try:
            scale = float(self.input_scale)
        except (TypeError, ValueError):
            scale = float("nan")
        if not (np.isfinite(scale) and scale > 0):
            raise IRError(f"input_scale must be a positive finite number, got {self.input_scale!r}")
        object.__setattr__(self, "input_scale", scale)
        if not self.layers:
            raise IRError(f"network {self.name!r} has no layers")
        shape = self.input_shape
        for layer in self.layers:
            if layer.in_shape != shape:
                raise IRError(f"layer {layer.name!r}: expects input {_shape_str(layer.in_shape)} but "
                              f"receives {_shape_str(shape)}")
            shape = layer.pooled_shape
        if any(not l.spiking for l in self.layers[:-1]) or self.layers[-1].spiking:
            raise IRError("only the last layer may be (and must be) non-spiking")
        check_coding(self.coding)
        self.coding.check_layers(len(self.layers) - 1)
        if self.early_exit is not None:
            check_early_exit(self.coding)
            steps = self.coding.steps()
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
            "format": "snnhw.QuantNetwork/1",          # qnet_file.FORMAT
            "name": self.name, "input_shape": list(self.input_shape),
            "input_bits": self.input_bits, "input_signed": self.input_signed,
            "input_scale": self.input_scale,
            "coding": self.coding.as_dict(),
            "calibration": self.calibration,
            "early_exit": None if self.early_exit is None else list(self.early_exit.margins),
            "layers": [{"name": l.name, "threshold": l.threshold, "weight_bits": l.weight_bits,
                        "spiking": l.spiking, "acc_bits": l.acc_bits, "current_bits": l.current_bits,
                        **l.geometry()}
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
        """Read a network written by :meth:`save`, checking every key, type, array and the
        static widths (:mod:`snnhw.qnet_file`); raises :class:`IRError` naming the file."""
        from . import qnet_file

        stem = pathlib.Path(path).with_suffix("")
        where = stem.with_suffix(".json")
        meta = qnet_file.read_meta(where)
        arrays = qnet_file.read_arrays(stem.with_suffix(".npz"), len(meta["layers"]))
        coding = dict(meta["coding"])
        kind = coding.pop("kind", None)
        if kind not in CODINGS:
            raise IRError(f"{where}: unknown coding {kind!r}")
        try:
            layers = tuple(QuantLayer(weight=w, bias=b, **lm) for (w, b), lm in zip(arrays, meta["layers"]))
            qnet = cls(name=meta["name"], input_shape=tuple(meta["input_shape"]),
                       input_bits=meta["input_bits"], input_signed=meta["input_signed"],
                       input_scale=meta["input_scale"], layers=layers,
                       coding=CODINGS[kind].from_dict(coding, where), calibration=meta["calibration"],
                       early_exit=None if meta["early_exit"] is None else EarlyExit(tuple(meta["early_exit"])))
        except IRError as e:
            message = str(e)
            raise IRError(message if message.startswith(str(where)) else f"{where}: {message}") from None
        qnet_file.check_widths(qnet, where)
        return qnet
