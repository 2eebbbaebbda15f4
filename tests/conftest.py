import pytest

from snnhw.ir import RateCoding
from snnhw.passes import convert


@pytest.fixture(scope="session")
def digits_qnet():
    from snnhw.data import load_dataset
    from snnhw.models import load_torch_model

    module, name, _ = load_torch_model("digits_mlp")
    x_tr, y_tr, x_te, y_te = load_dataset("digits")
    return convert(module, x_tr, RateCoding(16), name=name), (x_tr, y_tr, x_te, y_te)
