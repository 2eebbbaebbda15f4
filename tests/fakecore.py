"""A small fake accelerator with the real one's ports plus a weight-load port, for testing the
RTL harnesses' load protocol (the real core has no load port yet). Never a bundled design."""

import json
import pathlib

import numpy as np
from amaranth.hdl import Array, Module, Mux, Signal, signed
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from snnhw.generate import component_verilog

#: Bits of a load word.
LOAD_BITS = 16


class FakeCore(wiring.Component):
    """Takes ``load_words`` 16-bit weights after reset (``in_ready`` stays low until all have
    arrived), then images of ``n_inputs`` codes (``in_ready`` low one cycle in four); an
    image's result is ready a data-dependent
    number of cycles after its last code, and the next image is accepted while a result
    waits for its ``ack`` (one result slot). :func:`reference` gives the results.

    Members
    -------
    in_valid, in_ready, in_data : In(1), Out(1), In(input_bits)   image codes (valid/ready)
    done, ack, busy : Out(1), In(1), Out(1)                       the result slot
    rd_addr, rd_data : In, Out(signed(32))                       readout, one cycle latency
    load_valid, load_ready, load_data : In(1), Out(1), In(16)     weight words (valid/ready)
    """

    def __init__(self, n_inputs=5, n_outputs=3, load_words=7, input_bits=8):
        self.n_inputs, self.n_outputs, self.load_words = n_inputs, n_outputs, load_words
        self.input_bits = input_bits
        self.readout_depth = n_outputs + 4
        super().__init__({
            "in_valid": In(1), "in_ready": Out(1), "in_data": In(input_bits),
            "done": Out(1), "ack": In(1), "busy": Out(1),
            "rd_addr": In(range(max(2, self.readout_depth))), "rd_data": Out(signed(32)),
            "load_valid": In(1), "load_ready": Out(1), "load_data": In(LOAD_BITS),
        })

    def elaborate(self, platform):
        m = Module()
        weights = Array(Signal(LOAD_BITS, name=f"w{i}") for i in range(self.load_words))
        loaded = Signal(range(self.load_words + 1))
        m.d.comb += self.load_ready.eq(loaded < self.load_words)
        with m.If(self.load_valid & self.load_ready):
            m.d.sync += [weights[loaded].eq(self.load_data), loaded.eq(loaded + 1)]

        now, start = Signal(32), Signal(32)
        m.d.sync += now.eq(now + 1)
        index = Signal(range(self.n_inputs))
        acc, events = Signal(32), Signal(8)
        latency, delay = Signal(5), Signal(5)
        slot = [Signal(signed(32), name=f"slot{r}") for r in range(self.readout_depth)]
        m.d.comb += self.busy.eq(self.done | (index != 0))
        with m.If(self.ack & self.done):
            m.d.sync += self.done.eq(0)

        with m.FSM():
            with m.State("RECEIVE"):
                # stalls one cycle in four, so the host's handshake timing shows
                m.d.comb += self.in_ready.eq((loaded == self.load_words) & (now[:2] != 3))
                with m.If(self.in_valid & self.in_ready):
                    first = index == 0
                    product = self.in_data * weights[index % self.load_words]
                    m.d.sync += [acc.eq(Mux(first, 0, acc) + product),
                                 events.eq(Mux(first, 0, events) + (self.in_data != 0)),
                                 index.eq(index + 1)]
                    with m.If(first):
                        m.d.sync += [start.eq(now), latency.eq(self.in_data[:4] + 1),
                                     delay.eq(self.in_data[:4] + 1)]
                    with m.If(index == self.n_inputs - 1):
                        m.d.sync += index.eq(0)
                        m.next = "COMPUTE"
            with m.State("COMPUTE"):
                m.d.sync += delay.eq(delay - 1)
                with m.If(delay == 1):
                    m.next = "PUBLISH"
            with m.State("PUBLISH"):            # waits while the previous result is unread
                with m.If(~self.done):
                    s = acc.as_signed()
                    values = ([s * (j + 1) - 100 * j for j in range(self.n_outputs)]
                              + [acc % self.n_outputs, now - start, events, latency])
                    m.d.sync += [r.eq(v) for r, v in zip(slot, values)] + [self.done.eq(1)]
                    m.next = "RECEIVE"
        with m.Switch(self.rd_addr):
            for r, s in enumerate(slot):
                with m.Case(r):
                    m.d.sync += self.rd_data.eq(s)
        return m


def reference(codes, weights, n_outputs):
    """The fake core's results: ``dict`` of potentials, predicted, events, exit_step."""
    codes = np.asarray(codes, dtype=np.int64)
    w = np.asarray(weights, dtype=np.int64)
    s = (codes * w[np.arange(codes.shape[1]) % len(w)]).sum(axis=1)
    return {"potentials": s[:, None] * np.arange(1, n_outputs + 1) - 100 * np.arange(n_outputs),
            "predicted": s % n_outputs, "events": (codes != 0).sum(axis=1)[:, None],
            "exit_step": codes[:, 0] % 16 + 1}


def write_fake_design(out_dir, codes, weights, load_words=None, n_outputs=3, name="fake_core"):
    """Verilog, manifest (``load_words``, ``load_file``), load file and vectors of a
    :class:`FakeCore` taking ``codes``. ``load_words`` (default ``len(weights)``) goes into
    the manifest as given. Returns ``(verilog, manifest, vectors)`` paths."""
    out = pathlib.Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    codes = np.asarray(codes, dtype=np.int64)
    core = FakeCore(codes.shape[1], n_outputs, len(weights))
    verilog = out / f"{name}.v"
    verilog.write_text(component_verilog(core, name))
    (out / "weights.hex").write_text("// fake weights\n" + "".join(f"{w:04x}\n" for w in weights))
    readout = {f"potential[{j}]": j for j in range(n_outputs)}
    readout.update({"predicted": n_outputs, "cycles": n_outputs + 1, "events[0]": n_outputs + 2,
                    "exit_step": n_outputs + 3})
    man = {"top": name, "n_inputs": codes.shape[1], "n_outputs": n_outputs,
           "input_bits": core.input_bits, "layers": [{"name": "fake"}], "readout": readout,
           "readout_depth": core.readout_depth,
           "load_words": len(weights) if load_words is None else load_words,
           "load_file": "weights.hex"}
    manifest = out / "manifest.json"
    manifest.write_text(json.dumps(man, indent=2) + "\n")
    vectors = out / "vectors.npz"
    np.savez(vectors, inputs=codes, **reference(codes, weights, n_outputs))
    return verilog, manifest, vectors
