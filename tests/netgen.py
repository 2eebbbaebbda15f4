"""Random small networks for tests (never a bundled model)."""

import numpy as np

from snnhw.ir import Dense, Network, RateCoding
from snnhw.passes import convert


def random_network(seed, sizes=(6, 5, 3), signed_input=False, n_cal=64):
    """A small random ReLU network and calibration data (never a bundled model).

    Every hidden neuron gets a positive bias, so no layer is dead on the calibration data.
    """
    rng = np.random.default_rng(seed)
    layers = []
    for k, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(Dense(f"fc{k}", rng.normal(0, 1.0 / np.sqrt(a), (b, a)), rng.uniform(0.05, 0.3, b)))
    net = Network(f"rand{seed}", (sizes[0],), tuple(layers))
    lo = -1.0 if signed_input else 0.0
    x = rng.uniform(lo, 1.0, (n_cal, sizes[0]))
    return net, x


def random_qnet(seed, sizes=(6, 5, 3), timesteps=4, signed_input=False, weight_bits=8, input_bits=8):
    net, x = random_network(seed, sizes, signed_input)
    return convert(net, x, RateCoding(timesteps), weight_bits=weight_bits, input_bits=input_bits), x


