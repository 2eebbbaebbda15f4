"""The hardware half of ``snnhw report``: which designs, RTL runs, bounds and synthesis.

Each board gets the design folded for it (:func:`snnhw.passes.folding.fold`) unless the user
gave lanes or a plan; every design is built, replayed on the RTL (sequential and streamed) and
synthesised for its board, and the per-layer resource prediction is put beside Yosys's count.
"""

import json
import pathlib

import numpy as np

from .generate import build, event_bound, event_bound_per_layer, write_vectors
from .plan import DesignPlan

__all__ = ["choose_designs", "measure_design", "read_port_bound", "board_section",
           "latency_curve", "FAMILY"]

#: Board → FPGA family (for the bounds of designs that are not synthesised).
FAMILY = {"icebreaker": "ice40", "icesugar": "ice40"}

#: Bits and read-port width of one block RAM / SPRAM per family.
_BLOCKS = {"ice40": ((4096, 16), (262144, 16)), "ecp5": ((18432, 36), None)}


def choose_designs(qnet, x_cal, plan_spec, boards, default_board="icebreaker"):
    """The designs to build: ``{key: {"plan", "fold"}}`` and ``{board: key}``.

    ``plan_spec`` ``None`` folds for each board (for ``default_board`` when there is none);
    otherwise (lanes, a :class:`~snnhw.plan.DesignPlan`) one design serves every board."""
    from .passes.folding import fold

    if plan_spec is not None:
        plan = DesignPlan.of(qnet, plan_spec).resolve(qnet)
        return {"manual": {"plan": plan, "fold": None}}, {b: "manual" for b in boards}
    designs, of_board = {}, {}
    for board in boards or (default_board,):
        result = fold(qnet, x_cal, board)
        designs[board] = {"plan": result.best.plan, "fold": result}
        of_board[board] = board
    return designs, ({b: of_board[b] for b in boards})


