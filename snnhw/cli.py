"""The ``snnhw`` command: convert, build, sim, synth, report."""

import json
import pathlib
import sys

import click
import numpy as np

from .ir import IRError
from .passes.choose import CODING_CHOICES

DEFAULT_MODEL = "digits_mlp"


class _Progress:
    """Step-by-step progress on stderr (rich), used by long commands."""

    def __init__(self, console):
        self.console = console
        self.status = None
        self.n = 0

    def __enter__(self):
        self.status = self.console.status("starting")
        self.status.__enter__()
        return self

    def __exit__(self, *exc):
        self.status.__exit__(*exc)
        return False

    def step(self, text):
        self.n += 1
        self.console.log(f"[{self.n}] {text}")
        self.status.update(text)


def _console():
    from rich.console import Console
    return Console(stderr=True)


def _fail(msg):
    raise click.ClickException(msg)


def _load_qnet(path):
    from .ir import QuantNetwork
    p = pathlib.Path(path)
    if p.is_dir():
        p = p / "qnet.json"
    return QuantNetwork.load(p)


@click.group()
@click.version_option(package_name="snnhw")
def main():
    """snnhw: trained ReLU network → spiking network → bit-exact FPGA hardware."""


model_opt = click.option("--model", default=DEFAULT_MODEL, show_default=True,
                         help="Bundled model name, a .py file with build_model(), or a pickled .pt module.")
weights_opt = click.option("--weights", default=None, help="State dict for a .py model.")
coding_opt = click.option("--coding", type=click.Choice(CODING_CHOICES), default="rate", show_default=True,
                          help="adafire: burst coding with per-layer Γ and ρ searched on calibration "
                               "data (AdaFire + SSC), IAT early exit on by default.")
steps_opt = click.option("--timesteps", "-T", type=int, default=None, help="Rate coding: steps per inference.")


def quant_opts(f):
    """Quantisation options shared by convert and report."""
    f = click.option("--percentile", type=float, default=99.9, show_default=True,
                     help="Calibration percentile (100 = max).")(f)
    f = click.option("--input-bits", type=int, default=8, show_default=True)(f)
    f = click.option("--weight-bits", type=int, default=8, show_default=True)(f)
    return f


def phase_opts(f):
    """Single-spike and burst coding options (missing window/base are searched on calibration data)."""
    f = click.option("--iat/--no-iat", default=None,
                     help="IAT early exit, calibrated on data (default: on for adafire only).")(f)
    f = click.option("--refine-thresholds/--no-refine-thresholds", default=False, show_default=True,
                     help="AdaFire: refine per-channel thresholds (MSE grid search, folded into the weights).")(f)
    f = click.option("--ssc/--no-ssc", default=True, show_default=True,
                     help="AdaFire: also search the SSC threshold multipliers ρ_l.")(f)
    f = click.option("--max-burst", type=int, default=None,
                     help="Burst: most spikes per neuron and step, a power of two (default 4); "
                          "adafire: the plain-burst Γ it is held against.")(f)
    f = click.option("--negative-spikes/--no-negative-spikes", default=None,
                     help="Single-spike: encode negative values (default: if inputs are signed).")(f)
    f = click.option("--threshold-shift/--no-threshold-shift", default=True, show_default=True,
                     help="Single-spike: midpoint comparison levels.")(f)
    f = click.option("--base", type=float, default=None, help="Single-spike: base B > 1.")(f)
    f = click.option("--window", type=int, default=None, help="Single-spike: steps per window.")(f)
    return f
harness_opt = click.option("--harness", type=click.Choice(["fast", "cocotb"]), default="fast",
                           show_default=True,
                           help="RTL harness: the simulator runs the host protocol free (fast) "
                                "or under cocotb; both measure the same numbers.")
lanes_opt = click.option("--lanes", default="1", show_default=True,
                         help="Synapse lanes: one power of two, one per layer (e.g. 2,1), or "
                              "'auto' (balance the layer engines on calibration data, up to 4).")


def _lanes(text, qnet=None, dataset="digits"):
    if text == "auto":
        from .build import balance_lanes
        from .data import load_dataset
        return balance_lanes(qnet, load_dataset(dataset)[0])
    try:
        vals = tuple(int(v) for v in text.split(","))
    except ValueError:
        _fail(f"--lanes: expected integers separated by commas or 'auto', got {text!r}")
    return vals[0] if len(vals) == 1 else vals


