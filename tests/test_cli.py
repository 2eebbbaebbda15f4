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
    res = CliRunner().invoke(main, ["convert", "--weight-bits", "20", "-o", str(tmp_path)])
    assert res.exit_code == 1
    assert "Error: weight_bits must be an integer in 4..16, got 20" in res.output


def test_unknown_model():
    res = CliRunner().invoke(main, ["convert", "--model", "nope"])
    assert res.exit_code == 1
    from snnhw.models import bundled_models
    names = ", ".join(bundled_models())
    assert "digits_mlp" in names
    assert f"Error: model 'nope': not a bundled model ({names}), a .py file with build_model(), or a pickled .pt module" in res.output


def test_build_bad_lanes(tmp_path):
    assert CliRunner().invoke(main, ["convert", "-T", "4", "-o", str(tmp_path)]).exit_code == 0
    res = CliRunner().invoke(main, ["build", str(tmp_path), "--lanes", "3"])
    assert res.exit_code == 1
    assert "Error: layer '1': lanes must be a power of two in 1..64, got 3" in res.output
    res = CliRunner().invoke(main, ["build", str(tmp_path), "--lanes", "2,1"])
    assert res.exit_code == 0, res.output
    assert (tmp_path / "snnhw_core.v").is_file()
