"""Bundled data sets and the project's standard split.

Every set is one of scikit-learn's bundled ones (nothing is downloaded), split with
``train_test_split(test_size=0.25, random_state=0, stratify=y)`` on the loader's row order.
"""

import numpy as np

__all__ = ["DATASETS", "load_dataset", "preprocessing", "upsample_digits"]

DATASETS = ("digits", "digits28", "iris", "wine", "breast_cancer")

# How each set's features are brought to [0, 1]; ``None``: min-max with the training set's range.
_PREPROCESSING = {
    "digits": "X/16",
    "digits28": "X/16, bilinear 8x8 -> 28x28 (scipy.ndimage.zoom order=1)",
    "iris": None,
    "wine": None,
    "breast_cancer": None,
}


def _check_name(name):
    if name not in DATASETS:
        raise ValueError(f"unknown data set {name!r}; choose one of {', '.join(DATASETS)}")


def preprocessing(name):
    """One-line description of how data set ``name``'s features are scaled (for ``metrics.json``)."""
    _check_name(name)
    return _PREPROCESSING[name] or "min-max scaled"


def upsample_digits(x, size=28):
    """Upsample flat 8×8 digit images to ``size × size`` by bilinear interpolation.

    Bilinear (``scipy.ndimage.zoom``, ``order=1``, corners aligned) is chosen because each output
    pixel is a convex combination of at most four neighbouring source pixels: values stay in the
    source's range (here [0, 1]) with no clipping, there is no ringing (a cubic spline overshoots),
    and unlike nearest-neighbour it gives no uneven blocks (28 / 8 = 3.5 is not an integer).
    Corner pixels equal the source's corners. The result is a pure function of ``x`` (no randomness).

    Parameters
    ----------
    x : array of shape (n, 64)
        Images flattened row-major.
    size : int
        Side of the output images.

    Returns
    -------
    array of shape (n, size * size), float64, flattened row-major.
    """
    from scipy.ndimage import zoom

    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2 or x.shape[1] != 64:
        raise ValueError(f"upsample_digits: x must have shape (n, 64), got {x.shape}")
    if isinstance(size, bool) or not isinstance(size, int) or size < 2:
        raise ValueError(f"upsample_digits: size must be an integer >= 2, got {size!r}")
    images = [zoom(img, size / 8, order=1, grid_mode=False) for img in x.reshape(-1, 8, 8)]
    return np.array(images, dtype=np.float64).reshape(len(x), size * size)


def _features(name):
    """All rows ``(x, y)`` of data set ``name``, in the loader's order, before any split."""
    from sklearn import datasets

    loaders = {
        "digits": datasets.load_digits,
        "digits28": datasets.load_digits,
        "iris": datasets.load_iris,
        "wine": datasets.load_wine,
        "breast_cancer": datasets.load_breast_cancer,
    }
    bunch = loaders[name]()
    x = np.asarray(bunch.data, dtype=np.float64)
    y = np.asarray(bunch.target, dtype=np.int64)
    if name in ("digits", "digits28"):
        x = x / 16.0
    if name == "digits28":
        x = upsample_digits(x)
    return x, y


def load_dataset(name="digits"):
    """Load a bundled scikit-learn data set with the standard split.

    Parameters
    ----------
    name : str
        One of ``DATASETS``. ``digits28`` is ``digits`` upsampled to 28×28 (784 features,
        see :func:`upsample_digits`), with the same rows in the same split.

    Returns
    -------
    (x_train, y_train, x_test, y_test) : float32 arrays scaled to [0, 1], int64 labels.
        ``digits`` pixels are divided by 16 (``digits28`` too, before upsampling); the other
        sets are min-max scaled with the training set's range. Split: ``train_test_split(
        test_size=0.25, random_state=0, stratify=y)``.
    """
    from sklearn.model_selection import train_test_split

    _check_name(name)
    x, y = _features(name)
    x_tr, x_te, y_tr, y_te = train_test_split(x, y, test_size=0.25, random_state=0, stratify=y)
    if _PREPROCESSING[name] is None:
        lo, hi = x_tr.min(axis=0), x_tr.max(axis=0)
        span = np.where(hi > lo, hi - lo, 1.0)
        x_tr, x_te = (x_tr - lo) / span, np.clip((x_te - lo) / span, 0.0, 1.0)
    return (x_tr.astype(np.float32), y_tr, x_te.astype(np.float32), y_te)
