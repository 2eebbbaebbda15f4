import numpy as np
import pytest
import torch
from torch import nn

from snnhw.frontend import from_torch
from snnhw.frontend.torch import FrontendError


def test_sequential_mlp():
    m = nn.Sequential(nn.Flatten(), nn.Linear(4, 3), nn.ReLU(), nn.Dropout(0.2), nn.Linear(3, 2))
    net = from_torch(m, input_shape=(2, 2))
    assert [l.name for l in net.layers] == ["1", "4"]
    x = np.random.default_rng(0).uniform(size=(5, 2, 2))
    with torch.no_grad():
        ref = m.eval()(torch.tensor(x, dtype=torch.float64).float()).double().numpy()
    assert np.abs(net.forward(x) - ref).max() < 1e-5   # float frontend check, not a bit-exactness test


def test_nested_and_no_bias():
    m = nn.Sequential(nn.Sequential(nn.Linear(4, 3, bias=False), nn.ReLU()), nn.Linear(3, 2))
    net = from_torch(m)
    assert [l.name for l in net.layers] == ["0.0", "1"]
    assert net.layers[0].bias.tolist() == [0.0, 0.0, 0.0]


def test_traced_module():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.a = nn.Linear(4, 3)
            self.b = nn.Linear(3, 2)

        def forward(self, x):
            return self.b(torch.relu(self.a(torch.flatten(x, 1))))

    net = from_torch(Net())
    assert [l.name for l in net.layers] == ["a", "b"]


def test_unsupported_layer_is_named():
    m = nn.Sequential(nn.Linear(4, 3), nn.Sigmoid(), nn.Linear(3, 2))
    with pytest.raises(FrontendError, match=r"^layer '1' \(Sigmoid\) is not supported; supported: "
                                            r"Linear, Conv2d, BatchNorm1d, BatchNorm2d, ReLU, AvgPool2d, "
                                            r"MaxPool2d, Flatten, Unflatten, Dropout, Identity$"):
        from_torch(m)


def test_linear_without_relu():
    m = nn.Sequential(nn.Linear(4, 3), nn.Linear(3, 2))
    with pytest.raises(FrontendError, match=r"layers '0' and '1': two weight layers without a ReLU between them"):
        from_torch(m)


def test_input_shape_mismatch():
    with pytest.raises(FrontendError, match=r"input shape \(3, 3\) has 9 values but layer '0' expects 4 inputs"):
        from_torch(nn.Sequential(nn.Linear(4, 2)), input_shape=(3, 3))


def test_nan_weights_named():
    m = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2))
    with torch.no_grad():
        m[2].weight[0, 1] = float("nan")
    with pytest.raises(Exception, match=r"layer '2': weight has 1 non-finite value"):
        from_torch(m)


def test_branching_module_rejected():
    class Skip(nn.Module):
        def __init__(self):
            super().__init__()
            self.a = nn.Linear(4, 4)

        def forward(self, x):
            return self.a(x) + x

    with pytest.raises(FrontendError, match="not supported|straight chain"):
        from_torch(Skip())


# -- convolutional networks ------------------------------------------------------------------

import re

from snnhw.ir import Conv2d, Dense, Pool2d


def _cnn(*middle, shape=(1, 6, 6)):
    """``Unflatten`` (layer '0') then the given layers; the failing one is layer '1' or later."""
    return nn.Sequential(nn.Unflatten(1, shape), *middle)


def _raises(m, message, **kw):
    with pytest.raises(FrontendError, match="^" + re.escape(message) + "$"):
        from_torch(m, **kw)


def test_conv_groups_rejected():
    _raises(_cnn(nn.Conv2d(2, 4, 3, groups=2), nn.ReLU(), nn.Flatten(), nn.Linear(64, 2), shape=(2, 6, 6)),
            "layer '1' (Conv2d): groups = 2 is not supported (only 1)")


def test_conv_dilation_rejected():
    _raises(_cnn(nn.Conv2d(1, 2, 3, dilation=2), nn.ReLU(), nn.Flatten(), nn.Linear(8, 2)),
            "layer '1' (Conv2d): dilation (2, 2) is not supported (only 1)")


def test_conv_padding_mode_rejected():
    _raises(_cnn(nn.Conv2d(1, 2, 3, padding=1, padding_mode="reflect"), nn.ReLU(), nn.Flatten(),
                 nn.Linear(72, 2)),
            "layer '1' (Conv2d): padding_mode 'reflect' is not supported (only 'zeros')")


def test_conv_same_padding_even_kernel_rejected():
    _raises(_cnn(nn.Conv2d(1, 2, (3, 2), padding="same"), nn.ReLU(), nn.Flatten(), nn.Linear(72, 2)),
            "layer '1' (Conv2d): padding='same' with an even kernel (3, 2) pads unevenly; not supported")