@main.command()
@model_opt
@weights_opt
@coding_opt
@steps_opt
@phase_opts
@quant_opts
@click.option("-o", "--out", default=None, help="Output directory (default build/<model>-<coding>).")
def convert(model, weights, coding, timesteps, window, base, threshold_shift, negative_spikes,
            max_burst, ssc, refine_thresholds, iat, weight_bits, input_bits, percentile, out):
    """Convert a torch model into a quantised SNN (qnet.json + qnet.npz)."""
    from . import golden
    from .data import load_dataset
    from .frontend import from_torch
    from .models import load_torch_model
    from .passes import calibrate_early_exit, choose_coding, convert as convert_net

    try:
        module, name, dataset = load_torch_model(model, weights)
        x_tr, y_tr, x_te, y_te = load_dataset(dataset)
        net = from_torch(module, name=name)
        opts = dict(weight_bits=weight_bits, input_bits=input_bits, percentile=percentile)
        cfg, _ = choose_coding(coding, net, x_tr, y_tr, timesteps=timesteps, window=window,
                               base=base, threshold_shift=threshold_shift,
                               negative_spikes=negative_spikes, max_burst=max_burst, ssc=ssc,
                               refine=refine_thresholds, **opts)
        qnet = convert_net(net, x_tr, cfg, **opts)
        if iat or (iat is None and coding == "adafire"):
            qnet, _ = calibrate_early_exit(qnet, x_tr)
    except IRError as e:
        _fail(str(e))
    out = pathlib.Path(out or f"build/{name}-{coding}")
    path = qnet.save(out / "qnet.json")
    g = golden.run(qnet, x_te)
    acc = {"accuracy_float": float(np.mean(net.forward(x_te).argmax(1) == y_te)),
           "accuracy_quant": float(np.mean(golden.quant_ann_logits(qnet, x_te).argmax(1) == y_te)),
           "accuracy_snn": float(np.mean(g.predicted == y_te)),
           "spikes_per_image": float(g.spikes.mean()),
           "synaptic_ops_per_image": float(g.synaptic_ops.mean()),
           "mean_exit_step": float(g.exit_step.mean())}
    click.echo(f"wrote {path} ({qnet.coding})")
    click.echo(json.dumps({k: round(v, 4) for k, v in acc.items()}))


@main.command()
@click.argument("qnet", default=f"build/{DEFAULT_MODEL}-rate")
@lanes_opt
@click.option("-o", "--out", default=None, help="Output directory (default: beside QNET).")
def build(qnet, lanes, out):
    """Generate Verilog + manifest.json from a quantised network (file or directory)."""
    from .build import build as build_design

    try:
        q = _load_qnet(qnet)
        out = pathlib.Path(out) if out else (pathlib.Path(qnet) if pathlib.Path(qnet).is_dir()
                                            else pathlib.Path(qnet).parent)
        res = build_design(q, out, lanes=_lanes(lanes, q))
    except IRError as e:
        _fail(str(e))
    click.echo(f"wrote {res.verilog} and {res.manifest}")


@main.command()
@click.argument("qnet", default=f"build/{DEFAULT_MODEL}-rate")
@lanes_opt
@click.option("--simulator", type=click.Choice(["verilator", "icarus"]), default="verilator", show_default=True)
@harness_opt
@click.option("--images", type=int, default=50, show_default=True, help="Test images to replay.")
@click.option("--dataset", default="digits", show_default=True)
@click.option("--stream", is_flag=True, help="Send the images back to back (layer pipelining).")
def sim(qnet, lanes, simulator, harness, images, dataset, stream):
    """Replay test images on the generated RTL and compare with the golden model."""
    from .build import build as build_design, event_bound, write_vectors
    from .data import load_dataset
    from .sim import simulate_rtl

    try:
        q = _load_qnet(qnet)
    except IRError as e:
        _fail(str(e))
    d = pathlib.Path(qnet) if pathlib.Path(qnet).is_dir() else pathlib.Path(qnet).parent
    lanes = _lanes(lanes, q, dataset)
    with _Progress(_console()) as prog:
        prog.step("generate Verilog")
        res = build_design(q, d, lanes=lanes)
        _, _, x_te, _ = load_dataset(dataset)
        g = write_vectors(q, x_te[:images], d / "vectors.npz")
        prog.step(f"simulate {images} images on {simulator} ({harness} harness)")
        run = simulate_rtl(res.verilog, res.manifest, d / "vectors.npz", d / f"sim_{simulator}",
                           simulator, mode="stream" if stream else "sequential", harness=harness)
    bound = event_bound(q, g, lanes)
    click.echo(json.dumps({"simulator": simulator, "harness": harness, "rtl_images": run.images,
                           "rtl_mismatches": len(run.mismatches), "passed": run.passed,
                           "mode": run.mode, "total_cycles": run.total_cycles,
                           # streamed: throughput (total / images); each image's own latency
                           # includes its wait behind the images before it
                           "cycles_per_image": (run.total_cycles / max(1, run.images) if stream
                                                else float(run.cycles.mean())),
                           "latency_cycles_mean": float(run.cycles.mean()),
                           "event_bound_cycles": float(bound.mean())}))
    if not run.passed:
        sys.exit(1)


