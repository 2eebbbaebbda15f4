"""Random small networks for tests (never a bundled model)."""

import numpy as np

from snnhw import golden
from snnhw.ir import Conv2d, Dense, Network, Pool2d, RateCoding
from snnhw.passes import convert


def random_network(seed, sizes=(6, 5, 3), signed_input=False, n_cal=64):
    """A small random ReLU network and calibration data (never a bundled model).

    Hidden biases are raised where needed so that every hidden neuron is active on some
    calibration input (no dead layer).
    """
    rng = np.random.default_rng(seed)
    lo = -1.0 if signed_input else 0.0
    x = rng.uniform(lo, 1.0, (n_cal, sizes[0]))
    layers, a = [], x
    for k, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        w = rng.normal(0, 1.0 / np.sqrt(n_in), (n_out, n_in))
        b = rng.uniform(0.05, 0.3, n_out)
        z = a @ w.T + b
        b = b + np.maximum(0.0, 0.05 - z.max(axis=0))
        layers.append(Dense(f"fc{k}", w, b))
        a = np.maximum(a @ w.T + b, 0.0)
    return Network(f"rand{seed}", (sizes[0],), tuple(layers)), x


def random_cnn(seed, input_shape=(1, 6, 6), convs=((3, 3, 1, 1, ("max", 2)),), n_out=3,
               signed_input=False, n_cal=64):
    """A small random ReLU CNN (convolutions, pooling, a final dense layer) and calibration
    data. ``convs`` holds ``(C_out, kernel, stride, padding, pool)`` with ``pool`` ``None`` or
    ``(kind, k)``. Biases are raised so that every channel is active on some input."""
    rng = np.random.default_rng(seed)
    lo = -1.0 if signed_input else 0.0
    x = rng.uniform(lo, 1.0, (n_cal,) + tuple(input_shape))
    layers, c = [], input_shape[0]
    for i, (c_out, k, s, p, pool) in enumerate(convs):
        w = rng.normal(0, 1.0 / np.sqrt(c * k * k), (c_out, c, k, k))
        layers.append(Conv2d(f"conv{i}", w, rng.uniform(0.05, 0.3, c_out), s, p))
        net = Network("tmp", input_shape, tuple(layers))
        z = net.forward(x).reshape(n_cal, c_out, -1)
        b = layers[-1].bias + np.maximum(0.0, 0.05 - z.max(axis=(0, 2)))
        layers[-1] = Conv2d(f"conv{i}", w, b, s, p)
        if pool is not None:
            layers.append(Pool2d(f"pool{i}", pool[0], pool[1]))
        c = c_out
    shape = input_shape
    for layer in layers:
        shape = layer.out_shape(shape)
    n_in = int(np.prod(shape))
    layers.append(Dense("fc", rng.normal(0, 1.0 / np.sqrt(n_in), (n_out, n_in)), rng.uniform(-0.1, 0.1, n_out)))
    return Network(f"cnn{seed}", input_shape, tuple(layers)), x


def random_qnet(seed, sizes=(6, 5, 3), timesteps=4, signed_input=False, weight_bits=8, input_bits=8,
                coding=None):
    net, x = random_network(seed, sizes, signed_input)
    coding = coding if coding is not None else RateCoding(timesteps)
    return convert(net, x, coding, weight_bits=weight_bits, input_bits=input_bits), x


def margins_for(q, codes):
    """Margins that split the images: at the first step where their margins differ, those
    at or above the median image's margin (exactly equal included) exit; the rest two steps
    later. Returns ``(margins, expected steps)``."""
    from snnhw.fixed import top2_margin
    g = golden.run_codes(q, codes, record_steps=True)
    marg = top2_margin(g.potentials_per_step)
    mid = np.sort(marg, axis=0)[len(marg) // 2]
    t = next(t for t in range(marg.shape[1]) if mid[t] > marg[:, t].min())
    never = 1 << 30
    margins = [never] * q.coding.timesteps
    margins[t], margins[t + 2] = int(mid[t]), 0
    return tuple(margins), {t + 1, t + 3}


def phase_fire(coding):
    """Single-spike coding's fire rule from its written text, with float levels: returns
    ``fire(v, theta) → (m, k)`` (``(0, 0)``: no spike)."""
    import math
    b, w = coding.base, coding.window
    shift = (1 + 1 / b) / 2 if coding.threshold_shift else 1.0

    def fire(v, theta):
        for k in range(1, w + 1):
            lvl = max(1, math.ceil(theta * b ** (1 - k) * shift))
            if coding.negative_spikes and v <= -lvl:
                return -1, k
            if v >= lvl:
                return 1, k
        return 0, 0
    return fire
