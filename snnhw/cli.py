"""The ``snnhw`` command: convert, build, sim, synth, report."""

import json
import os
import pathlib
import sys

import click
import numpy as np

from .codings import CHOICES
from .data import DATASETS
from .fixed import INPUT_BITS_RANGE, WEIGHT_BITS_RANGE
from .ir import IRError
from .passes.choose import CODING_CHOICES
from .report import REPORT_BOARDS
from .workdir import design_lock, writable_dir

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


class _Main(click.Group):
    """The command group: any exception a command does not turn into a message itself
    becomes one line and a hint (``--debug`` or ``SNNHW_DEBUG=1`` shows the traceback)."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except Exception as e:          # noqa: BLE001 — the last line of defence
            if ctx.params.get("debug") or os.environ.get("SNNHW_DEBUG"):
                raise
            text = str(e) if isinstance(e, IRError) else f"{type(e).__name__}: {e}"
            raise click.ClickException(f"{text}\n(an internal error if the message does not name "
                                       f"your input: rerun with snnhw --debug for the traceback)") \
                from None


@click.group(cls=_Main)
@click.version_option(package_name="snnhw")
@click.option("--debug", is_flag=True, help="Show the Python traceback of an unexpected error.")
def main(debug):
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
    f = click.option("--percentile", type=click.FloatRange(0, 100, min_open=True), default=99.9,
                     show_default=True, help="Calibration percentile (100 = max).")(f)
    f = click.option("--input-bits", type=click.IntRange(*INPUT_BITS_RANGE), default=8,
                     show_default=True)(f)
    f = click.option("--weight-bits", type=click.IntRange(*WEIGHT_BITS_RANGE), default=8,
                     show_default=True)(f)
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
PLACEMENT_CHOICES = {"weights": ("bram|spram|lut|auto", "spram,bram"),
                     "membranes": ("bram|ff|auto", "bram,ff"), "multipliers": ("dsp|lut|auto", "dsp,lut")}
harness_opt = click.option("--harness", type=click.Choice(["fast", "cocotb"]), default="fast",
                           show_default=True,
                           help="RTL harness: the simulator runs the host protocol free (fast) "
                                "or under cocotb; both measure the same numbers.")


def plan_opts(f):
    """The hardware plan: lanes by hand, a plan file, or folded for a board."""
    for name, (choices, example) in reversed(PLACEMENT_CHOICES.items()):
        f = click.option(f"--{name}", default=None, metavar=choices,
                         help=f"Where each layer's {name} go: one value or one per layer "
                              f"(e.g. {example}).")(f)
    f = click.option("--fold-clock-mhz", type=float, default=None,
                     help="With --target-latency-us: the clock the fold assumes (default 40 MHz "
                          "iCE40, 80 MHz ECP5).")(f)
    f = click.option("--target-latency-us", type=float, default=None,
                     help="With --fit: the cheapest folded design predicted to meet this latency.")(f)
    f = click.option("--fit", "fit", default=None, metavar="BOARD",
                     help="Fold for a board: the lanes and placements that minimise the "
                          "predicted cycles per image within its budget.")(f)
    f = click.option("--plan", "plan_file", default=None, type=click.Path(dir_okay=False),
                     help="A plan.json (lanes and placements per layer).")(f)
    f = click.option("--lanes", default=None,
                     help="Synapse lanes: one count for every layer (capped at its channels), one "
                          "per layer (e.g. 8,2), or 'auto' (balance the layer engines, up to 4). "
                          "Default: the design's plan.json if there is one, else 1.")(f)
    return f


def _split(name, text, n):
    vals = [v.strip() for v in text.split(",")]
    if len(vals) == 1:
        return vals * n
    if len(vals) != n:
        _fail(f"--{name}: got {len(vals)} values for {n} layers")
    return vals


def _calibration_inputs(q, dataset=None):
    from .data import load_dataset
    name = dataset or q.calibration.get("dataset", "digits")
    try:
        x = load_dataset(name)[0]
        q.quantise_input(x[:1])
    except (IRError, ValueError) as e:
        _fail(f"calibration data {name!r} for network {q.name!r}: {e}")
    return x


def _plan(q, lanes=None, plan_file=None, fit=None, target_latency_us=None, fold_clock_mhz=None,
          weights=None, membranes=None, multipliers=None, design_dir=None, dataset=None):
    """The :class:`~snnhw.plan.DesignPlan` the plan options ask for, and the fold (or None)."""
    from .plan import DesignPlan, LayerPlan

    chosen = [n for n, v in (("--lanes", lanes), ("--plan", plan_file), ("--fit", fit)) if v]
    if len(chosen) > 1:
        _fail(f"{' and '.join(chosen)} exclude each other: give one way to choose the lanes")
    if target_latency_us is not None and not fit:
        _fail("--target-latency-us needs --fit BOARD")
    if fold_clock_mhz is not None and target_latency_us is None:
        _fail("--fold-clock-mhz applies only with --target-latency-us")
    n = len(q.layers)
    fixed = {name: _split(name, v, n) for name, v in (("weights", weights), ("membranes", membranes),
                                                       ("multipliers", multipliers)) if v}
    if fit:
        from .passes.folding import fold
        result = fold(q, _calibration_inputs(q, dataset), fit, target_latency_us=target_latency_us,
                      clock_mhz=fold_clock_mhz, fixed=fixed)
        return result.best.plan, result
    if plan_file:
        plan = DesignPlan.of(q, DesignPlan.load(plan_file))
    elif lanes == "auto":
        from .generate import balance_lanes
        plan = DesignPlan.of(q, balance_lanes(q, _calibration_inputs(q, dataset)))
    elif lanes:
        try:
            vals = tuple(int(v) for v in lanes.split(","))
        except ValueError:
            _fail(f"--lanes: expected integers separated by commas or 'auto', got {lanes!r}")
        plan = DesignPlan.of(q, vals[0] if len(vals) == 1 else vals)
    elif design_dir is not None and (pathlib.Path(design_dir) / "plan.json").is_file():
        plan = DesignPlan.of(q, DesignPlan.load(pathlib.Path(design_dir) / "plan.json"))
    else:
        plan = DesignPlan.of(q, 1)
    for name, vals in fixed.items():
        plan = DesignPlan(tuple(LayerPlan(lp.lanes, **{**lp.__dict__, "lanes": lp.lanes, name: v})
                                for lp, v in zip(plan.layers, vals)))
    return DesignPlan.of(q, plan), None


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
        out = writable_dir(out or f"build/{name}-{coding}", "-o")    # before the long steps
        x_tr, y_tr, x_te, y_te = load_dataset(dataset)
        net = from_torch(module, name=name)
        opts = dict(weight_bits=weight_bits, input_bits=input_bits, percentile=percentile)
        cfg, _ = choose_coding(coding, net, x_tr, y_tr, timesteps=timesteps, window=window,
                               base=base, threshold_shift=threshold_shift,
                               negative_spikes=negative_spikes, max_burst=max_burst, ssc=ssc,
                               refine=refine_thresholds, **opts)
        qnet = convert_net(net, x_tr, cfg, **opts)
        qnet = qnet.replace(calibration={**qnet.calibration, "dataset": dataset})
        if iat or (iat is None and CHOICES[coding].early_exit):
            qnet, _ = calibrate_early_exit(qnet, x_tr)
    except IRError as e:
        _fail(str(e))
    with design_lock(out, on_wait=click.echo):
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


def _design_dir(qnet):
    p = pathlib.Path(qnet)
    return p if p.is_dir() else p.parent


@main.command()
@click.argument("qnet", default=f"build/{DEFAULT_MODEL}-rate")
@plan_opts
@click.option("-o", "--out", default=None, help="Output directory (default: beside QNET).")
def build(qnet, out, **plan_options):
    """Generate Verilog + manifest.json + plan.json from a quantised network (file or directory)."""
    from .generate import build as build_design

    try:
        q = _load_qnet(qnet)
        out = writable_dir(out, "-o") if out else _design_dir(qnet)
        plan, folded = _plan(q, design_dir=out, **plan_options)
        with design_lock(out, on_wait=click.echo):
            res = build_design(q, out, lanes=plan)
            plan.save(out / "plan.json")
            if folded is not None:
                (out / "fold.json").write_text(json.dumps(folded.as_dict(), indent=2) + "\n")
    except IRError as e:
        _fail(str(e))
    for line, lp in zip(plan.describe(), q.layers):
        click.echo(f"layer {lp.name}: {line}")
    if folded is not None:
        best = folded.best
        click.echo(f"folded for {folded.board}: predicted {best.cycles:.0f} cycles/image, "
                   f"binding {best.binding} ({folded.stopped_by})")
    click.echo(f"wrote {res.verilog}, {res.manifest} and {out / 'plan.json'}")


@main.command()
@click.argument("qnet", default=f"build/{DEFAULT_MODEL}-rate")
@plan_opts
@click.option("--simulator", type=click.Choice(["verilator", "icarus"]), default="verilator", show_default=True)
@harness_opt
@click.option("--images", type=click.IntRange(min=1), default=50, show_default=True,
              help="Test images to replay.")
@click.option("--dataset", type=click.Choice(DATASETS), default="digits", show_default=True,
              help="Bundled data set whose test images are replayed (digits_mlp784: digits28).")
@click.option("--stream", is_flag=True, help="Send the images back to back (layer pipelining).")
def sim(qnet, simulator, harness, images, dataset, stream, **plan_options):
    """Replay test images on the generated RTL and compare with the golden model."""
    from .generate import build as build_design, event_bound, write_vectors
    from .data import load_dataset
    from .sim import simulate_rtl

    try:
        q = _load_qnet(qnet)
    except IRError as e:
        _fail(str(e))
    try:
        codes = q.quantise_input(load_dataset(dataset)[2][:images])
    except IRError as e:
        _fail(f"--dataset {dataset}: {e}")
    d = _design_dir(qnet)
    try:
        lanes, _ = _plan(q, design_dir=d, dataset=dataset, **plan_options)
    except IRError as e:
        _fail(str(e))
    with _Progress(_console()) as prog, design_lock(d, on_wait=prog.step):
        prog.step("generate Verilog")
        res = build_design(q, d, lanes=lanes)
        g = write_vectors(q, codes, d / "vectors.npz", x_is_codes=True)
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


class _ClockParam(click.ParamType):
    """``--clock``: ``max`` (highest PLL frequency that meets timing), ``board`` (the
    oscillator) or a PLL frequency in MHz."""
    name = "max|board|MHz"

    def convert(self, value, param, ctx):
        if not isinstance(value, str):
            return value
        if value in ("max", "board"):
            return "max" if value == "max" else None
        try:
            mhz = float(value)
        except ValueError:
            mhz = float("nan")
        if not 0 < mhz < float("inf"):
            self.fail(f"expected 'max', 'board' or a frequency in MHz, got {value!r}", param, ctx)
        return mhz


@main.command()
@click.argument("qnet", default=f"build/{DEFAULT_MODEL}-rate")
@plan_opts
@click.option("--board", type=click.Choice(["icebreaker", "ulx3s"]), multiple=True,
              default=("icebreaker", "ulx3s"), show_default=True)
@click.option("--clock", type=_ClockParam(), default="max", show_default=True,
              help="max: the highest PLL frequency that meets timing; board: the board "
                   "oscillator; a number: the PLL at the highest frequency at or below it (MHz).")
def synth(qnet, board, clock, **plan_options):
    """Synthesise, place and route the design (core + UART host link) with YoWASP."""
    from boards.platforms import get_board
    from .hw.accelerator import SNNAccelerator
    from .synth import check_clock, synthesize

    try:
        q = _load_qnet(qnet)
        lanes, _ = _plan(q, design_dir=_design_dir(qnet), **plan_options)
        SNNAccelerator(q, lanes=lanes)   # validate before the long run
        for b in board:
            check_clock(clock, get_board(b))
    except (IRError, ValueError) as e:
        _fail(str(e))
    d = pathlib.Path(qnet) if pathlib.Path(qnet).is_dir() else pathlib.Path(qnet).parent
    out = {}
    with _Progress(_console()) as prog, design_lock(d, on_wait=prog.step):
        for b in board:
            prog.step(f"synthesise for {b}")
            out[b] = synthesize(lambda: SNNAccelerator(q, lanes=lanes), b, d / f"synth_{b}",
                                clock=clock, log=_clock_log(prog))
    click.echo(json.dumps(out, indent=2))


def _clock_log(prog):
    """Shows the clock search's steps as progress lines."""
    def log(message):
        if message.startswith("clock search:"):
            prog.console.log(message)
    return log


