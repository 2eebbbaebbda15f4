"""The benchmark report: accuracy, spikes, synaptic operations, RTL cycles, resources.

:func:`run_report` measures everything in one run and writes ``results/<model>-<coding>.json``
and ``.md``. Field names are stable (tools read them); new fields are only ever added.
"""

import json
import pathlib
import platform as _platform
import time

from . import __version__, golden, report_hw
from .generate import balance_lanes
from .codings import CHOICES, OPTION_DEFAULTS
from .errors import IRError
from .data import load_dataset
from .frontend import from_torch
from .passes import calibrate_early_exit, choose_coding, convert
from .passes.adafire import spike_ops
from .report_tables import ReportContext
from .workdir import design_lock, writable_dir
from .report_tables import accuracy as _accuracy

__all__ = ["DEFAULT_SWEEP", "run_report", "write_markdown"]

#: Timesteps of the accuracy-vs-T table.
DEFAULT_SWEEP = (1, 2, 4, 8, 16, 32, 64)


class _Quiet:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def step(self, text):
        pass

    def advance(self):
        pass


def run_report(model="digits_mlp", coding="rate", *, timesteps=None, window=None, base=None,
               threshold_shift=True, negative_spikes=None, max_burst=None, ssc=True, refine=False,
               iat=None,
               sweep=DEFAULT_SWEEP, weight_bits=8, input_bits=8, percentile=99.9, lanes=None,
               simulator="verilator", harness="fast", rtl_images=None, boards=("icebreaker", "ulx3s"),
               results_dir="results", build_root="build", progress=None, weights=None,
               stream_images=100, curve=False):
    """Measure one model under one coding; returns the report dict (also written to disk).

    Parameters
    ----------
    model : str
        Bundled model name or path (see :func:`snnhw.models.load_torch_model`).
    coding : str
    timesteps : int, optional
        Rate coding: ``T`` of the built design (default 16).
    window, base, threshold_shift, negative_spikes
        Single-spike coding: missing ``window``/``base`` are searched on calibration data
        (:func:`snnhw.passes.choose_coding`).
    max_burst, ssc, refine : burst / AdaFire options (``Γ`` of plain burst coding; SSC on or
        off; per-channel threshold refinement)
    iat : bool, optional
        Calibrate the IAT early exit and build it (default: on for ``adafire`` only).
    sweep : tuple of int
        ``T`` values of the rate-coding accuracy table (also the single-spike report's
        rate baseline).
    lanes : optional
        ``None`` folds a design for each board (:func:`snnhw.passes.folding.fold`); lanes,
        ``"auto"`` or a :class:`~snnhw.plan.DesignPlan` give one design for every board.
    simulator, harness : RTL simulator and harness (:func:`snnhw.sim.simulate_rtl`)
    rtl_images : int, optional
        Test images replayed on the RTL (default: the whole test set).
    curve : bool
        Also build, replay and synthesise points of the fold's path for the first board
        (``latency_vs_resources``).
    stream_images : int
        Images sent back to back in the streaming (layer-pipelined) run.
    boards : tuple of str
        Boards to synthesise for (empty: skip synthesis).
    progress : object with ``step(text)``, optional
    """
    import torch  # noqa: F401  (the frontend needs it)

    from .models import load_torch_model

    progress = progress or _Quiet()
    if coding not in CHOICES:
        raise ValueError(f"unknown coding {coding!r}; available: {', '.join(CHOICES)}")
    if iat is None:
        iat = CHOICES[coding].early_exit
    _check_doors(boards, results_dir, rtl_images)
    t_start = time.time()
    progress.step("load model and data")
    module, name, dataset = load_torch_model(model, weights)
    x_tr, y_tr, x_te, y_te = load_dataset(dataset)
    net = from_torch(module, name=name)
    acc_float = _accuracy(net.forward(x_te).argmax(1), y_te)
    opts = dict(weight_bits=weight_bits, input_bits=input_bits, percentile=percentile)

    progress.step("choose coding parameters and quantise")
    options = dict(timesteps=timesteps, window=window, base=base, threshold_shift=threshold_shift,
                   negative_spikes=negative_spikes, max_burst=max_burst, ssc=ssc, refine=refine)
    cfg, search = choose_coding(coding, net, x_tr, y_tr, **options, **opts)
    qnet = convert(net, x_tr, cfg, **opts)
    exit_info = None
    if iat:
        progress.step("calibrate the IAT early exit")
        qnet, exit_info = calibrate_early_exit(qnet, x_tr)
    acc_quant = _accuracy(golden.quant_ann_logits(qnet, x_te).argmax(1), y_te)

    progress.step("golden model: accuracy tables")
    ctx = ReportContext(net, x_tr, y_tr, x_te, y_te, cfg, coding, search,
                        {**OPTION_DEFAULTS, **options}, opts, qnet, exit_info, tuple(sweep), progress)
    tables = cfg.report_tables(ctx)
    g = golden.run(qnet, x_te)
    ann_macs = int(sum(l.macs for l in qnet.layers))

    tag = f"{name}-{coding}"
    qnet = qnet.replace(calibration={**qnet.calibration, "dataset": dataset})
    report = {
        "model": name, "coding": coding, "dataset": dataset,
        "split": {"train": len(x_tr), "test": len(x_te),
                  "rule": "train_test_split(test_size=0.25, random_state=0, stratify=y)"},
        "accuracy_float": acc_float, "accuracy_quant": acc_quant,
        "accuracy_snn": _accuracy(g.predicted, y_te),
        "timesteps": cfg.timesteps_reported,
        "mean_exit_step": round(float(g.exit_step.mean()), 4),
        "coding_config": cfg.as_dict(),
        "weight_bits": weight_bits, "input_bits": input_bits, "percentile": percentile,
        "spikes_per_image": round(float(g.spikes.mean()), 2),
        "spike_ops_per_image": round(float(spike_ops(g, qnet).mean()), 2),
        "events_per_stream_per_image": [round(float(v), 2) for v in g.events.mean(axis=0)],
        "synaptic_ops_per_image": round(float(g.synaptic_ops.mean()), 2),
        "ann_macs_per_image": ann_macs,
        "synaptic_ops_vs_ann_macs": round(float(g.synaptic_ops.mean()) / ann_macs, 4),
    }
    with design_lock(pathlib.Path(build_root) / tag, on_wait=progress.step) as bdir:
        hw = _hardware(qnet, x_tr, x_te, bdir, lanes=lanes, boards=boards,
                       simulator=simulator, harness=harness, rtl_images=rtl_images,
                       stream_images=stream_images, curve=curve, progress=progress)
    report.update(hw.pop("design"), **tables, **hw)
    report["environment"] = {"snnhw": __version__, "python": _platform.python_version(),
                             "machine": _platform.machine(), "seconds": round(time.time() - t_start, 1)}
    out = pathlib.Path(results_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{tag}.json").write_text(json.dumps(report, indent=2) + "\n")
    (out / f"{tag}.md").write_text(write_markdown(report))
    return report


def _report_boards():
    from boards.platforms import BOARDS
    from .resources import BOARD_BUDGETS
    return tuple(sorted(set(BOARDS) & set(BOARD_BUDGETS)))


#: Boards a report can fold for and synthesise (a synthesis target with a resource budget).
REPORT_BOARDS = _report_boards()


def _check_doors(boards, results_dir, rtl_images):
    """What the end of a long run needs, checked before its first step."""
    for b in boards:
        if b not in REPORT_BOARDS:
            raise IRError(f"unknown board {b!r}; a report folds and synthesises for "
                          f"{', '.join(REPORT_BOARDS)}")
    if rtl_images is not None and (isinstance(rtl_images, bool) or not isinstance(rtl_images, int)
                                   or rtl_images < 1):
        raise IRError(f"rtl_images must be a positive integer (None: the whole test set), got {rtl_images!r}")
    writable_dir(results_dir, "results directory")


def _hardware(qnet, x_tr, x_te, bdir, *, lanes, boards, simulator, harness, rtl_images,
              stream_images, curve, progress):
    """Fold or plan the design for each board, measure it in RTL, synthesise it: the report's
    hardware fields (``design``: the primary design's, merged into the top level)."""
    plan_spec = balance_lanes(qnet, x_tr) if lanes == "auto" else lanes
    progress.step("fold the design for each board" if plan_spec is None else "plan the design")
    designs, of_board = report_hw.choose_designs(qnet, x_tr, plan_spec, boards)
    n_rtl = len(x_te) if rtl_images is None else min(int(rtl_images), len(x_te))
    measured = {}
    for key, design in designs.items():
        sub = bdir if len(designs) == 1 else bdir / key
        progress.step(f"generate Verilog ({key}: lanes {list(design['plan'].lanes)})")
        measured[key] = report_hw.measure_design(
            qnet, design["plan"], x_te[:n_rtl], sub, simulator, stream_images,
            report_hw.FAMILY.get(key, "ice40" if key == "manual" else "ecp5"), progress, harness)
    primary = next(iter(designs))
    out = {"design": {"design_for": primary,
                      **{k: v for k, v in measured[primary].items() if not k.startswith("_")}},
           "folding": {key: d["fold"].as_dict() for key, d in designs.items() if d["fold"] is not None},
           "boards": {}}
    for board in boards:
        key = of_board[board]
        sub = bdir if len(designs) == 1 else bdir / key
        out["boards"][board] = report_hw.board_section(qnet, designs[key]["plan"], board, sub,
                                                       measured[key], progress)
    if curve and boards:
        board = boards[0]
        fold_result = designs[of_board[board]]["fold"]
        if fold_result is not None:
            progress.step(f"latency vs resources on {board}: the fold's path")
            out["latency_vs_resources"] = {"board": board, "points": report_hw.latency_curve(
                qnet, fold_result, x_te[:n_rtl], bdir / "curve", board, simulator, progress=progress,
                harness=harness)}
    return out


def write_markdown(r):
    """A human-readable version of a report dict."""
    lines = [f"# {r['model']} — {r['coding']} coding", "",
             f"Data: {r['dataset']} ({r['split']['train']} train / {r['split']['test']} test, "
             f"`{r['split']['rule']}`).", "",
             "| metric | value |", "|---|---|"]
    for key in ("accuracy_float", "accuracy_quant", "accuracy_snn", "timesteps", "rtl_simulator", "rtl_harness",
                "mean_exit_step", "rtl_images", "rtl_mismatches", "spikes_per_image",
                "synaptic_ops_per_image", "spike_ops_per_image", "ann_macs_per_image", "synaptic_ops_vs_ann_macs", "cycles_per_image",
                "predicted_cycles_per_image", "event_bound_cycles", "cycles_over_event_bound",
                "bram_bound_cycles", "cycles_over_bram_bound", "stream_images", "stream_mismatches",
                "stream_cycles_per_image", "sequential_cycles_per_image", "streaming_throughput_gain"):
        lines.append(f"| `{key}` | {r.get(key)} |")
    rate_rows = r.get("rate_accuracy_vs_timesteps") or r.get("accuracy_vs_timesteps") or []
    lines += CHOICES[r["coding"]].coding.report_markdown(r)
    lines += ["", "## Rate coding: accuracy vs timesteps (golden model, test set)", "",
              "| T | accuracy | spikes/image | synaptic ops/image | ops if input re-applied each step |",
              "|---|---|---|---|---|"]
    for row in rate_rows:
        lines.append(f"| {row['timesteps']} | {row['accuracy_snn']} | {row['spikes_per_image']} | "
                     f"{row['synaptic_ops_per_image']} | {row['synaptic_ops_input_every_step']} |")
    lines += _hardware_markdown(r)
    return "\n".join(lines) + "\n"


def _hardware_markdown(r):
    """The design, the fold, synthesis per board and per layer, and the latency curve."""
    lines = ["", f"## Design ({r['design_for']})", "",
             "| layer | in | out | lanes | weights | membranes | multipliers | acc bits | threshold |",
             "|---|---|---|---|---|---|---|---|---|"]
    for l in r["layers"]:
        lines.append(f"| {l['name']} | {l['n_in']} | {l['n_out']} | {l['lanes']} | {l.get('weights')} | "
                     f"{l.get('membranes')} | {l.get('multipliers')} | {l['acc_bits']} | {l['threshold']} |")
    for key, f in r.get("folding", {}).items():
        best = f["best"]
        lines += ["", f"Folded for {f['board']}: lanes {best['lanes']}, predicted "
                  f"{best['predicted_cycles_per_image']} cycles/image; binding resource "
                  f"{best['binding_resource']} ({f['stopped_by']}); "
                  f"{len(f['path'])} points on the path."]
    if r["boards"]:
        lines += ["", "## Synthesis (YoWASP Yosys + nextpnr, core + board top)", "",
                  "| board | device | LUT | FF | logic cells (predicted) | BRAM (pred.) | SPRAM | DSP | "
                  "Fmax MHz | clock MHz (source) | latency µs at clock | cycles/image | timing met | fits |",
                  "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
        for name, b in r["boards"].items():
            pred = b.get("predicted", {})
            clock = (f"{round(b['clock_mhz'], 3)} ({b['clock_source']})" if "clock_source" in b
                     else b.get("clock_mhz"))
            lines.append(f"| {name} | {b.get('device')} | {b.get('lut')} | {b.get('ff')} | "
                         f"{b.get('logic_cells')}/{b.get('logic_cells_available')} ({pred.get('logic_cells')}) | "
                         f"{b.get('bram')}/{b.get('bram_available')} ({pred.get('bram')}) | "
                         f"{b.get('spram')} | {b.get('dsp')}/{b.get('dsp_available')} | {b.get('fmax_mhz')} | "
                         f"{clock} | {b.get('latency_us_at_clock')} | {b['design']['cycles_per_image']} | "
                         f"{b.get('timing_met')} | {b.get('fits')} |")
        for name, b in r["boards"].items():
            if not b.get("layers"):
                continue
            lines += ["", f"Per layer on {name}, predicted / synthesised (each engine by Yosys on its own):", "",
                      "| layer | lanes | weights | membranes | multipliers | LUT | FF | carry | BRAM | SPRAM | DSP |",
                      "|---|---|---|---|---|---|---|---|---|---|---|"]
            for row in b["layers"]:
                p, s_ = row["predicted"], row["synthesised"] or {}
                cells = " | ".join(f"{p[f]} / {s_.get(f)}" for f in ("lut", "ff", "carry", "bram", "spram", "dsp"))
                lines.append(f"| {row['layer']} | {row['lanes']} | {row['weights']} | {row['membranes']} | "
                             f"{row['multipliers']} | {cells} |")
    curve = r.get("latency_vs_resources")
    if curve:
        lines += ["", f"## Latency vs resources on {curve['board']} (the fold's path)", "",
                  "| lanes | predicted cycles | measured cycles | predicted LC / BRAM / DSP | "
                  "synthesised LC / BRAM / DSP | clock MHz | latency µs at clock |",
                  "|---|---|---|---|---|---|---|"]
        for p in curve["points"]:
            pr, sy = p["predicted_resources"], p.get("synthesised") or {}
            lines.append(f"| {p['lanes']} | {p['predicted_cycles_per_image']} | "
                         f"{p.get('measured_cycles_per_image', '')} | "
                         f"{pr['logic_cells']} / {pr['bram']} / {pr['dsp']} | "
                         + (f"{sy.get('logic_cells')} / {sy.get('bram')} / {sy.get('dsp')} | "
                            f"{sy.get('clock_mhz')} | {sy.get('latency_us_at_clock')} |" if sy else "| | |"))
    return lines
