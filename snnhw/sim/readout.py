"""Readout registers of every result → the measured arrays, compared with golden vectors.

Shared by both harnesses (cocotb's ``tb.py`` and the free-running ``fast``), so that they
report the same thing in the same way. The register map is ``manifest["readout"]``
(docs/semantics.md, "Ports and readout map").
"""

import numpy as np

__all__ = ["split_registers", "mismatches"]


def split_registers(registers, manifest):
    """Readout registers ``(N, readout_depth)`` → ``dict`` of ``(N, ...)`` int64 arrays:
    ``potentials``, ``predicted``, ``cycles``, ``events`` (per stream) and ``exit_step``."""
    regs = np.asarray(registers, dtype=np.int64).reshape(-1, manifest["readout_depth"])
    n_out, n_layers = manifest["n_outputs"], len(manifest["layers"])
    index = manifest["readout"]
    return {
        "potentials": regs[:, :n_out],
        "predicted": regs[:, index["predicted"]],
        "cycles": regs[:, index["cycles"]],
        "events": regs[:, [index[f"events[{k}]"] for k in range(n_layers)]],
        "exit_step": regs[:, index["exit_step"]],
    }


def mismatches(measured, vectors):
    """Indices of the images whose potentials, class, events or exit step differ from the
    golden ``vectors`` (integer equality)."""
    differ = ((measured["potentials"] != vectors["potentials"]).any(axis=1)
              | (measured["predicted"] != vectors["predicted"])
              | (measured["events"] != vectors["events"]).any(axis=1)
              | (measured["exit_step"] != vectors["exit_step"]))
    return [int(i) for i in np.flatnonzero(differ)]
