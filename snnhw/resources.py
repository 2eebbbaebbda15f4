"""Analytic resource model of the generated hardware (block RAM, SPRAM, logic, DSP).

Memories follow the FPGA primitives exactly (``docs/semantics.md`` §4, "Lanes and memory
placement"): an iCE40 EBR is 4 kbit in one of :data:`EBR_MODES`, per-bit write masks only at
16 bits wide; a UP5K SPRAM is 16 × 16384; a memory in flip-flops costs its bits and a
``depth``-to-1 multiplexer per bit (the iCE40 has no LUT RAM). Logic is counted from the
widths the generator instantiates — per lane: the weight register, the product, the old
accumulator word, the adder, the forwarding multiplexers; per layer: the scan's lane
multiplexer, the fire unit's comparators, counters — and scaled by factors fitted to Yosys
(:data:`LOGIC_SCALE`, ``scripts/calibrate_resources.py``).
"""

import math
from dataclasses import dataclass, field

from .hw.rom import LOAD_WORD_BITS, LOGIC_MEMORY_BITS

__all__ = ["EBR_MODES", "ebr_blocks", "spram_blocks", "ff_memory_cells", "lut_rom_cells",
           "LC_PER_EBR", "default_placement", "result_placement", "Resources", "LOGIC_SCALE",
           "layer_resources", "design_resources", "BOARD_BUDGETS", "Budget"]

#: iCE40 EBR (4 kbit) aspect ratios ``(width, depth)``; per-bit write masks only at 16 bits.
EBR_MODES = ((16, 256), (8, 512), (4, 1024), (2, 2048))
#: ECP5 DP16KD (18 kbit) aspect ratios with one read and one write port.
DP16KD_MODES = ((36, 512), (18, 1024), (9, 2048), (4, 4096), (2, 8192), (1, 16384))
#: Logic cells one iCE40 UP5K EBR is worth when placements are compared without a board
#: budget (5280 logic cells / 30 EBR).
LC_PER_EBR = 176
#: iCE40 UP5K SPRAM: 16 bits × 16384 words.
SPRAM_WIDTH, SPRAM_DEPTH = 16, 16384


def _bits(n):
    """Bits of a counter or address over ``n`` values."""
    return max(1, math.ceil(math.log2(max(2, n))))