@main.command()
@click.argument("qnet", default=f"build/{DEFAULT_MODEL}-rate")
@lanes_opt
@click.option("--board", type=click.Choice(["icebreaker", "ulx3s"]), multiple=True,
              default=("icebreaker", "ulx3s"), show_default=True)
def synth(qnet, lanes, board):
    """Synthesise, place and route the design (core + UART host link) with YoWASP."""
    from .hw.accelerator import SNNAccelerator
    from .synth import synthesize

    try:
        q = _load_qnet(qnet)
        lanes = _lanes(lanes, q)
        SNNAccelerator(q, lanes=lanes)   # validate before the long run
    except IRError as e:
        _fail(str(e))
    d = pathlib.Path(qnet) if pathlib.Path(qnet).is_dir() else pathlib.Path(qnet).parent
    out = {}
    with _Progress(_console()) as prog:
        for b in board:
            prog.step(f"synthesise for {b}")
            out[b] = synthesize(lambda: SNNAccelerator(q, lanes=lanes), b, d / f"synth_{b}")
    click.echo(json.dumps(out, indent=2))


@main.command()
@model_opt
@weights_opt
@coding_opt
@steps_opt
@phase_opts
@lanes_opt
@quant_opts
@click.option("--simulator", type=click.Choice(["verilator", "icarus"]), default="verilator", show_default=True)
@harness_opt
@click.option("--rtl-images", type=int, default=None, help="Test images on the RTL (default: all).")
@click.option("--board", multiple=True, default=("icebreaker", "ulx3s"), show_default=True)
@click.option("--no-synth", is_flag=True, help="Skip synthesis.")
@click.option("--results", default="results", show_default=True)
def report(model, weights, coding, timesteps, window, base, threshold_shift, negative_spikes,
           max_burst, ssc, refine_thresholds, iat, lanes, weight_bits, input_bits, percentile, simulator, harness,
           rtl_images, board,
           no_synth, results):
    """Measure everything (accuracy, spikes, RTL cycles, resources) → results/<model>-<coding>.json/.md."""
    from .report import run_report

    try:
        with _Progress(_console()) as prog:
            r = run_report(model, coding, timesteps=timesteps, window=window, base=base,
                           threshold_shift=threshold_shift, negative_spikes=negative_spikes,
                           max_burst=max_burst, ssc=ssc, refine=refine_thresholds, iat=iat,
                           weight_bits=weight_bits,
                           input_bits=input_bits, percentile=percentile,
                           lanes=lanes if lanes == "auto" else _lanes(lanes),
                           simulator=simulator, harness=harness, rtl_images=rtl_images,
                           boards=() if no_synth else tuple(board), results_dir=results,
                           progress=prog, weights=weights)
    except IRError as e:
        _fail(str(e))
    keys = ("accuracy_float", "accuracy_quant", "accuracy_snn", "timesteps", "mean_exit_step",
            "rtl_images", "rtl_mismatches", "spikes_per_image", "synaptic_ops_per_image", "ann_macs_per_image",
            "cycles_per_image", "event_bound_cycles", "cycles_over_event_bound",
            "stream_cycles_per_image", "streaming_throughput_gain")
    for k in keys:
        click.echo(f"{k:>26}: {r[k]}")
    for b, s in r["boards"].items():
        click.echo(f"{b:>26}: LUT {s.get('lut')} FF {s.get('ff')} BRAM {s.get('bram')} "
                   f"DSP {s.get('dsp')} Fmax {s.get('fmax_mhz')} MHz latency {s.get('latency_us')} us")
    click.echo(f"wrote {results}/{r['model']}-{r['coding']}.json and .md")
    if r["rtl_mismatches"] or r["stream_mismatches"]:
        sys.exit(1)


if __name__ == "__main__":
    main()
