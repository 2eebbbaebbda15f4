import pathlib
import sys

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent / "tests"))


@pytest.fixture(scope="session")
def digits():
    from snnhw.data import load_dataset
    from snnhw.ir import RateCoding
    from snnhw.models import load_torch_model
    from snnhw.passes import convert

    module, name, _ = load_torch_model("digits_mlp")
    x_tr, y_tr, x_te, y_te = load_dataset("digits")
    return convert(module, x_tr, RateCoding(16), name=name), x_te
