import json

import torch
from click.testing import CliRunner
from torch import nn

from snnhw.cli import main


def test_convert_bundled_model(tmp_path):
    res = CliRunner().invoke(main, ["convert", "-T", "8", "-o", str(tmp_path)])
    assert res.exit_code == 0, res.output
    acc = json.loads(res.output.splitlines()[-1])
    assert acc["accuracy_float"] >= 0.95 and acc["accuracy_snn"] >= acc["accuracy_quant"] - 0.015
    assert (tmp_path / "qnet.json").is_file() and (tmp_path / "qnet.npz").is_file()


def test_convert_unsupported_layer_is_a_clear_error(tmp_path):
    bad = nn.Sequential(nn.Flatten(), nn.Linear(64, 16), nn.Tanh(), nn.Linear(16, 10))
    torch.save(bad, tmp_path / "bad.pt")
    res = CliRunner().invoke(main, ["convert", "--model", str(tmp_path / "bad.pt"), "-o", str(tmp_path / "o")])
    assert res.exit_code == 1
    assert "Error: layer '2' (Tanh) is not supported; supported: Linear, Conv2d, BatchNorm1d, BatchNorm2d, ReLU, AvgPool2d, MaxPool2d, Flatten, Unflatten, Dropout, Identity" in res.output
    assert "Traceback" not in res.output


def test_convert_wrong_input_shape(tmp_path):
    bad = nn.Sequential(nn.Linear(30, 16), nn.ReLU(), nn.Linear(16, 10))
    torch.save(bad, tmp_path / "wrong.pt")
    res = CliRunner().invoke(main, ["convert", "--model", str(tmp_path / "wrong.pt"), "-o", str(tmp_path / "o")])
    assert res.exit_code == 1
    assert "input of shape (1347, 64) does not match the model's input shape (30,)" in res.output


def test_bits_out_of_range(tmp_path):
    # refused by the option itself, before the model is even loaded
    res = CliRunner().invoke(main, ["convert", "--weight-bits", "20", "-o", str(tmp_path)])
    assert res.exit_code == 2
    assert "Invalid value for '--weight-bits': 20 is not in the range 4<=x<=16." in res.output


def test_unknown_model():
    res = CliRunner().invoke(main, ["convert", "--model", "nope"])
    assert res.exit_code == 1
    from snnhw.models import bundled_models
    names = ", ".join(bundled_models())
    assert "digits_mlp" in names
    assert f"Error: model 'nope': not a bundled model ({names}), a .py file with build_model(), or a pickled .pt module" in res.output


def test_build_bad_lanes(tmp_path):
    assert CliRunner().invoke(main, ["convert", "-T", "4", "-o", str(tmp_path)]).exit_code == 0
    res = CliRunner().invoke(main, ["build", str(tmp_path), "--lanes", "3,11"])
    assert res.exit_code == 1
    assert "Error: layer '4': lanes 11 exceed its 10 output channels" in res.output
    res = CliRunner().invoke(main, ["build", str(tmp_path), "--lanes", "2,1"])
    assert res.exit_code == 0, res.output
    assert (tmp_path / "snnhw_core.v").is_file()


def test_convert_adafire_with_early_exit(tmp_path):
    """--coding adafire: per-layer Γ and ρ searched, IAT margins calibrated, saved and reloaded."""
    from snnhw.ir import QuantNetwork
    res = CliRunner().invoke(main, ["convert", "--model", "digits_mlp", "--coding", "adafire", "-T", "2",
                                    "-o", str(tmp_path)])
    assert res.exit_code == 0, res.output
    q = QuantNetwork.load(tmp_path / "qnet.json")
    assert q.coding.name == "burst" and isinstance(q.coding.max_burst, tuple)
    assert q.early_exit is not None and len(q.early_exit.margins) == 2
    acc = json.loads(res.output.splitlines()[-1])
    assert 1 <= acc["mean_exit_step"] < 2 and acc["accuracy_snn"] >= 0.95


def test_convert_cnn(tmp_path):
    """The bundled CNN converts (BatchNorm folded, pools fused) and builds."""
    from snnhw.ir import QuantNetwork
    res = CliRunner().invoke(main, ["convert", "--model", "digits_cnn", "--coding", "single_spike",
                                    "--window", "8", "--base", "1.5", "-o", str(tmp_path)])
    assert res.exit_code == 0, res.output
    q = QuantNetwork.load(tmp_path / "qnet.json")
    assert [l.pool for l in q.layers] == [("max", 2, 2), ("max", 2, 2), None]
    assert [l.in_shape for l in q.layers] == [(1, 8, 8), (8, 4, 4), (16, 2, 2)]
    assert json.loads(res.output.splitlines()[-1])["accuracy_snn"] >= 0.98
    res = CliRunner().invoke(main, ["build", str(tmp_path), "--lanes", "2,2,1"])
    assert res.exit_code == 0, res.output
    man = json.loads((tmp_path / "manifest.json").read_text())
    assert man["layers"][0]["kind"] == "conv" and man["layers"][0]["words_per_position"] == 4