def test_conv_same_padding_odd_kernel_matches_torch():
    torch.manual_seed(1)
    m = _cnn(nn.Conv2d(1, 2, (3, 5), padding="same"), nn.ReLU(), nn.Flatten(), nn.Linear(72, 2)).eval()
    net = from_torch(m)
    assert net.layers[0].padding == (1, 2)
    x = np.random.default_rng(1).uniform(size=(4, 36))
    with torch.no_grad():
        ref = m(torch.tensor(x, dtype=torch.float32)).double().numpy()
    assert np.abs(net.forward(x) - ref).max() < 1e-5


def test_avgpool_overlapping_rejected():
    _raises(_cnn(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.AvgPool2d(2, stride=1), nn.Flatten(), nn.Linear(18, 2)),
            "layer '3' (AvgPool2d): stride (1, 1) differs from kernel (2, 2); only non-overlapping "
            "pooling is supported")


def test_maxpool_padding_rejected():
    _raises(_cnn(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.MaxPool2d(2, padding=1), nn.Flatten(), nn.Linear(18, 2)),
            "layer '3' (MaxPool2d): padding and ceil_mode are not supported")


def test_avgpool_before_relu_rejected():
    _raises(_cnn(nn.Conv2d(1, 2, 3), nn.AvgPool2d(2), nn.ReLU(), nn.Flatten(), nn.Linear(8, 2)),
            "layer '2' (AvgPool2d) comes before the ReLU of layer '1'; spiking neurons average after "
            "the ReLU: put the ReLU first")


def test_batchnorm_after_relu_rejected():
    _raises(_cnn(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.BatchNorm2d(2), nn.Flatten(), nn.Linear(32, 2)),
            "layer '3' (BatchNorm2d) must directly follow a Linear or Conv2d layer to be folded into it")


def test_first_conv_needs_input_shape():
    m = nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.Flatten(), nn.Linear(32, 2))
    _raises(m, "model 'Sequential': the first layer '0' is a Conv2d; give input_shape=(C, H, W) or "
               "start the model with nn.Unflatten")
    net = from_torch(m, input_shape=(1, 6, 6))            # accepted with the shape given
    assert net.input_shape == (1, 6, 6)


def test_unflatten_conv_maxpool_before_relu_matches_torch():
    """A max pool before the ReLU is accepted: the two commute."""
    torch.manual_seed(0)
    m = nn.Sequential(nn.Unflatten(1, (2, 7, 6)), nn.Conv2d(2, 3, 3, padding=1), nn.MaxPool2d(2),
                      nn.ReLU(), nn.Conv2d(3, 4, (2, 1), stride=(1, 2)), nn.ReLU(), nn.Flatten(),
                      nn.Linear(4 * 2 * 2, 3)).eval()
    net = from_torch(m)
    assert net.input_shape == (2, 7, 6)
    assert [type(l) for l in net.layers] == [Conv2d, Pool2d, Conv2d, Dense]
    assert [l.name for l in net.layers] == ["1", "2", "4", "7"]
    assert net.layers[1].kind == "max" and net.layers[1].kernel == (2, 2)
    assert net.layers[2].stride == (1, 2) and net.layers[2].padding == (0, 0)
    x = np.random.default_rng(2).normal(size=(6, 2 * 7 * 6))
    with torch.no_grad():
        ref = m(torch.tensor(x, dtype=torch.float32)).double().numpy()
    assert np.abs(net.forward(x) - ref).max() < 1e-5   # float frontend check
    assert np.abs(net.forward(x.reshape(6, 2, 7, 6)) - ref).max() < 1e-5


@pytest.mark.parametrize("dim", [1, -1])
def test_unflatten_flat_dim_accepted(dim):
    """The flat input (N, n) is unflattened along its dim 1, which torch also calls -1."""
    torch.manual_seed(3)
    m = nn.Sequential(nn.Unflatten(dim, (1, 6, 6)), nn.Conv2d(1, 2, 3), nn.ReLU(), nn.Flatten(),
                      nn.Linear(32, 2)).eval()
    net = from_torch(m)
    assert net.input_shape == (1, 6, 6)
    x = np.random.default_rng(3).uniform(size=(4, 36))
    with torch.no_grad():
        ref = m(torch.tensor(x, dtype=torch.float32)).double().numpy()
    assert np.abs(net.forward(x) - ref).max() < 1e-5


@pytest.mark.parametrize("dim", [2, -4])
def test_unflatten_other_dim_rejected(dim):
    """dim 2 / -4 do not exist on the flat (N, n) input (torch itself raises IndexError)."""
    m = nn.Sequential(nn.Unflatten(dim, (1, 6, 6)), nn.Conv2d(1, 2, 3), nn.ReLU(), nn.Flatten(),
                      nn.Linear(32, 2))
    _raises(m, "layer '0' (Unflatten) is only supported first, on the flat input (dim 1)")
