import hashlib
import json
import subprocess
import sys

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from scipy.ndimage import zoom

from snnhw.data import DATASETS, load_dataset, preprocessing, upsample_digits
from snnhw.models import MODELS_DIR, bundled_models, load_torch_model


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits")


@pytest.fixture(scope="module")
def digits28():
    return load_dataset("digits28")


def _sha256(arrays):
    return hashlib.sha256(b"".join(a.tobytes() for a in arrays)).hexdigest()


def _all_rows(split):
    x_tr, y_tr, x_te, y_te = split
    return np.concatenate([x_tr, x_te]).astype(np.float64), np.concatenate([y_tr, y_te])


def test_digits28_shapes_dtypes_range(digits28):
    x_tr, y_tr, x_te, y_te = digits28
    assert x_tr.shape == (1347, 784) and x_te.shape == (450, 784)
    assert y_tr.shape == (1347,) and y_te.shape == (450,)
    assert x_tr.dtype == x_te.dtype == np.float32
    assert y_tr.dtype == y_te.dtype == np.int64
    for x in (x_tr, x_te):
        assert x.min() >= 0.0 and x.max() <= 1.0


def test_digits28_has_the_digits_split(digits, digits28):
    """Same labels, and each row is the upsampled digits row of the same position."""
    for part in (1, 3):
        assert_array_equal(digits28[part], digits[part])
    for part in (0, 2):
        assert_array_equal(digits28[part], upsample_digits(digits[part]).astype(np.float32))


def test_downsampled_back_matches_its_source(digits, digits28):
    """The inverse bilinear mapping (28×28 → 8×8) of every image correlates with its own 8×8 source
    above 0.98, and more than with any other image's source."""
    x28, _ = _all_rows(digits28)
    x8, _ = _all_rows(digits)
    back = np.array([zoom(img.reshape(28, 28), 8 / 28, order=1).reshape(-1) for img in x28])

    def unit_rows(x):
        x = x - x.mean(axis=1, keepdims=True)
        return x / np.linalg.norm(x, axis=1, keepdims=True)

    corr = unit_rows(back) @ unit_rows(x8).T
    assert np.diag(corr).min() > 0.98
    assert_array_equal(corr.argmax(axis=1), np.arange(len(x8)))


def test_upsample_is_bilinear_with_aligned_corners():
    """A linear ramp stays a linear ramp, and the corners are the source's corners exactly."""
    rows, cols = np.mgrid[0:8, 0:8] / 7.0
    ramp = (0.25 * rows + 0.5 * cols).reshape(1, 64)
    out = upsample_digits(ramp).reshape(28, 28)
    out_rows, out_cols = np.mgrid[0:28, 0:28] / 27.0
    assert_allclose(out, 0.25 * out_rows + 0.5 * out_cols, rtol=0, atol=1e-12)
    x = np.random.default_rng(0).random((5, 64))
    corners = upsample_digits(x).reshape(5, 28, 28)[:, [0, 0, -1, -1], [0, -1, 0, -1]]
    assert_array_equal(corners, x.reshape(5, 8, 8)[:, [0, 0, -1, -1], [0, -1, 0, -1]])


def test_digits28_is_deterministic(digits28):
    """Same bytes on a second load and in a fresh interpreter."""
    assert _sha256(load_dataset("digits28")) == _sha256(digits28)
    code = ("import hashlib; from snnhw.data import load_dataset; "
            "print(hashlib.sha256(b''.join(a.tobytes() for a in load_dataset('digits28'))).hexdigest())")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == _sha256(digits28)


def test_other_sets_are_min_max_scaled():
    x_tr, _, x_te, _ = load_dataset("iris")
    assert_array_equal(x_tr.min(axis=0), np.zeros(4, np.float32))
    assert_array_equal(x_tr.max(axis=0), np.ones(4, np.float32))
    assert x_te.min() >= 0.0 and x_te.max() <= 1.0


def test_unknown_data_set():
    msg = "unknown data set 'mnist'; choose one of digits, digits28, iris, wine, breast_cancer"
    with pytest.raises(ValueError) as err:
        load_dataset("mnist")
    assert str(err.value) == msg
    with pytest.raises(ValueError) as err:
        preprocessing("mnist")
    assert str(err.value) == msg


def test_upsample_bad_input():
    with pytest.raises(ValueError) as err:
        upsample_digits(np.zeros((3, 63)))
    assert str(err.value) == "upsample_digits: x must have shape (n, 64), got (3, 63)"
    with pytest.raises(ValueError) as err:
        upsample_digits(np.zeros((3, 64)), size=28.0)
    assert str(err.value) == "upsample_digits: size must be an integer >= 2, got 28.0"


def test_preprocessing_notes():
    assert {name: preprocessing(name) for name in DATASETS} == {
        "digits": "X/16",
        "digits28": "X/16, bilinear 8x8 -> 28x28 (scipy.ndimage.zoom order=1)",
        "iris": "min-max scaled", "wine": "min-max scaled", "breast_cancer": "min-max scaled"}


def test_bundled_digits_mlp784(digits28):
    """The bundled 784-input model is found, uses digits28, and reproduces its metrics.json."""
    import torch

    assert "digits_mlp784" in bundled_models()
    module, name, dataset = load_torch_model("digits_mlp784")
    assert (name, dataset) == ("digits_mlp784", "digits28")
    metrics = json.loads((MODELS_DIR / "digits_mlp784" / "metrics.json").read_text())
    split = "train_test_split(test_size=0.25, random_state=0, stratify=y)"
    assert metrics["split"] == f"{split}, {preprocessing('digits28')}"
    _, _, x_te, y_te = digits28
    with torch.no_grad():
        predicted = module(torch.tensor(x_te)).argmax(1).numpy()
    assert round(float((predicted == y_te).mean()), 4) == metrics["accuracy_test_float"]