def test_convert_avgpool_before_relu_is_a_clear_error(tmp_path):
    bad = nn.Sequential(nn.Unflatten(1, (1, 8, 8)), nn.Conv2d(1, 4, 3), nn.AvgPool2d(2), nn.ReLU(),
                        nn.Flatten(), nn.Linear(36, 10))
    torch.save(bad, tmp_path / "bad.pt")
    res = CliRunner().invoke(main, ["convert", "--model", str(tmp_path / "bad.pt"), "-o", str(tmp_path / "o")])
    assert res.exit_code == 1
    assert ("Error: layer '2' (AvgPool2d) comes before the ReLU of layer '1'; spiking neurons average "
            "after the ReLU: put the ReLU first") in res.output


def test_sim_dataset_of_the_wrong_width(tmp_path):
    """A data set whose images do not fit the network is a one-line error naming --dataset."""
    assert CliRunner().invoke(main, ["convert", "-T", "4", "-o", str(tmp_path)]).exit_code == 0
    res = CliRunner().invoke(main, ["sim", str(tmp_path), "--dataset", "digits28", "--images", "3"])
    assert res.exit_code == 1
    assert ("Error: --dataset digits28: network 'digits_mlp': input of shape (3, 784) does not match "
            "the model's input shape (64,) (expected (N, 64))") in res.output
    assert "Traceback" not in res.output


def test_convert_784_input_model(tmp_path):
    """The bundled digits_mlp784 converts on its own data set, digits28."""
    from snnhw.ir import QuantNetwork
    res = CliRunner().invoke(main, ["convert", "--model", "digits_mlp784", "-T", "8", "-o", str(tmp_path)])
    assert res.exit_code == 0, res.output
    assert QuantNetwork.load(tmp_path / "qnet.json").layers[0].weight.shape == (128, 784)
    acc = json.loads(res.output.splitlines()[-1])
    assert acc["accuracy_float"] >= 0.95 and acc["accuracy_snn"] >= acc["accuracy_quant"] - 0.015


def test_synth_clock_option_errors(tmp_path):
    from netgen import random_qnet
    qnet, _ = random_qnet(1)
    qnet.save(tmp_path / "qnet.json")
    res = CliRunner().invoke(main, ["synth", str(tmp_path), "--clock", "fast"])
    assert res.exit_code == 2
    assert ("Error: Invalid value for '--clock': expected 'max', 'board' or a frequency in MHz, "
            "got 'fast'") in res.output
    res = CliRunner().invoke(main, ["synth", str(tmp_path), "--clock", "-3"])
    assert res.exit_code == 2 and "got '-3'" in res.output
    res = CliRunner().invoke(main, ["synth", str(tmp_path), "--board", "ulx3s", "--clock", "9"])
    assert res.exit_code == 1
    assert ("Error: ECP5 PLL cannot make 9 MHz or less from 25 MHz: reachable outputs are "
            "10..400 MHz") in res.output
    res = CliRunner().invoke(main, ["synth", str(tmp_path), "--clock", "5"])
    assert res.exit_code == 1
    assert ("Error: iCE40 PLL cannot make 5 MHz or less from 12 MHz: reachable outputs are "
            "16.125..270 MHz") in res.output
    assert "Traceback" not in res.output
    assert not list(tmp_path.glob("synth_*"))   # nothing was built


def test_css_convert_and_build(tmp_path):
    res = CliRunner().invoke(main, ["convert", "--coding", "css", "-T", "3", "-o", str(tmp_path / "q")])
    assert res.exit_code == 0, res.output
    assert "CssCoding(timesteps=3)" in res.output
    res = CliRunner().invoke(main, ["build", str(tmp_path / "q"), "--lanes", "2,1"])
    assert res.exit_code == 0, res.output
    manifest = json.loads(next((tmp_path / "q").rglob("manifest.json")).read_text())
    assert manifest["coding"] == {"kind": "css", "timesteps": 3} and manifest["steps"] == 4


def test_option_of_another_coding_is_refused(tmp_path):
    res = CliRunner().invoke(main, ["convert", "--coding", "rate", "--window", "8", "-o", str(tmp_path)])
    assert res.exit_code != 0
    assert "option window = 8 does not apply to coding 'rate' (it takes: timesteps)" in res.output
    res = CliRunner().invoke(main, ["convert", "--coding", "burst", "--max-burst", "0", "-o", str(tmp_path)])
    assert "burst coding: max_burst must be a power of two in 1..16, got 0" in res.output
