"""``QuantNetwork`` → Verilog + manifest + test vectors; deterministic output."""

import hashlib
import json
import pathlib
from dataclasses import dataclass

import numpy as np

from . import golden
from .hw.accelerator import SNNAccelerator, normalise_lanes, readout_map
from .hw.address import AddressMap
from .hw.layer import fifo_depth
from .hw.rom import LOADED_MEMORY_NAME, NO_COLLISION_SUFFIX

__all__ = ["BuildResult", "build", "generate_verilog", "component_verilog", "manifest", "write_vectors", "event_bound",
           "event_bound_per_layer", "balance_lanes"]

TOP = "snnhw_core"
#: Yosys command dropping the (all-zero) initial contents of the memories loaded after reset
#: (weights in SPRAM, which the bitstream cannot initialise): the simulated Verilog and the
#: synthesised netlist both start them undefined.
DROP_LOADED_INIT = f"delete t:$meminit_v2 r:MEMID=\\\\{LOADED_MEMORY_NAME} %i"
#: Yosys command (synthesis only) marking the read ports of the memories whose
#: read-during-write result never matters as "don't care on collision".
ALLOW_COLLISIONS = f"setparam -set COLLISION_X_MASK 1'1 t:$memrd_v2 r:MEMID=*{NO_COLLISION_SUFFIX} %i"
LOAD_FILE = "load.hex"


@dataclass(frozen=True)
class BuildResult:
    verilog: pathlib.Path
    manifest: pathlib.Path
    top: str


def generate_verilog(qnet, lanes=1, name=TOP):
    """Verilog text of the accelerator (same network and plan → identical bytes)."""
    top = lanes if isinstance(lanes, SNNAccelerator) else SNNAccelerator(qnet, lanes=lanes)
    return component_verilog(top, name)


def component_verilog(component, name):
    """Verilog text of an Amaranth component as every simulator here reads it."""
    from amaranth._toolchain.yosys import find_yosys
    from amaranth.back import rtlil

    text = rtlil.convert(component, name=name, emit_src=False)
    # Plain `proc` (not amaranth's `proc -nomux`): combinational logic becomes continuous
    # assignments, which every simulator evaluates at time 0 — Icarus does not run an
    # `always @*` block until one of its inputs changes, leaving FSM outputs X.
    # -noattr: Icarus 11 cannot parse the (* full_case *) attributes on statements.
    script = "\n".join([f"read_rtlil <<rtlil\n{text}\nrtlil", DROP_LOADED_INIT, "proc", "memory_collect",
                         "attrmap -remove generator -remove top -remove src "
                         "-remove amaranth.hierarchy -remove amaranth.decoding",
                         "write_verilog -noattr"])
    yosys = find_yosys(lambda ver: ver >= (0, 40))
    return yosys.run(["-q", "-"], script, ignore_warnings=True)


def manifest(qnet, lanes=1, verilog_text=None, name=TOP):
    """Everything a testbench or a report needs to know about a generated design."""
    acc = lanes if isinstance(lanes, SNNAccelerator) else SNNAccelerator(qnet, lanes=lanes)
    layers = []
    for k, (l, lp) in enumerate(zip(qnet.layers, acc.plan.layers)):
        p = lp.lanes
        amap = AddressMap.for_layer(l, p)
        layers.append({
            "name": l.name, "kind": "conv" if l.is_conv else "dense",
            "n_in": l.n_in, "n_out": l.n_out, "in_shape": list(l.in_shape),
            "out_shape": list(l.out_shape), "pooled_shape": list(l.pooled_shape), "lanes": p,
            "words_per_event": amap.k if not l.is_conv else None,
            "words_per_position": amap.k, "weight_bits": l.weight_bits,
            "threshold": l.threshold, "acc_bits": l.acc_bits, "current_bits": l.current_bits,
            "spiking": l.spiking, "fifo_depth": fifo_depth(l.n_in),
            "rom_words": amap.rom_depth, "rom_word_bits": p * l.weight_bits,
            "membrane_words_per_bank": amap.acc_depth,
            **({"kernel": list(l.kernel), "stride": list(l.stride), "padding": list(l.padding)}
               if l.is_conv else {}),
            "pool": None if l.pool is None else list(l.pool),
            "weights": lp.weights, "membranes": lp.membranes, "multipliers": lp.multipliers,
            "load_words": acc.engines[k].load_words,
        })
    out = {
        "format": "snnhw.manifest/1", "top": name, "network": qnet.name,
        "coding": qnet.coding.as_dict(), "steps": qnet.coding.steps(),
        "early_exit": None if qnet.early_exit is None else list(qnet.early_exit.margins),
        "static_input": qnet.coding.static_input,
        "n_inputs": qnet.n_inputs, "input_shape": list(qnet.input_shape),
        "input_bits": qnet.input_bits, "input_signed": qnet.input_signed,
        "input_scale": qnet.input_scale, "n_outputs": qnet.n_outputs,
        "layers": layers, "plan": acc.plan.to_json(), "dsp_multipliers": acc.multipliers,
        "load_words": acc.load_words, "load_file": LOAD_FILE if acc.load_words else None,
        "readout": readout_map(qnet), "readout_depth": len(readout_map(qnet)),
        "ports": {"clk": "clk", "rst": "rst", "in_valid": "in_valid", "in_ready": "in_ready",
                  "in_data": "in_data", "done": "done", "ack": "ack", "busy": "busy",
                  "rd_addr": "rd_addr", "rd_data": "rd_data",
                  **({"load_valid": "load_valid", "load_ready": "load_ready",
                      "load_data": "load_data"} if acc.load_words else {})},
    }
    if verilog_text is not None:
        out["verilog_sha256"] = hashlib.sha256(verilog_text.encode()).hexdigest()
    return out


