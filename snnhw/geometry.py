"""Shapes and index maps of dense and convolutional layers (numpy only).

One place for the arithmetic of convolution and pooling that the IR, the golden model and
the hardware generator share: output sizes, the output positions an input coordinate reaches
(the event's receptive field, borders and stride included), exact convolution, and pooling.
Arrays are channel-major, ``(N, C, H, W)``, flattened in that order (torch's ``Flatten``).
"""

import numpy as np

__all__ = ["conv_output_size", "axis_targets", "conv_fan_out", "conv2d", "pool2d", "crop"]


def conv_output_size(size, kernel, stride, padding):
    """Output length of a convolution along one axis (torch's rule)."""
    return (size + 2 * padding - kernel) // stride + 1


def axis_targets(n_in, n_out, kernel, stride, padding):
    """For every input coordinate ``i`` along one axis, the outputs it reaches.

    Output ``o`` reads input ``o·stride − padding + k`` for ``k`` in ``0..kernel−1``, so ``i``
    reaches the ``o`` with ``0 ≤ i + padding − o·stride < kernel`` and ``0 ≤ o < n_out``.

    Returns
    -------
    (first, count, k_first) : int64 arrays of length ``n_in``
        The first output reached, how many (consecutive, possibly 0), and the kernel index of
        the first one (it falls by ``stride`` for each next output).
    """
    i = np.arange(n_in)
    lo = np.maximum(0, -(-(i + padding - kernel + 1) // stride))      # ceil division
    hi = np.minimum(n_out - 1, (i + padding) // stride)
    count = np.maximum(0, hi - lo + 1)
    first = np.where(count > 0, lo, 0)
    k_first = np.where(count > 0, i + padding - first * stride, 0)
    return first.astype(np.int64), count.astype(np.int64), k_first.astype(np.int64)


def conv_fan_out(in_shape, out_shape, kernel, stride, padding):
    """Targets of one event at every input coordinate: ``(C_in, H, W)`` int64 (``C_out`` times
    the output positions it reaches)."""
    c_in, h, w = in_shape
    c_out, ho, wo = out_shape
    _, cy, _ = axis_targets(h, ho, kernel[0], stride[0], padding[0])
    _, cx, _ = axis_targets(w, wo, kernel[1], stride[1], padding[1])
    per_pos = c_out * cy[:, None] * cx[None, :]
    return np.broadcast_to(per_pos, (c_in, h, w)).astype(np.int64)


def conv2d(x, weight, stride, padding, out_hw=None):
    """Exact convolution (cross-correlation, torch's ``conv2d``) of ``x`` ``(N, C, H, W)``.

    Integer inputs give exact integer results (int64); ``out_hw`` crops the output to its
    first rows and columns.
    """
    x = np.asarray(x)
    weight = np.asarray(weight)
    kh, kw = weight.shape[2:]
    (sy, sx), (py, px) = stride, padding
    ho = conv_output_size(x.shape[2], kh, sy, py)
    wo = conv_output_size(x.shape[3], kw, sx, px)
    if out_hw is not None:
        ho, wo = out_hw
    xp = np.pad(x, ((0, 0), (0, 0), (py, py), (px, px)))
    win = np.lib.stride_tricks.sliding_window_view(xp, (kh, kw), axis=(2, 3))
    win = win[:, :, :(ho - 1) * sy + 1:sy, :(wo - 1) * sx + 1:sx]       # (N, C, Ho, Wo, kh, kw)
    return np.einsum("nchwij,ocij->nohw", win, weight, optimize=True)


def crop(x, kernel):
    """``x`` ``(N, C, H, W)`` cut to whole pooling windows (torch's floor rule)."""
    kh, kw = kernel
    return x[:, :, :x.shape[2] // kh * kh, :x.shape[3] // kw * kw]


def pool2d(x, kernel, how):
    """Non-overlapping pooling (stride = kernel, floor rule) of ``x`` ``(N, C, H, W)``;
    ``how`` is ``"sum"``, ``"max"``, ``"min"`` or ``"mean"``."""
    kh, kw = kernel
    x = crop(np.asarray(x), kernel)
    n, c, h, w = x.shape
    blocks = x.reshape(n, c, h // kh, kh, w // kw, kw)
    return {"sum": blocks.sum, "max": blocks.max, "min": blocks.min,
            "mean": blocks.mean}[how](axis=(3, 5))
