"""Bundled data sets and the project's standard split (methods.md §0)."""

import numpy as np

__all__ = ["load_dataset", "DATASETS"]

DATASETS = ("digits", "iris", "wine", "breast_cancer")


def load_dataset(name="digits"):
    """Load a bundled scikit-learn data set with the standard split.

    Returns
    -------
    (x_train, y_train, x_test, y_test) : float32 arrays scaled to [0, 1], int64 labels.
        ``digits`` pixels are divided by 16; the other sets are min-max scaled with
        the training set's range. Split: ``train_test_split(test_size=0.25,
        random_state=0, stratify=y)``.
    """
    from sklearn import datasets
    from sklearn.model_selection import train_test_split

    loaders = {
        "digits": datasets.load_digits,
        "iris": datasets.load_iris,
        "wine": datasets.load_wine,
        "breast_cancer": datasets.load_breast_cancer,
    }
    if name not in loaders:
        raise ValueError(f"unknown data set {name!r}; choose one of {', '.join(DATASETS)}")
    bunch = loaders[name]()
    x = np.asarray(bunch.data, dtype=np.float64)
    y = np.asarray(bunch.target, dtype=np.int64)
    x_tr, x_te, y_tr, y_te = train_test_split(x, y, test_size=0.25, random_state=0, stratify=y)
    if name == "digits":
        x_tr, x_te = x_tr / 16.0, x_te / 16.0
    else:
        lo, hi = x_tr.min(axis=0), x_tr.max(axis=0)
        span = np.where(hi > lo, hi - lo, 1.0)
        x_tr, x_te = (x_tr - lo) / span, np.clip((x_te - lo) / span, 0.0, 1.0)
    return (x_tr.astype(np.float32), y_tr, x_te.astype(np.float32), y_te)
