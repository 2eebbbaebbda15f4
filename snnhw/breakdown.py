"""Per-layer Yosys cell counts of a core (each layer engine synthesised on its own), to
compare the resource model (:mod:`snnhw.resources`) with what Yosys builds, layer by layer."""

import json
import pathlib
import subprocess

__all__ = ["SYNTH_COMMANDS", "yosys_breakdown", "core_cells", "cell_summary"]

#: Yosys synthesis command per family.
SYNTH_COMMANDS = {"ice40": "synth_ice40 -dsp -spram", "ecp5": "synth_ecp5"}


def cell_summary(cells, family):
    """``lut``, ``ff``, ``carry``, ``bram``, ``spram``, ``dsp`` from a ``{cell type: count}`` dict
    (an ECP5 ``CCU2C`` counts as two LUTs)."""
    def count(*names):
        return sum(cells.get(n, 0) for n in names)

    def prefix(*names):
        return sum(v for k, v in cells.items() if k.startswith(names))

    if family == "ice40":
        return {"lut": count("SB_LUT4"), "ff": prefix("SB_DFF"), "carry": count("SB_CARRY"),
                "bram": prefix("SB_RAM40_4K"), "spram": count("SB_SPRAM256KA"),
                "dsp": count("SB_MAC16")}
    return {"lut": count("LUT4") + 2 * count("CCU2C"), "ff": count("TRELLIS_FF") + prefix("FD1"),
            "carry": count("CCU2C"), "bram": count("DP16KD", "PDPW16KD"), "spram": 0,
            "dsp": count("MULT18X18D")}


def _synth_stats(component, name, build_dir, family):
    """Flattened Yosys synthesis of one component; returns its cell counts."""
    from amaranth.back import rtlil

    from .generate import ALLOW_COLLISIONS, DROP_LOADED_INIT
    from .synth import ABC9_CRASH, ecp5_abc_synthesis, setup_yowasp_env

    env = setup_yowasp_env(dict(__import__("os").environ))
    (build_dir / f"{name}.il").write_text(rtlil.convert(component, name=name, emit_src=False))

    def run(synth):
        script = (f"read_rtlil {name}.il; {DROP_LOADED_INIT}; {ALLOW_COLLISIONS}; "
                  f"{synth}; tee -q -o {name}.json stat -json")
        res = subprocess.run([env["YOSYS"], "-q", "-l", f"{name}.log", "-p", script],
                             cwd=build_dir, capture_output=True, text=True)
        return res.returncode, (build_dir / f"{name}.log").read_text(errors="replace")[-2000:]

    returncode, log = run(f"{SYNTH_COMMANDS[family]} -top {name}")
    if returncode and family == "ecp5" and ABC9_CRASH.search(log):
        returncode, log = run(ecp5_abc_synthesis(name))     # as the full build does then
    if returncode:
        raise RuntimeError(f"Yosys failed for the per-layer breakdown of {name}:\n{log}")
    stat = json.loads((build_dir / f"{name}.json").read_text())
    cells = stat["design"]["num_cells_by_type"] if "design" in stat else \
        next(iter(stat["modules"].values()))["num_cells_by_type"]
    return {k: v for k, v in cells.items() if k != "$scopeinfo"}


def _silence_unused(core):
    """Only the engines of ``core`` are elaborated: its other parts (encoder, result buffer,
    ...) need not warn that they never were."""
    from amaranth.hdl import Elaboratable

    def silence(obj):
        obj._MustUse__silence = True
        for value in vars(obj).values():
            if isinstance(value, Elaboratable) and value not in core.engines:
                silence(value)
    silence(core)


def yosys_breakdown(core, build_dir, family="ice40"):
    """Synthesise each layer engine of ``core`` (an :class:`~snnhw.hw.accelerator.SNNAccelerator`
    that is not elaborated otherwise) on its own, flattened, and return
    ``{"layer0": cell summary, ...}``."""
    build_dir = pathlib.Path(build_dir)
    build_dir.mkdir(parents=True, exist_ok=True)
    _silence_unused(core)
    return {f"layer{k}": cell_summary(_synth_stats(e, f"layer{k}", build_dir, family), family)
            for k, e in enumerate(core.engines)}


def core_cells(core, build_dir, family="ice40"):
    """Cell summary of a whole core (an :class:`~snnhw.hw.accelerator.SNNAccelerator` not
    elaborated otherwise), synthesised flattened on its own (no board top, no place and route)."""
    build_dir = pathlib.Path(build_dir)
    build_dir.mkdir(parents=True, exist_ok=True)
    return cell_summary(_synth_stats(core, "core", build_dir, family), family)
