"""The benchmark report: accuracy, spikes, synaptic operations, RTL cycles, resources.

:func:`run_report` measures everything in one run and writes ``results/<model>-<coding>.json``
and ``.md``. Field names are stable (tools read them); new fields are only ever added.
"""

import json
import pathlib
import platform as _platform
import time

import numpy as np

from . import __version__, golden
from . import report_hw
from .build import balance_lanes
from .data import load_dataset
from .frontend import from_torch
from . import fixed
from .ir import BurstCoding, RateCoding
from .passes import (CODING_CHOICES, calibrate_early_exit, choose_coding, convert, search_adafire,
                     search_phase_coding)
from .passes.adafire import spike_ops
from .passes.early_exit import apply_exit, entropy_confidence

__all__ = ["run_report", "write_markdown", "DEFAULT_SWEEP"]

#: Timesteps of the accuracy-vs-T table.
DEFAULT_SWEEP = (1, 2, 4, 8, 16, 32, 64)
#: Timesteps of the burst / AdaFire / SSC / IAT side-by-side table (each point runs the searches).
BURST_SWEEP = (1, 2, 4, 8)


class _Quiet:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def step(self, text):
        pass

    def advance(self):
        pass


def _accuracy(pred, y):
    return round(float(np.mean(np.asarray(pred) == np.asarray(y))), 4)


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
    if coding not in CODING_CHOICES:
        raise ValueError(f"unknown coding {coding!r}; available: {', '.join(CODING_CHOICES)}")
    if iat is None:
        iat = coding == "adafire"
    t_start = time.time()
    progress.step("load model and data")
    module, name, dataset = load_torch_model(model, weights)
    x_tr, y_tr, x_te, y_te = load_dataset(dataset)
    net = from_torch(module, name=name)
    acc_float = _accuracy(net.forward(x_te).argmax(1), y_te)
    opts = dict(weight_bits=weight_bits, input_bits=input_bits, percentile=percentile)

    progress.step("choose coding parameters and quantise")
    cfg, search = choose_coding(coding, net, x_tr, y_tr, timesteps=timesteps, window=window,
                                base=base, threshold_shift=threshold_shift,
                                negative_spikes=negative_spikes, max_burst=max_burst, ssc=ssc,
                                refine=refine, **opts)
    qnet = convert(net, x_tr, cfg, **opts)
    exit_info = None
    if iat:
        progress.step("calibrate the IAT early exit")
        qnet, exit_info = calibrate_early_exit(qnet, x_tr)
    acc_quant = _accuracy(golden.quant_ann_logits(qnet, x_te).argmax(1), y_te)

    progress.step("golden model: accuracy tables")
    burst_family = coding in ("burst", "adafire")
    rate_rows = _rate_sweep(net, x_tr, x_te, y_te, sweep, opts,
                            extra=(cfg.timesteps,) if coding in ("rate", "burst", "adafire") else ())
    if burst_family:            # the same table for burst coding, rate's beside it
        gamma = max_burst or BurstCoding.max_burst
        burst_rows = _rate_sweep(net, x_tr, x_te, y_te, sweep, opts, extra=(cfg.timesteps,),
                                 make=lambda t: BurstCoding(t, gamma))
    extra = {}
    if coding == "single_spike":
        extra = _single_spike_tables(net, x_tr, y_tr, x_te, y_te, cfg, search, rate_rows, opts)
    if burst_family:
        progress.step("golden model: burst / AdaFire / SSC / IAT side by side")
        extra = _burst_family_tables(net, x_tr, y_tr, x_te, y_te, cfg, gamma, rate_rows, burst_rows,
                                     opts, qnet, exit_info, search if coding == "adafire" else None,
                                     refine, ssc)
    g = golden.run(qnet, x_te)
    ann_macs = int(sum(l.macs for l in qnet.layers))

    tag = f"{name}-{coding}"
    bdir = pathlib.Path(build_root) / tag
    plan_spec = balance_lanes(qnet, x_tr) if lanes == "auto" else lanes
    progress.step("fold the design for each board" if plan_spec is None else "plan the design")
    qnet = qnet.replace(calibration={**qnet.calibration, "dataset": dataset})
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
    main_design = {k: v for k, v in measured[primary].items() if not k.startswith("_")}
    report = {
        "model": name, "coding": coding, "dataset": dataset,
        "split": {"train": int(len(x_tr)), "test": int(len(x_te)),
                  "rule": "train_test_split(test_size=0.25, random_state=0, stratify=y)"},
        "accuracy_float": acc_float, "accuracy_quant": acc_quant,
        "accuracy_snn": _accuracy(g.predicted, y_te),
        "timesteps": cfg.window if coding == "single_spike" else cfg.timesteps,
        "mean_exit_step": round(float(g.exit_step.mean()), 4),
        "coding_config": {k: v for k, v in vars(cfg).items()},
        "weight_bits": weight_bits, "input_bits": input_bits, "percentile": percentile,
        "spikes_per_image": round(float(g.spikes.mean()), 2),
        "spike_ops_per_image": round(float(spike_ops(g, qnet).mean()), 2),
        "events_per_stream_per_image": [round(float(v), 2) for v in g.events.mean(axis=0)],
        "synaptic_ops_per_image": round(float(g.synaptic_ops.mean()), 2),
        "ann_macs_per_image": ann_macs,
        "synaptic_ops_vs_ann_macs": round(float(g.synaptic_ops.mean()) / ann_macs, 4),
        "design_for": primary,
        **main_design,
        "accuracy_vs_timesteps": (rate_rows if coding == "rate" else
                                  burst_rows if burst_family else None),
        **({"rate_accuracy_vs_timesteps": rate_rows} if burst_family else {}),
        **extra,
        "folding": {key: d["fold"].as_dict() for key, d in designs.items() if d["fold"] is not None},
        "boards": {},
    }
    for board in boards:
        key = of_board[board]
        sub = bdir if len(designs) == 1 else bdir / key
        report["boards"][board] = report_hw.board_section(qnet, designs[key]["plan"], board, sub,
                                                          measured[key], progress)
    if curve and boards:
        board = boards[0]
        fold_result = designs[of_board[board]]["fold"]
        if fold_result is not None:
            progress.step(f"latency vs resources on {board}: the fold's path")
            report["latency_vs_resources"] = {"board": board, "points": report_hw.latency_curve(
                qnet, fold_result, x_te[:n_rtl], bdir / "curve", board, simulator, progress=progress,
                harness=harness)}
    report["environment"] = {"snnhw": __version__, "python": _platform.python_version(),
                             "machine": _platform.machine(), "seconds": round(time.time() - t_start, 1)}
    out = pathlib.Path(results_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{tag}.json").write_text(json.dumps(report, indent=2) + "\n")
    (out / f"{tag}.md").write_text(write_markdown(report))
    return report


def _rate_sweep(net, x_tr, x_te, y_te, sweep, opts, extra=(), make=RateCoding):
    """Rate coding on the golden model for every ``T``: accuracy, spikes, synaptic operations
    (input current computed once, as snnhw builds it) and the operations of a rate SNN that
    re-applies the input current every step (SpikingJelly-style converters)."""
    rows = []
    for t in sorted(set(sweep) | set(extra)):
        q = convert(net, x_tr, make(t), **opts)
        r = golden.run(q, x_te)
        input_ops = r.source_events[0] @ q.layers[0].fan_out()
        per_step_input = r.synaptic_ops + (t - 1) * input_ops
        rows.append({"timesteps": t, "accuracy_snn": _accuracy(r.predicted, y_te),
                     "spikes_per_image": round(float(r.spikes.mean()), 2),
                     "synaptic_ops_per_image": round(float(r.synaptic_ops.mean()), 2),
                     "synaptic_ops_input_every_step": round(float(per_step_input.mean()), 2)})
    return rows


def _golden_row(q, x_te, y_te):
    r = golden.run(q, x_te)
    return {"accuracy_snn": _accuracy(r.predicted, y_te),
            "spikes_per_image": round(float(r.spikes.mean()), 2),
            "synaptic_ops_per_image": round(float(r.synaptic_ops.mean()), 2),
            "spike_ops_per_image": round(float(spike_ops(r, q).mean()), 2),
            "mean_exit_step": round(float(r.exit_step.mean()), 4)}


def _exit_rows(q, exit_info, x_te, y_te):
    """The integer IAT rule (golden model, as built) and the paper's float entropy rule."""
    full = golden.run(q.replace(early_exit=None), x_te, record_steps=True)
    pred = fixed.argmax_lowest(full.potentials_per_step, axis=2)
    conf = entropy_confidence(full.potentials_per_step, q.layers[-1].threshold)
    f_steps, f_pred = apply_exit(conf, pred, exit_info["entropy_thresholds"])
    integer = _golden_row(q, x_te, y_te)
    steps = q.coding.timesteps
    return {
        "integer_rule": integer,
        "float_entropy_rule": {"accuracy_snn": _accuracy(f_pred, y_te),
                               "mean_exit_step": round(float(f_steps.mean()), 4)},
        "no_exit": {"accuracy_snn": _accuracy(full.predicted, y_te), "mean_exit_step": steps,
                    "synaptic_ops_per_image": round(float(full.synaptic_ops.mean()), 2)},
        "steps_cut": round(1 - integer["mean_exit_step"] / steps, 4),
        "accuracy_cost": round(_accuracy(full.predicted, y_te) - integer["accuracy_snn"], 4),
    }


def _burst_family_tables(net, x_tr, y_tr, x_te, y_te, cfg, gamma, rate_rows, burst_rows, opts,
                         qnet, exit_info, search, refine=False, ssc=True):
    """Rate, burst, AdaFire, AdaFire + SSC and + IAT side by side, and the headline comparison
    of the built design's ``T``."""
    t_built = cfg.timesteps
    rate_by_t = {row["timesteps"]: row for row in rate_rows}
    # the built design's own search result stands for its row (the same search, not run twice)
    searched = {("adafire_ssc" if ssc else "adafire", t_built): cfg} if search is not None else {}
    side = []
    for t in sorted(set(BURST_SWEEP) | {t_built}):
        row = {"timesteps": t}
        if t in rate_by_t:
            row["rate"] = {k: rate_by_t[t][k] for k in ("accuracy_snn", "spikes_per_image",
                                                         "synaptic_ops_per_image")}
        row["burst"] = _golden_row(convert(net, x_tr, BurstCoding(t, gamma), **opts), x_te, y_te)
        for name, rhos in (("adafire", (1,)), ("adafire_ssc", None)):
            c = searched.get((name, t))
            if c is None:
                c, _ = search_adafire(net, x_tr, y_tr, t, baseline_burst=gamma, rhos=rhos, refine=refine,
                                      **opts)
            q = convert(net, x_tr, c, **opts)
            row[name] = dict(_golden_row(q, x_te, y_te), max_burst=list(c.max_burst),
                             compression=list(c.compression))
            if name == "adafire_ssc" and t > 1:
                qe, info = calibrate_early_exit(q, x_tr)
                rows = _exit_rows(qe, info, x_te, y_te)
                row["adafire_ssc_iat"] = dict(rows["integer_rule"],
                                              float_rule_accuracy=rows["float_entropy_rule"]["accuracy_snn"],
                                              float_rule_mean_exit_step=rows["float_entropy_rule"]["mean_exit_step"])
        side.append(row)

    built = next(row for row in side if row["timesteps"] == t_built)
    burst, ada = built["burst"], built["adafire_ssc"]
    # the other setting of the per-channel threshold refinement, for comparison
    c, _ = search_adafire(net, x_tr, y_tr, t_built, baseline_burst=gamma, refine=not refine, **opts)
    other = dict(_golden_row(convert(net, x_tr, c, **opts), x_te, y_te), max_burst=list(c.max_burst),
                 compression=list(c.compression), refine_thresholds=not refine)
    reach = [row for row in rate_rows if row["accuracy_snn"] >= burst["accuracy_snn"]]
    out = {
        "accuracy_vs_timesteps_side_by_side": side,
        "burst_comparison": {
            "timesteps": t_built, "baseline_max_burst": gamma,
            "burst": burst, "adafire_ssc": ada, "refine_thresholds": refine,
            ("adafire_ssc_refined" if not refine else "adafire_ssc_unrefined"): other,
            "synaptic_ops_cut": round(1 - ada["synaptic_ops_per_image"] / burst["synaptic_ops_per_image"], 4),
            "spike_ops_cut": round(1 - ada["spike_ops_per_image"] / max(burst["spike_ops_per_image"], 1e-9), 4),
            "accuracy_cost": round(burst["accuracy_snn"] - ada["accuracy_snn"], 4),
            "rate_timesteps_for_burst_accuracy": (min(r["timesteps"] for r in reach) if reach else None),
            "rate_over_burst_timesteps": (round(min(r["timesteps"] for r in reach) / t_built, 3)
                                          if reach else None),
        },
    }
    if search is not None:
        out["adafire"] = {"max_burst": list(cfg.max_burst) if isinstance(cfg.max_burst, tuple) else cfg.max_burst,
                          "compression": (list(cfg.compression) if isinstance(cfg.compression, tuple)
                                          else cfg.compression),
                          "search": search}
    if exit_info is not None:
        out["early_exit"] = dict(exit_info, **_exit_rows(qnet, exit_info, x_te, y_te))
    return out


def _single_spike_tables(net, x_tr, y_tr, x_te, y_te, cfg, search, rate_rows, opts):
    """(base, window) table with threshold shift on and off, and the rate baseline."""
    tables = {}
    for shift in (True, False):
        _, pts = search_phase_coding(net, x_tr, y_tr, threshold_shift=shift,
                                     negative_spikes=cfg.negative_spikes, x_eval=x_te, y_eval=y_te,
                                     **opts)
        tables[shift] = pts
    on = {(p["base"], p["window"]): p for p in tables[True]}
    off = {(p["base"], p["window"]): p for p in tables[False]}
    chosen = (cfg.base, cfg.window)
    q = convert(net, x_tr, cfg, **opts)
    r = golden.run(q, x_te)
    acc = _accuracy(r.predicted, y_te)
    ops = float(r.synaptic_ops.mean())
    # rate baseline at equal accuracy: the fewest timesteps reaching it (else the best rate point)
    reach = [row for row in rate_rows if row["accuracy_snn"] >= acc]
    base_row = min(reach, key=lambda row: row["timesteps"]) if reach else max(
        rate_rows, key=lambda row: row["accuracy_snn"])
    return {
        "coding_search": {"selected": {"base": cfg.base, "window": cfg.window,
                                       "by": "calibration accuracy, then agreement with and "
                                             "output error vs the quantised ANN"}
                          if search else {"base": cfg.base, "window": cfg.window, "by": "user"}},
        "accuracy_vs_base_window": tables[True] + tables[False],
        "threshold_shift_effect": {
            "best_test_accuracy_with_shift": max(p["accuracy_test"] for p in tables[True]),
            "best_test_accuracy_without_shift": max(p["accuracy_test"] for p in tables[False]),
            "mean_test_accuracy_with_shift": round(float(np.mean([p["accuracy_test"] for p in tables[True]])), 4),
            "mean_test_accuracy_without_shift": round(float(np.mean([p["accuracy_test"] for p in tables[False]])), 4),
            "points_better_with_shift": sum(on[k]["accuracy_test"] > off[k]["accuracy_test"] for k in on if k in off),
            "points_better_without_shift": sum(on[k]["accuracy_test"] < off[k]["accuracy_test"] for k in on if k in off),
            "calibration_points_better_with_shift": sum(
                on[k]["accuracy_calibration"] > off[k]["accuracy_calibration"] for k in on if k in off),
            "calibration_points_better_without_shift": sum(
                on[k]["accuracy_calibration"] < off[k]["accuracy_calibration"] for k in on if k in off),
            "mean_calibration_accuracy_with_shift": round(float(np.mean([p["accuracy_calibration"] for p in tables[True]])), 4),
            "mean_calibration_accuracy_without_shift": round(float(np.mean([p["accuracy_calibration"] for p in tables[False]])), 4),
            "test_images": int(len(y_te)),
            "at_selected_with_shift": on.get(chosen, {}).get("accuracy_test"),
            "at_selected_without_shift": off.get(chosen, {}).get("accuracy_test"),
        },
        "rate_baseline": dict(base_row, equal_accuracy=bool(reach),
                              ops_ratio_rate_over_single_spike=round(base_row["synaptic_ops_per_image"] / ops, 3),
                              ops_ratio_rate_input_every_step_over_single_spike=round(
                                  base_row["synaptic_ops_input_every_step"] / ops, 3)),
        "rate_accuracy_vs_timesteps": rate_rows,
    }


def _burst_markdown(r):
    c = r["burst_comparison"]
    lines = ["", f"## Burst (Γ = {c['baseline_max_burst']}) vs AdaFire + SSC at T = {c['timesteps']} "
             "(golden model, test set)", "",
             "| | accuracy | spikes/image | synaptic ops/image | spike-driven ops/image |", "|---|---|---|---|---|"]
    for name in ("burst", "adafire_ssc", "adafire_ssc_refined", "adafire_ssc_unrefined"):
        if name not in c:
            continue
        row = c[name]
        lines.append(f"| {name} | {row['accuracy_snn']} | {row['spikes_per_image']} | "
                     f"{row['synaptic_ops_per_image']} | {row['spike_ops_per_image']} |")
    lines += ["", f"AdaFire + SSC: synaptic ops cut {c['synaptic_ops_cut']}, spike-driven ops cut "
              f"{c['spike_ops_cut']}, accuracy cost {c['accuracy_cost']}. Rate coding needs "
              f"T = {c['rate_timesteps_for_burst_accuracy']} for burst's accuracy "
              f"({c['rate_over_burst_timesteps']}× the timesteps)."]
    if "adafire" in r:
        lines += ["", f"AdaFire + SSC choice: Γ_l = {r['adafire']['max_burst']}, ρ_l = {r['adafire']['compression']}."]
    if "early_exit" in r:
        e = r["early_exit"]
        lines += ["", "## IAT early exit (test set)", "",
                  "| rule | accuracy | mean exit step |", "|---|---|---|",
                  f"| no exit | {e['no_exit']['accuracy_snn']} | {e['no_exit']['mean_exit_step']} |",
                  f"| integer margin (built) | {e['integer_rule']['accuracy_snn']} | {e['integer_rule']['mean_exit_step']} |",
                  f"| float entropy (reference) | {e['float_entropy_rule']['accuracy_snn']} | "
                  f"{e['float_entropy_rule']['mean_exit_step']} |", "",
                  f"Margins per step: {e['margins']}; steps cut {e['steps_cut']}, accuracy cost {e['accuracy_cost']}."]
    lines += ["", "## Accuracy vs timesteps: rate, burst, AdaFire, + SSC, + IAT (golden model, test set)", "",
              "| T | rate | burst | burst ops | AdaFire | AdaFire ops | +SSC | +SSC ops | Γ_l / ρ_l | +IAT | "
              "+IAT mean steps | float-rule IAT | float-rule steps |",
              "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for row in r["accuracy_vs_timesteps_side_by_side"]:
        rate = row.get("rate", {}).get("accuracy_snn", "")
        b, a, s = row["burst"], row["adafire"], row["adafire_ssc"]
        i = row.get("adafire_ssc_iat", {})
        lines.append(f"| {row['timesteps']} | {rate} | {b['accuracy_snn']} | {b['synaptic_ops_per_image']} | "
                     f"{a['accuracy_snn']} | {a['synaptic_ops_per_image']} | {s['accuracy_snn']} | "
                     f"{s['synaptic_ops_per_image']} | {s['max_burst']} / {s['compression']} | "
                     f"{i.get('accuracy_snn', '')} | {i.get('mean_exit_step', '')} | "
                     f"{i.get('float_rule_accuracy', '')} | {i.get('float_rule_mean_exit_step', '')} |")
    lines += ["", "## Burst coding: accuracy vs timesteps", "",
              "| T | accuracy | events/image | synaptic ops/image |", "|---|---|---|---|"]
    for row in r["accuracy_vs_timesteps"]:
        lines.append(f"| {row['timesteps']} | {row['accuracy_snn']} | {row['spikes_per_image']} | "
                     f"{row['synaptic_ops_per_image']} |")
    return lines


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
    if r["coding"] in ("burst", "adafire"):
        lines += _burst_markdown(r)
    if r["coding"] == "single_spike":
        sel = r["coding_search"]["selected"]
        lines += ["", f"Selected: base {sel['base']}, window {sel['window']} ({sel['by']}).", "",
                  "## Accuracy vs (base, window) (golden model)", "",
                  "| base | window | threshold shift | calibration acc | test acc | spikes/image | synaptic ops/image |",
                  "|---|---|---|---|---|---|---|"]
        for p in r["accuracy_vs_base_window"]:
            lines.append(f"| {p['base']} | {p['window']} | {p['threshold_shift']} | "
                         f"{p['accuracy_calibration']} | {p['accuracy_test']} | {p['spikes_per_image']} | "
                         f"{p['synaptic_ops_per_image']} |")
        lines += ["", "Threshold shift: " + ", ".join(f"{k} = {v}" for k, v in r["threshold_shift_effect"].items()),
                  "", "Rate baseline (snnhw rate coding, fewest T reaching this accuracy): "
                  + ", ".join(f"{k} = {v}" for k, v in r["rate_baseline"].items())]
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
