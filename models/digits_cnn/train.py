"""Train the bundled CNN: a two-conv ReLU net with BatchNorm and max pooling on sklearn's digits (CPU, < 1 min).

Run: ``python models/digits_cnn/train.py`` -> writes ``model.pt`` (state dict) and
``metrics.json`` next to this file. Fixed split and seed (methods.md §0).
"""

import json
import pathlib

from torch import nn

from snnhw.train import train_and_save

HERE = pathlib.Path(__file__).resolve().parent
DATASET = "digits"


def build_model():
    """The architecture; ``snnhw`` loads ``model.pt`` into this. Inputs are flat (N, 64)."""
    return nn.Sequential(
        nn.Unflatten(1, (1, 8, 8)),
        nn.Conv2d(1, 8, 3, padding=1),
        nn.BatchNorm2d(8),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(8, 16, 3, padding=1),
        nn.BatchNorm2d(16),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(64, 10),
    )


if __name__ == "__main__":
    print(json.dumps(train_and_save(build_model, DATASET, HERE, epochs=60, seed=0, lr=1e-2)))