def build(qnet, out_dir, lanes=1, name=TOP):
    """Write ``<name>.v``, ``manifest.json`` and, with weights in SPRAM, the words to load
    after reset (``load.hex``, one 16-bit hex word per line) into ``out_dir``.

    ``lanes``: an int, one value per layer, or a :class:`~snnhw.plan.DesignPlan`.
    """
    out_dir = pathlib.Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    acc = SNNAccelerator(qnet, lanes=lanes)
    text = generate_verilog(qnet, acc, name)
    vpath = out_dir / f"{name}.v"
    vpath.write_text(text)
    man = manifest(qnet, acc, text, name)
    if acc.load_words:
        (out_dir / LOAD_FILE).write_text("".join(f"{w:04x}\n" for w in acc.load_image()))
    mpath = out_dir / "manifest.json"
    mpath.write_text(json.dumps(man, indent=2, sort_keys=True) + "\n")
    return BuildResult(vpath, mpath, name)


def write_vectors(qnet, x, path, x_is_codes=False):
    """Golden test vectors: input codes, potentials, class, event counts and exit step (``.npz``)."""
    xq = np.asarray(x) if x_is_codes else qnet.quantise_input(x)
    res = golden.run_codes(qnet, xq)                 # refuses codes outside the input range
    xq = xq.astype(np.int64)
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, inputs=xq, potentials=res.potentials, predicted=res.predicted, events=res.events,
             exit_step=res.exit_step)
    return res


def event_bound(qnet, result, lanes=1):
    """Fewest cycles any design with these lanes could take: the weight-ROM words of every
    event, ``Σ_events positions reached · ceil(channels / lanes)`` (a dense layer's event
    reaches one position).

    ``result`` is a :class:`~snnhw.golden.GoldenResult` (its per-source event counts), or, for
    networks of dense layers only, the ``(N, n_layers)`` event counts. Returns ``(N,)``.
    """
    return event_bound_per_layer(qnet, result, lanes).sum(axis=1)


def event_bound_per_layer(qnet, result, lanes=1):
    """:func:`event_bound` of each layer's synapse pipeline: ``(N, n_layers)``."""
    lanes = normalise_lanes(qnet, lanes)
    maps = [AddressMap.for_layer(l, p) for l, p in zip(qnet.layers, lanes)]
    if hasattr(result, "source_events"):
        return np.stack([s @ amap.words() for s, amap in zip(result.source_events, maps)],
                        axis=1).astype(np.int64)
    if any(l.is_conv for l in qnet.layers):
        raise ValueError("event_bound of a convolutional network needs the golden result")
    words = np.array([amap.k for amap in maps], dtype=np.int64)
    return np.asarray(result, dtype=np.int64) * words


def balance_lanes(qnet, x_cal, max_lanes=4):
    """Per-layer lanes (powers of two up to ``max_lanes``) that even out the layer engines.

    An engine's cycles per image are about its events' ROM words (its synapse pipeline,
    measured with the golden model on ``x_cal``) plus ``steps · n_out`` (its scans, which lanes
    do not shorten). The busiest engine's lanes are doubled while that shortens it. More
    lanes mean wider ROM words and more membrane banks (block RAM): check the synthesis
    report.
    """
    steps = qnet.coding.steps()
    sources = [s.mean(axis=0) for s in golden.run(qnet, x_cal).source_events]
    layers = qnet.layers
    lanes = [1] * len(layers)

    def cycles(k, p):
        return float(sources[k] @ AddressMap.for_layer(layers[k], p).words()) + steps * layers[k].n_out

    while True:
        k = max(range(len(layers)), key=lambda i: cycles(i, lanes[i]))
        if lanes[k] >= max_lanes or cycles(k, 2 * lanes[k]) >= cycles(k, lanes[k]):
            return tuple(lanes)
        lanes[k] *= 2