def read_port_bound(qnet, result, family="ice40"):
    """The block-RAM read-port bound of each image, per layer ``(N, n_layers)``: a layer's
    weights in the fewest block RAMs (or SPRAMs, if fewer ports) that hold them, every port
    read at full width every cycle — ``synaptic operations × weight bits / port bits``."""
    ebr, spram = _BLOCKS[family]
    out = []
    for layer, src in zip(qnet.layers, result.source_events):
        bits = layer.weight.size * layer.weight_bits
        width = -(-bits // ebr[0]) * ebr[1]
        if spram is not None:
            width = max(width, min(-(-bits // spram[0]), 4) * spram[1])
        ops = src @ layer.fan_out()
        out.append(ops * layer.weight_bits / width)
    return np.stack(out, axis=1)


def _differ(run, gold):
    return ((run.potentials != gold.potentials).any(axis=1) | (run.predicted != gold.predicted)
            | (run.events != gold.events).any(axis=1) | (run.exit_step != gold.exit_step))


def measure_design(qnet, plan, x_te, bdir, simulator="verilator", stream_images=100,
                   family="ice40", progress=None, harness="fast"):
    """Build ``plan`` into ``bdir``, replay ``x_te`` on its RTL one image at a time and the
    first ``stream_images`` back to back, and return the design's measured fields (the names
    of the report) plus ``"_manifest"``."""
    from .cycles import predict_cycles, workload
    from .sim import simulate_rtl

    step = progress.step if progress is not None else (lambda text: None)
    bdir = pathlib.Path(bdir)
    qnet.save(bdir / "qnet.json")
    b = build(qnet, bdir, lanes=plan)
    plan.save(bdir / "plan.json")
    step(f"RTL simulation ({simulator}, {len(x_te)} images, lanes {list(plan.lanes)})")
    gv = write_vectors(qnet, x_te, bdir / "vectors.npz")
    run = simulate_rtl(b.verilog, b.manifest, bdir / "vectors.npz", bdir / f"sim_{simulator}",
                       simulator=simulator, harness=harness)
    n_stream = min(len(x_te), stream_images)
    if n_stream:
        step(f"RTL simulation, streamed ({simulator}, {n_stream} images back to back)")
        gs = write_vectors(qnet, x_te[:n_stream], bdir / "vectors_stream.npz")
        srun = simulate_rtl(b.verilog, b.manifest, bdir / "vectors_stream.npz",
                            bdir / f"sim_{simulator}", simulator=simulator, mode="stream",
                            harness=harness)
        stream_mismatches = int(_differ(srun, gs).sum())
    else:
        srun, stream_mismatches = None, 0
    bound = event_bound(qnet, gv, plan)
    ports = read_port_bound(qnet, gv, family)
    cycles = run.cycles
    predicted, busy = predict_cycles(workload(qnet, qnet.quantise_input(x_te)), plan)
    man = json.loads(b.manifest.read_text())
    return {
        "lanes": list(plan.lanes), "plan": plan.to_json(), "layers": man["layers"],
        "rtl_simulator": simulator, "rtl_harness": harness, "rtl_images": int(run.images),
        "rtl_mismatches": int(_differ(run, gv).sum()), "rtl_testbench_passed": bool(run.passed),
        "cycles_per_image": round(float(cycles.mean()), 2),
        "cycles_per_image_max": int(cycles.max()),
        "predicted_cycles_per_image": round(float(predicted.mean()), 2),
        "cycle_model_error": round(float(predicted.mean() / cycles.mean() - 1), 4),
        "event_bound_cycles": round(float(bound.mean()), 2),
        "event_bound_cycles_per_layer": [round(float(v), 2) for v in
                                         event_bound_per_layer(qnet, gv, plan).mean(axis=0)],
        "cycles_over_event_bound": round(float(cycles.mean() / bound.mean()), 4),
        "cycles_over_event_bound_max": round(float((cycles / np.maximum(bound, 1)).max()), 4),
        "bram_bound_family": family,
        "bram_bound_cycles": round(float(ports.sum(axis=1).mean()), 2),
        "bram_bound_cycles_per_layer": [round(float(v), 2) for v in ports.mean(axis=0)],
        "cycles_over_bram_bound": round(float(cycles.mean() / ports.sum(axis=1).mean()), 3),
        "stream_images": int(srun.images) if srun else 0, "stream_mismatches": stream_mismatches,
        "stream_cycles_per_image": (round(srun.total_cycles / max(1, srun.images), 2) if srun
                                    else None),
        "predicted_stream_cycles_per_image": round(float(busy.max(axis=1).mean()), 2),
        # the same images one at a time (latency each) vs back to back (total / images)
        "sequential_cycles_per_image": round(float(run.cycles[:n_stream].mean()), 2),
        "streaming_throughput_gain": (round(float(run.cycles[:n_stream].sum())
                                            / max(1, srun.total_cycles), 4) if srun else None),
        "verilog_sha256": man["verilog_sha256"],
        "_manifest": man,
    }


def _layer_table(qnet, plan, breakdown, family):
    """Per layer: plan, predicted resources and what Yosys built (the engine on its own)."""
    from .resources import layer_resources
    rows = []
    for k, lp in enumerate(plan.layers):
        rows.append({"layer": qnet.layers[k].name, "lanes": lp.lanes, "weights": lp.weights,
                     "membranes": lp.membranes, "multipliers": lp.multipliers,
                     "predicted": layer_resources(qnet, k, lp, family).as_dict(family),
                     "synthesised": breakdown.get(f"layer{k}")})
    return rows


def board_section(qnet, plan, board, bdir, measured, progress=None, breakdown=True):
    """Synthesise ``plan`` for ``board`` at the highest clock that meets timing and return the
    report's board section: utilisation, Fmax, the clock, latencies, and per layer the
    predicted vs synthesised resources."""
    from .breakdown import yosys_breakdown
    from .hw.accelerator import SNNAccelerator
    from .resources import design_resources
    from .synth import synthesize
    from boards.platforms import get_board

    step = progress.step if progress is not None else (lambda text: None)
    family = get_board(board).family
    step(f"synthesise for {board} (lanes {list(plan.lanes)})")
    res = synthesize(lambda: SNNAccelerator(qnet, lanes=plan), board, pathlib.Path(bdir) / f"synth_{board}",
                     clock="max")
    res = {k: v for k, v in res.items() if k not in ("yosys", "utilization", "build_dir", "bitstream")}
    cyc = measured["cycles_per_image"]
    if res.get("fmax_mhz") is not None:
        res["fmax_mhz"] = round(res["fmax_mhz"], 2)
    # latency at the achieved Fmax, at the board's oscillator and at the clock the bitstream
    # runs at (the PLL's, the highest that met timing)
    res["latency_us"] = round(cyc / res["fmax_mhz"], 2) if res.get("fmax_mhz") else None
    res["latency_us_at_board_clock"] = round(cyc / res["board_clock_mhz"], 2)
    res["latency_us_at_clock"] = round(cyc / res["clock_mhz"], 2)
    res["images_per_second_at_clock"] = round(res["clock_mhz"] * 1e6 / cyc, 1)
    if res.get("fmax_mhz") and measured["stream_cycles_per_image"]:
        res["images_per_second_sequential"] = round(res["fmax_mhz"] * 1e6 / cyc, 1)
        res["images_per_second_streaming"] = round(
            res["fmax_mhz"] * 1e6 / measured["stream_cycles_per_image"], 1)
        res["images_per_second_streaming_at_clock"] = round(
            res["clock_mhz"] * 1e6 / measured["stream_cycles_per_image"], 1)
    rom = [mm for mm in res.get("memories", []) if ".rom." in mm["name"]]
    res["weight_roms_in_bram"] = bool(rom) and all(mm["mapped"] == "bram" for mm in rom)
    res["weight_memories"] = {mm["name"].split("core.", 1)[-1]: mm["mapped"] for mm in rom}
    predicted = design_resources(qnet, plan, family)["total"]
    res["predicted"] = predicted.as_dict(family)
    if breakdown:
        step(f"per-layer Yosys breakdown for {board}")
        parts = yosys_breakdown(SNNAccelerator(qnet, lanes=plan), pathlib.Path(bdir) / f"breakdown_{board}",
                                family)
        res["layers"] = _layer_table(qnet, plan, parts, family)
    res["design"] = {k: measured[k] for k in (
        "lanes", "plan", "cycles_per_image", "predicted_cycles_per_image", "event_bound_cycles",
        "cycles_over_event_bound", "stream_cycles_per_image", "streaming_throughput_gain",
        "rtl_mismatches", "stream_mismatches", "rtl_images", "bram_bound_cycles",
        "cycles_over_bram_bound")}
    return res


def latency_curve(qnet, fold_result, x_te, bdir, board, simulator="verilator", points=5,
                  progress=None, harness="fast"):
    """The fold's path from one lane per layer to the best design that fits: every point
    predicted, and ``points`` of them (evenly along the path, the last included) built,
    replayed on the RTL and synthesised. Returns a list of rows."""
    path = list(fold_result.path)
    chosen = sorted({int(round(i)) for i in np.linspace(0, len(path) - 1, min(points, len(path)))})
    rows = []
    for i, point in enumerate(path):
        row = point.as_dict()
        if i in chosen:
            sub = pathlib.Path(bdir) / f"curve{i}"
            m = measure_design(qnet, point.plan, x_te, sub, simulator, stream_images=0,
                               family=FAMILY.get(board, "ecp5"), progress=progress,
                               harness=harness)
            b = board_section(qnet, point.plan, board, sub, m, progress, breakdown=False)
            row.update(measured_cycles_per_image=m["cycles_per_image"], rtl_mismatches=m["rtl_mismatches"],
                       synthesised={k: b.get(k) for k in ("lut", "ff", "logic_cells", "bram", "spram",
                                                          "dsp", "fmax_mhz", "clock_mhz", "fits",
                                                          "timing_met", "latency_us_at_clock")})
        rows.append(row)
    return rows