@main.command()
@model_opt
@weights_opt
@coding_opt
@steps_opt
@phase_opts
@click.option("--lanes", default=None,
              help="One design for every board: lanes (one count, one per layer, or 'auto'). "
                   "Default: each board gets the design folded for it.")
@click.option("--plan", "plan_file", default=None, type=click.Path(dir_okay=False),
              help="One design for every board, from a plan.json.")
@click.option("--curve", is_flag=True,
              help="Also build, replay and synthesise points of the fold's latency-vs-resources path.")
@quant_opts
@click.option("--simulator", type=click.Choice(["verilator", "icarus"]), default="verilator", show_default=True)
@harness_opt
@click.option("--rtl-images", type=click.IntRange(min=1), default=None,
              help="Test images on the RTL (default: all).")
@click.option("--board", type=click.Choice(REPORT_BOARDS), multiple=True,
              default=("icebreaker", "ulx3s"), show_default=True)
@click.option("--no-synth", is_flag=True, help="Skip synthesis.")
@click.option("--results", default="results", show_default=True)
def report(model, weights, coding, timesteps, window, base, threshold_shift, negative_spikes,
           max_burst, ssc, refine_thresholds, iat, lanes, plan_file, curve, weight_bits, input_bits,
           percentile, simulator, harness, rtl_images, board, no_synth, results):
    """Measure everything (accuracy, spikes, RTL cycles, resources) → results/<model>-<coding>.json/.md."""
    from .report import run_report

    if lanes and plan_file:
        _fail("--lanes and --plan exclude each other: give one way to choose the lanes")
    if lanes and lanes != "auto":
        try:
            vals = tuple(int(v) for v in lanes.split(","))
        except ValueError:
            _fail(f"--lanes: expected integers separated by commas or 'auto', got {lanes!r}")
        lanes = vals[0] if len(vals) == 1 else vals
    if plan_file:
        from .plan import DesignPlan
        try:
            lanes = DesignPlan.load(plan_file)
        except IRError as e:
            _fail(str(e))
    try:
        with _Progress(_console()) as prog:
            r = run_report(model, coding, timesteps=timesteps, window=window, base=base,
                           threshold_shift=threshold_shift, negative_spikes=negative_spikes,
                           max_burst=max_burst, ssc=ssc, refine=refine_thresholds, iat=iat,
                           weight_bits=weight_bits,
                           input_bits=input_bits, percentile=percentile,
                           lanes=lanes, curve=curve,
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
