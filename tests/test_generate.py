import json

import numpy as np

from snnhw.generate import build, event_bound, generate_verilog
from netgen import random_qnet


def test_verilog_is_deterministic(tmp_path):
    q, _ = random_qnet(5, (6, 5, 3))
    a = build(q, tmp_path / "a", lanes=(2, 1))
    b = build(q, tmp_path / "b", lanes=(2, 1))
    assert a.verilog.read_bytes() == b.verilog.read_bytes()
    assert a.manifest.read_bytes() == b.manifest.read_bytes()
    assert generate_verilog(q, (2, 1)) != generate_verilog(q, (1, 1))


def test_manifest_describes_design(tmp_path):
    q, _ = random_qnet(6, (7, 9, 4), timesteps=5, signed_input=True)
    m = json.loads(build(q, tmp_path, lanes=(4, 1)).manifest.read_text())
    assert m["n_inputs"] == 7 and m["input_signed"] and m["steps"] == 5
    assert [l["lanes"] for l in m["layers"]] == [4, 1]
    assert [l["acc_bits"] for l in m["layers"]] == [l.acc_bits for l in q.layers]
    assert m["readout"]["predicted"] == 4 and m["readout"]["events[1]"] == 7
    assert m["readout"]["exit_step"] == 8
    assert m["readout_depth"] == 4 + 2 + 2 + 1
    assert len(m["verilog_sha256"]) == 64


def test_event_bound():
    q, _ = random_qnet(7, (6, 5, 3))
    events = np.array([[4, 10], [0, 3]])
    # lanes (2, 1): words per event 3 and 3
    assert event_bound(q, events, lanes=(2, 1)).tolist() == [4 * 3 + 10 * 3, 9]
    assert event_bound(q, events, lanes=1).tolist() == [4 * 5 + 10 * 3, 9]


def test_balance_lanes_shortens_the_busiest_engine():
    from snnhw.generate import balance_lanes
    from snnhw import golden

    q, x = random_qnet(8, (20, 32, 4), timesteps=3)
    lanes = balance_lanes(q, x, max_lanes=4)
    assert all(p in (1, 2, 4) for p in lanes)
    ev = golden.run(q, x).events.mean(axis=0)
    work = lambda k, p: ev[k] * -(-q.layers[k].n_out // p) + 3 * q.layers[k].n_out
    before = max(work(k, 1) for k in range(2))
    after = max(work(k, p) for k, p in enumerate(lanes))
    assert after < before
    assert balance_lanes(q, x, max_lanes=1) == (1, 1)


def test_cnn_verilog_is_deterministic_and_event_bound_counts_borders(tmp_path):
    """Same CNN and options → identical bytes; the event bound counts each event's own
    positions (a corner event of a 3×3 padding-1 convolution reaches 4, a middle one 9)."""
    from snnhw import golden
    from snnhw.ir import BurstCoding, EarlyExit
    from snnhw.passes import convert
    from netgen import random_cnn

    net, x = random_cnn(50, (1, 6, 6), ((3, 3, 1, 1, ("max", 2)),))
    q = convert(net, x, BurstCoding(3, 2)).replace(early_exit=EarlyExit((5, 5, 0)))
    a = build(q, tmp_path / "a", lanes=(2, 1))
    b = build(q, tmp_path / "b", lanes=(2, 1))
    assert a.verilog.read_bytes() == b.verilog.read_bytes()
    codes = np.zeros((2, 36), dtype=np.int64)
    codes[0, 0] = 100                    # corner pixel: 4 positions × ceil(3/2) words
    codes[1, 14] = 100                   # (2, 2): 9 positions
    g = golden.run_codes(q, codes)
    spikes = g.source_events[1].sum(axis=1)                 # into the dense head: 3 targets each
    assert g.synaptic_ops.tolist() == [4 * 3 + 3 * spikes[0], 9 * 3 + 3 * spikes[1]]
    bound = event_bound(q, g, lanes=(2, 1))                 # lanes 2 → 2 words per position
    assert bound.tolist() == [4 * 2 + 3 * spikes[0], 9 * 2 + 3 * spikes[1]]


def test_conv_output_layer_rejected():
    from snnhw.hw.accelerator import SNNAccelerator
    from snnhw.ir import Conv2d, IRError, Network
    from snnhw.passes import convert
    import pytest

    rng = np.random.default_rng(0)
    net = Network("c", (1, 4, 4), (Conv2d("a", rng.normal(size=(2, 1, 3, 3)), np.ones(2), 1, 1),
                                    Conv2d("b", rng.normal(size=(3, 2, 3, 3)), np.zeros(3))))
    q = convert(net, rng.uniform(size=(20, 1, 4, 4)))
    with pytest.raises(IRError, match="layer 'b': the output layer must be a Linear layer"):
        SNNAccelerator(q)