def ebr_blocks(width, depth, lane_width=None, family="ice40"):
    """Block RAMs of a ``width × depth`` memory. With per-lane write enables (``lane_width``
    bits per lane) only the widest mode masks bits, unless the lanes get columns of their own."""
    modes = EBR_MODES if family == "ice40" else DP16KD_MODES

    def best(w):
        return min(-(-w // mw) * -(-depth // md) for mw, md in modes)
    if lane_width is None or lane_width == width:
        return best(width)
    mw, md = modes[0] if family == "ice40" else modes[1]
    masked = -(-width // mw) * -(-depth // md)
    return min(masked, (width // lane_width) * best(lane_width))


def spram_blocks(width, depth):
    """UP5K SPRAMs of a ``width × depth`` single-port memory."""
    return -(-width // SPRAM_WIDTH) * -(-depth // SPRAM_DEPTH)


def ff_memory_cells(width, depth):
    """Logic cells of a memory in flip-flops: the bits, and a ``depth``-to-1 read multiplexer
    per bit (the iCE40 has no LUT RAM; a LUT4 is a 2-to-1 multiplexer)."""
    return width * depth + width * max(0, depth - 1)


def lut_rom_cells(width, depth):
    """Logic cells of a ROM in LUTs: a LUT4 holds 16 bits of one output, then multiplexers."""
    leaves = max(1, -(-depth // 16))
    return width * (leaves + max(0, leaves - 1))


def default_placement(layer, lanes, static_input=False):
    """The placements a plan gets when nobody chose (no board budget): weights in logic when
    they fit :data:`~snnhw.hw.rom.LOGIC_MEMORY_BITS`, else block RAM; membranes in
    flip-flops when that costs fewer logic-cell equivalents than block RAM; DSP multipliers."""
    k = -(-layer.channels // lanes)
    depth = max(2, layer.positions * k)
    rom_bits = lanes * layer.weight_bits * max(2, layer.weight[0].size * k)
    width = lanes * layer.acc_bits
    ff = ff_memory_cells(width, depth)
    bram = ebr_blocks(width, depth, layer.acc_bits) * LC_PER_EBR
    return {"weights": "lut" if rom_bits <= LOGIC_MEMORY_BITS else "bram",
            "membranes": "ff" if ff < bram else "bram",
            "multipliers": "dsp"}


def result_placement(n_out, acc_bits):
    """Where the result buffer's two slots of ``n_out`` potentials go: the cheaper of
    flip-flops and block RAM (in logic-cell equivalents)."""
    ff = ff_memory_cells(acc_bits, 2 * n_out)
    return "ff" if ff < ebr_blocks(acc_bits, 2 * n_out) * LC_PER_EBR else "bram"


@dataclass
class Resources:
    """A resource count; ``parts`` names where the logic goes (for reports)."""
    lut: float = 0
    ff: float = 0
    carry: float = 0
    bram: int = 0
    spram: int = 0
    dsp: int = 0
    parts: dict = field(default_factory=dict)

    def add(self, name, lut=0, ff=0, carry=0, bram=0, spram=0, dsp=0):
        self.lut += lut
        self.ff += ff
        self.carry += carry
        self.bram += bram
        self.spram += spram
        self.dsp += dsp
        part = self.parts.setdefault(name, [0, 0, 0])
        part[0] += lut
        part[1] += ff
        part[2] += carry
        return self

    def __add__(self, other):
        out = Resources(self.lut + other.lut, self.ff + other.ff, self.carry + other.carry,
                        self.bram + other.bram, self.spram + other.spram, self.dsp + other.dsp,
                        dict(self.parts))
        for k, v in other.parts.items():
            mine = out.parts.setdefault(k, [0, 0, 0])
            out.parts[k] = [a + b for a, b in zip(mine, v)]
        return out

    def logic_cells(self, family="ice40"):
        """iCE40 logic cells (one LUT4 + one flip-flop + carry each), as nextpnr packs them:
        :data:`LC_PACKING`; on ECP5 the LUT4 count."""
        if family != "ice40":
            return int(round(self.lut))
        a, b, c = LC_PACKING
        return int(round(a * self.lut + b * self.ff + c * self.carry))

    def as_dict(self, family="ice40"):
        return {"lut": int(round(self.lut)), "ff": int(round(self.ff)), "carry": int(round(self.carry)),
                "logic_cells": self.logic_cells(family), "bram": self.bram, "spram": self.spram,
                "dsp": self.dsp}


#: Yosys/ABC turns the structural count into cells: per layer engine,
#: ``cells = Σ_i coeff_i · feature_i`` over (structural count, lanes·acc bits, lanes·weight
#: bits, 1), fitted by least squares on 25 engines (``scripts/calibrate_resources.py``: mean
#: error 10 % LUT, 5 % FF, 12 % carry; memories, DSPs and SPRAMs are exact). The lanes·acc
#: term is the per-lane pipeline registers (forwarding history, products). The negative
#: constants are the structural count's over-estimate of the fixed control logic; a count
#: never drops below a third of the structural one.
LOGIC_SCALE = {"lut": (1.061, 0.931, 0.0, -71.7), "ff": (1.031, 0.963, 0.0, -109.9),
               "carry": (0.793, 0.196, 0.0, 13.1)}
#: iCE40 logic cells ≈ a·LUT + b·FF + c·CARRY (fitted to nextpnr's ICESTORM_LC counts).
LC_PACKING = (1.0, 0.9, 0.2)


def _mul_lut(a_bits, b_bits):
    """LUT4s of an ``a × b`` shift-and-add multiplier in logic (Yosys/ABC, measured)."""
    return 2.4 * a_bits * b_bits


def _memory(res, name, width, depth, placement, lane_width=None, family="ice40", rom=False):
    if placement == "bram":
        res.add(name, bram=ebr_blocks(width, depth, lane_width, family))
    elif placement == "spram":
        slices = -(-width // LOAD_WORD_BITS)
        res.add(name, spram=spram_blocks(slices * LOAD_WORD_BITS, depth),
                lut=2 * _bits(depth) + slices, ff=_bits(depth) + slices + 1)
    elif rom:                                       # a ROM in logic
        res.add(name, lut=lut_rom_cells(width, depth), ff=width)
    else:                                           # a RAM in flip-flops
        res.add(name, lut=width * max(0, depth - 1) + depth, ff=width * depth + width)


def _synapse(res, info, lp, amap, family):
    """The synapse pipeline of one layer (see :class:`~snnhw.hw.synapse.SynapsePipeline`)."""
    p, wb, acc, kind, mw, sb = (lp.lanes, info["weight_bits"], info["acc"], info["m_kind"],
                                info["m_bits"], info["step_bits"])
    ar, ad, ak = _bits(amap.rom_depth), _bits(amap.acc_depth), _bits(amap.k)
    issue_ff = ar + ad + ak + 2 + mw + sb
    issue_lut = ar + ad + ak + 8
    if amap.spatial:
        pb = _bits(max(amap.source[1:]) + 1)
        issue_ff += 2 * ar + 2 * ad + 4 * pb + 2
        issue_lut += 3 * (ar + ad) + 4 * pb + 7 * ar
    res.add("synapse.issue", lut=issue_lut, ff=issue_ff, carry=ar + ad + ak)
    res.add("synapse.stages", ff=info["latency"] * (ad + 2 + mw + sb) + p * wb)
    dsp = 0
    if kind == "sign":
        res.add("synapse.multiply", lut=p * (wb + 1), ff=p * (wb + 2))
    elif kind == "multiply":
        if lp.multipliers == "dsp":
            dsp += p
            res.add("synapse.multiply", ff=p * (wb + mw + 1))
        else:
            res.add("synapse.multiply", lut=p * _mul_lut(wb, mw), ff=p * (wb + mw + 1))
    prod = wb + (mw + 1 if kind != "gate" else 0)
    if info["gains"]:
        if info["gain_shift"]:
            gw = prod + info["gain_bits"]
            res.add("synapse.gain", lut=p * gw * _bits(info["gain_steps"]), ff=p * gw)
        elif lp.multipliers == "dsp":
            dsp += p
            res.add("synapse.gain", ff=p * (prod + info["gain_bits"] + 1))
        else:
            res.add("synapse.gain", lut=p * _mul_lut(prod, info["gain_bits"]),
                    ff=p * (prod + info["gain_bits"] + 1))
    res.add("synapse.accumulate", lut=p * acc, ff=p * acc, carry=p * acc, dsp=dsp)
    # the membrane port is shared with the scanner (and the clearing): a multiplexer per bit
    res.add("synapse.port", lut=p * acc + 2 * ad)
    n_fwd = sum(1 for d in (1, 2) if d >= amap.k)
    if n_fwd:
        res.add("synapse.forward", lut=n_fwd * (p * acc + ad), ff=2 * (1 + ad + p * acc + p))


def _scanner(res, info, layer, lp):
    """The neuron scanner and its fire unit (see :class:`~snnhw.hw.scan.NeuronScanner`)."""
    p, acc, n = lp.lanes, info["acc"], layer.n_out
    k = -(-layer.channels // p)
    depth = layer.positions * k
    cnt = 4 * _bits(depth) + _bits(k) + _bits(p) + _bits(layer.channels) + 2 * _bits(n) + 4
    place = _bits(depth) + _bits(p) + _bits(layer.channels) + 2 * _bits(n) + 2
    res.add("scan.order", lut=1.5 * cnt, ff=cnt + 3 * place, carry=cnt)
    res.add("scan.lanes", lut=(p - 1) * (acc + info["current_bits"]))
    bias_bits = info["bias_bits"] * layer.channels
    if bias_bits <= LOGIC_MEMORY_BITS:
        res.add("scan.bias", lut=lut_rom_cells(info["bias_bits"], layer.channels))
    else:
        res.add("scan.bias", bram=ebr_blocks(info["bias_bits"], layer.channels))
    res.add("scan.add", lut=acc + info["current_bits"], ff=2 * acc, carry=acc + info["current_bits"])
    fire = info["fire"]
    res.add("scan.fire", lut=fire["lut"], carry=fire["carry"],
            ff=info["event_bits"] + 4 + fire.get("ff", 0))
    if layer.pool is not None:
        res.add("scan.pool", lut=3 * info["m_out_bits"] + 10, ff=info["m_out_bits"] + 4)


def layer_info(qnet, k):
    """Widths and kinds of layer ``k``'s hardware that the model needs (no hardware built)."""
    from . import fixed
    from .hw.accelerator import event_shapes
    from .hw.synapse import multiplier_kind, pipeline_latency
    from amaranth.hdl import Shape

    layer = qnet.layers[k]
    coding = qnet.coding
    shapes = event_shapes(qnet)
    m_shape = Shape.cast(shapes[k])
    gains = coding.step_gains()
    gains = None if gains is None else list(gains)
    static = k == 0 and coding.static_input
    info = {
        "weight_bits": layer.weight_bits, "m_kind": multiplier_kind(m_shape), "m_bits": m_shape.width,
        "acc": layer.current_bits if static else layer.acc_bits,
        "current_bits": layer.current_bits if static else 0,
        "step_bits": fixed.unsigned_width(len(gains)) if gains else 0, "gains": bool(gains),
        "gain_shift": bool(gains) and all(g & (g - 1) == 0 for g in gains),
        "gain_bits": fixed.unsigned_width(max(gains)) if gains else 0,
        "gain_steps": len(gains) if gains else 0,
        "latency": pipeline_latency(m_shape, bool(gains)),
        "bias_bits": fixed.signed_width(min(list(layer.bias) + [0]), max(list(layer.bias) + [0])),
        "m_out_bits": Shape.cast(shapes[k + 1]).width if k + 1 < len(shapes) else 1,
    }
    info["event_bits"] = sum(_bits(s) for s in layer.pooled_shape) + info["m_out_bits"] + info["step_bits"] + 2
    # the fire unit of one neuron per cycle (the output layer's only keeps its membrane)
    info["fire"] = coding.fire_cost(layer.acc_bits, k) if layer.spiking else {"lut": 0, "carry": 0}
    return info


def layer_resources(qnet, k, lp, family="ice40", info=None, raw=False):
    """Predicted :class:`Resources` of layer ``k``'s engine under the (resolved) layer plan
    ``lp``, the membrane, current and pooling RAMs and the weight ROM included (``raw``: the
    structural count, before :data:`LOGIC_SCALE`)."""
    from .hw.address import AddressMap
    from .hw.layer import fifo_depth

    layer = qnet.layers[k]
    info = info or layer_info(qnet, k)
    amap = AddressMap.for_layer(layer, lp.lanes)
    res = Resources()
    _synapse(res, info, lp, amap, family)
    _scanner(res, info, layer, lp)
    # memories
    _memory(res, "weights", lp.lanes * layer.weight_bits, max(2, amap.rom_depth), lp.weights,
            family=family, rom=True)
    words = max(2, amap.acc_depth)
    _memory(res, "membranes", lp.lanes * layer.acc_bits, words, lp.membranes, layer.acc_bits, family)
    fs = qnet.coding.fire_state_bits if layer.spiking else 0
    if fs:
        _memory(res, "fire state", lp.lanes * fs, words, lp.membranes, fs, family)
    if info["current_bits"]:
        _memory(res, "currents", lp.lanes * layer.current_bits, words, lp.membranes,
                layer.current_bits, family)
    if layer.pool is not None and layer.pool[0] == "max" and not qnet.coding.one_window:
        cb = qnet.coding.max_pool_count_bits(info["m_out_bits"])
        _memory(res, "pool counts", lp.lanes * cb, words, lp.membranes, cb, family)
        _memory(res, "pool sent", cb, max(2, int(layer.pooled_shape[0] * layer.pooled_shape[1]
                                              * layer.pooled_shape[2])), lp.membranes, cb, family)
    # input FIFO (block RAM), its register queue, counters and control
    payload = sum(_bits(s) for s in layer.in_shape) + info["m_bits"] + info["step_bits"] + 2
    depth = fifo_depth(layer.n_in)
    res.add("fifo", bram=ebr_blocks(payload, depth, family=family), lut=40 + payload,
            ff=3 * payload + 3 * _bits(depth))
    res.add("control", lut=60 + 4 * 16, ff=40 + 5 * 16)
    return res if raw else _calibrated(res, lp.lanes * layer.acc_bits, lp.lanes * layer.weight_bits)


def _calibrated(res, lane_acc_bits, lane_weight_bits):
    """The structural count turned into Yosys cells (:data:`LOGIC_SCALE`); the parts keep
    their shares."""
    out = Resources(bram=res.bram, spram=res.spram, dsp=res.dsp)
    features = lambda count: (count, lane_acc_bits, lane_weight_bits, 1.0)   # noqa: E731
    for i, name in enumerate(("lut", "ff", "carry")):
        raw = getattr(res, name)
        value = max(raw / 3, sum(c * f for c, f in zip(LOGIC_SCALE[name], features(raw))))
        setattr(out, name, value)
        for part, counts in res.parts.items():
            share = counts[i] / raw if raw else 0.0
            out.parts.setdefault(part, [0.0, 0.0, 0.0])[i] = share * value
    return out


def other_resources(qnet, family="ice40"):
    """The input encoder, result buffer, timestamps and readout of the accelerator."""
    res = Resources()
    out = qnet.layers[-1]
    res.add("encoder", **qnet.coding.encoder_cost(qnet, family))
    place = result_placement(qnet.n_outputs, out.acc_bits)
    _memory(res, "results", out.acc_bits, 2 * qnet.n_outputs, place, family=family)
    res.add("results", lut=2 * out.acc_bits + 20, ff=out.acc_bits + 80, carry=out.acc_bits)
    n_regs = 3 + len(qnet.layers)
    # the address multiplexer, and the copies of the registers in front of it
    res.add("readout", lut=32 * n_regs / 2 + 40, ff=32 + 4 * 32 + 40 + 40 + 20 * len(qnet.layers),
            carry=32)
    return res


#: The board top around the core: UART host link (measured), SPI-flash loader (with SPRAM).
BOARD_LINK = Resources(lut=180, ff=135, carry=30)
FLASH_LOADER = Resources(lut=150, ff=160, carry=20)


def design_resources(qnet, plan, family="ice40", board_top=True):
    """Predicted resources of a whole design: ``{"layers": [Resources], "other": Resources,
    "total": Resources}`` (the total includes the board top when ``board_top``)."""
    plan = plan.resolve(qnet)
    layers = [layer_resources(qnet, k, lp, family) for k, lp in enumerate(plan.layers)]
    other = other_resources(qnet, family)
    total = Resources()
    for r in layers + [other]:
        total = total + r
    if board_top:
        total = total + BOARD_LINK
        if any(lp.weights == "spram" for lp in plan.layers):
            total = total + FLASH_LOADER
    return {"layers": layers, "other": other, "total": total}


@dataclass(frozen=True)
class Budget:
    """What a board offers the design, with the share of logic the folding may use."""
    family: str
    logic_cells: int
    bram: int
    spram: int
    dsp: int
    ff: int = 0
    logic_margin: float = 0.85

    def fits(self, res):
        """Whether predicted :class:`Resources` fit, and the resource that binds
        (largest used share): ``(fits, binding, shares)``."""
        shares = {"logic": res.logic_cells(self.family) / (self.logic_cells * self.logic_margin),
                  "bram": res.bram / max(self.bram, 1e-9) if res.bram else 0.0,
                  "spram": res.spram / max(self.spram, 1e-9) if res.spram else 0.0,
                  "dsp": res.dsp / max(self.dsp, 1e-9) if res.dsp else 0.0}
        if self.family != "ice40":
            shares["ff"] = res.ff / (self.ff * self.logic_margin)
        binding = max(shares, key=shares.get)
        return all(v <= 1.0 for v in shares.values()), binding, shares


#: Budgets of the supported boards' FPGAs.
BOARD_BUDGETS = {
    "icebreaker": Budget("ice40", 5280, 30, 4, 8),
    "icesugar": Budget("ice40", 5280, 30, 4, 8),
    "ulx3s": Budget("ecp5", 83640, 208, 0, 156, ff=83640),
    "ulx3s-85f": Budget("ecp5", 83640, 208, 0, 156, ff=83640),
    "ulx3s-45f": Budget("ecp5", 43848, 108, 0, 72, ff=43848),
    "ulx3s-25f": Budget("ecp5", 24288, 56, 0, 28, ff=24288),
    "ulx3s-12f": Budget("ecp5", 12144, 56, 0, 28, ff=12144),
}
