"""The Coding abstraction: registry, persistence, option checks and the errors users see."""

import json

import numpy as np
import pytest

from netgen import random_network
from snnhw.codings import CHOICES, CODINGS, BurstCoding, Coding, RateCoding, SingleSpikeCoding
from snnhw.codings.css import CssCoding
from snnhw.errors import IRError
from snnhw.ir import QuantNetwork
from snnhw.passes import calibrate_early_exit, choose_coding, convert

EXAMPLES = [RateCoding(5), BurstCoding(3, (2, 4), (1, 3), True), BurstCoding(2, 8),
            SingleSpikeCoding(6, 1.5, False, True), CssCoding(5)]


def test_registry():
    assert list(CODINGS) == ["rate", "burst", "single_spike", "css"]
    assert list(CHOICES) == ["rate", "burst", "adafire", "single_spike", "css"]
    for name, cls in CODINGS.items():
        assert issubclass(cls, Coding) and cls.name == name
    for name, choice in CHOICES.items():
        assert choice.name == name and choice.coding in CODINGS.values()


@pytest.mark.parametrize("coding", EXAMPLES, ids=repr)
def test_as_dict_round_trip(coding):
    d = json.loads(json.dumps(coding.as_dict()))
    assert d["kind"] == coding.name
    assert CODINGS[d.pop("kind")].from_dict(d, "x.json") == coding


def test_from_dict_rejects_unknown_parameter():
    with pytest.raises(IRError, match=r"^x\.json: rate coding has no parameter 'window'; it has "
                                      r"timesteps$"):
        RateCoding.from_dict({"timesteps": 4, "window": 3}, "x.json")


def test_saved_network_with_edited_coding_is_refused(tmp_path):
    net, x = random_network(3)
    path = convert(net, x, RateCoding(4)).save(tmp_path / "q.json")
    meta = json.loads(path.read_text())
    meta["coding"]["max_burst"] = 4
    path.write_text(json.dumps(meta))
    with pytest.raises(IRError, match=r"rate coding has no parameter 'max_burst'"):
        QuantNetwork.load(path)
    meta["coding"] = {"timesteps": 4}
    path.write_text(json.dumps(meta))
    with pytest.raises(IRError, match=r"unknown coding None$"):
        QuantNetwork.load(path)


@pytest.mark.parametrize("kind,options,message", [
    ("rate", {"window": 4}, r"^option window = 4 does not apply to coding 'rate' \(it takes: "
                            r"timesteps\)$"),
    ("single_spike", {"timesteps": 8}, r"^option timesteps = 8 does not apply to coding "
                                       r"'single_spike' \(it takes: window, base, threshold-shift, "
                                       r"negative-spikes\)$"),
    ("burst", {"ssc": False}, r"^option ssc = False does not apply to coding 'burst'"),
    ("rate", {"speed": 1}, r"^unknown coding option 'speed'$"),
    ("rate", {"timesteps": 0}, r"^rate coding: timesteps must be an integer in 1\.\.4096, got 0$"),
    ("burst", {"max_burst": 0}, r"^burst coding: max_burst must be a power of two in 1\.\.16, got 0$"),
    ("css2", {}, r"^unknown coding 'css2'; available: rate, burst, adafire, single_spike"),
])
def test_choose_coding_refuses(kind, options, message):
    net, x = random_network(4)
    with pytest.raises(IRError, match=message):
        choose_coding(kind, net, x, **options)


def test_choose_coding_defaults():
    net, x = random_network(4)
    assert choose_coding("rate", net, x) == (RateCoding(), [])
    assert choose_coding("burst", net, x, timesteps=3) == (BurstCoding(3, 4), [])
    coding, _ = choose_coding("single_spike", net, -x, window=4, base=2.0)
    assert coding == SingleSpikeCoding(4, 2.0, True, True)      # signed inputs: negative spikes


def test_config_errors():
    with pytest.raises(IRError, match=r"^rate coding: timesteps must be an integer in 1\.\.4096, got True$"):
        RateCoding(True)
    with pytest.raises(IRError, match=r"^single-spike coding: negative_spikes must be True or False, "
                                      r"got 1$"):
        SingleSpikeCoding(4, 2.0, True, 1)
    with pytest.raises(IRError, match=r"^burst coding: refine_thresholds must be True or False, got 'yes'$"):
        BurstCoding(2, 4, 1, "yes")


def test_numpy_parameters_become_python_values(tmp_path):
    c = SingleSpikeCoding(np.int64(4), np.float64(2.0), np.bool_(True), np.bool_(False))
    assert type(c.window) is int and type(c.base) is float and type(c.threshold_shift) is bool
    assert json.dumps(BurstCoding(np.int64(2), np.int64(4), [np.int64(1)]).as_dict())
    net, x = random_network(5)
    q = convert(net, x, RateCoding(np.int64(3)))
    assert QuantNetwork.load(q.save(tmp_path / "q.json")).coding == RateCoding(3)
    with pytest.raises(IRError, match=r"^single-spike coding: base must be a number > 1, got inf$"):
        SingleSpikeCoding(4, float("inf"))


def test_convert_refuses_a_coding_name():
    net, x = random_network(5)
    with pytest.raises(IRError, match=r"^coding must be a coding config \(RateCoding, BurstCoding, "
                                      r"SingleSpikeCoding[A-Za-z, ]*\), got 'rate'$"):
        convert(net, x, "rate")


def test_early_exit_only_for_multi_step_codings():
    net, x = random_network(6)
    q = convert(net, x, SingleSpikeCoding(4, 2.0))
    with pytest.raises(IRError, match=r"^early exit needs a multi-step coding \(rate or burst\), "
                                      r"not 'single_spike'$"):
        calibrate_early_exit(q, x)


def test_transfer_is_the_coding_s():
    a = np.linspace(0, 1.2, 7)
    np.testing.assert_array_equal(RateCoding(4).transfer(a, 0), [0, 0.25, 0.5, 0.5, 0.75, 1, 1])
    assert SingleSpikeCoding(3, 2.0).transfer(np.array([1.0, 0.5, 0.3, 0.01]), 0).tolist() == \
        [1.0, 0.5, 0.25, 0.0]
