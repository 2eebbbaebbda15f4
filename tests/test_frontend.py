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
