"""snnhw: trained ReLU networks → integer spiking networks → bit-exact FPGA hardware.

Python API (see README)::

    qnet = snnhw.convert(torch_module, x_calibration, snnhw.RateCoding(16))
    result = snnhw.golden.run(qnet, x_test)            # exact integer behaviour
    snnhw.build(qnet, "build/mine")                    # Verilog + manifest.json
    run = snnhw.simulate_rtl(...)                      # cocotb on Icarus/Verilator
    snnhw.synthesize(lambda: snnhw.SNNAccelerator(qnet), "icebreaker", "build/mine/synth")
"""

__version__ = "0.1.0"

from . import fixed, golden                                    # noqa: E402
from .ir import (BurstCoding, EarlyExit, IRError, Network, QuantNetwork,  # noqa: E402
                 RateCoding, SingleSpikeCoding)
from .passes import convert                                  # noqa: E402
from .frontend import from_torch                             # noqa: E402
from .generate import build, write_vectors, event_bound         # noqa: E402


def __getattr__(name):
    # hardware, simulation and synthesis pull in Amaranth / cocotb / YoWASP: import lazily
    if name == "SNNAccelerator":
        from .hw.accelerator import SNNAccelerator
        return SNNAccelerator
    if name == "simulate_rtl":
        from .sim import simulate_rtl
        return simulate_rtl
    if name == "synthesize":
        from .synth import synthesize
        return synthesize
    raise AttributeError(f"module 'snnhw' has no attribute {name!r}")


__all__ = ["fixed", "golden", "IRError", "Network", "QuantNetwork", "RateCoding", "BurstCoding",
           "SingleSpikeCoding", "EarlyExit", "convert",
           "from_torch", "build", "write_vectors", "event_bound", "SNNAccelerator",
           "simulate_rtl", "synthesize"]
