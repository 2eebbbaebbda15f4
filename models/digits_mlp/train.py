"""Train the default model: a 64-128-10 ReLU MLP on sklearn's digits (CPU, < 1 min).

Run: ``python models/digits_mlp/train.py`` -> writes ``model.pt`` (state dict) and
``metrics.json`` next to this file. Fixed split and seed (methods.md §0).
"""

import json
import pathlib

from torch import nn

from snnhw.train import train_and_save

HERE = pathlib.Path(__file__).resolve().parent
DATASET = "digits"


def build_model():
    """The architecture; ``snnhw`` loads ``model.pt`` into this."""
    return nn.Sequential(
        nn.Flatten(),
        nn.Linear(64, 128),
        nn.ReLU(),
        nn.Dropout(0.1),
        nn.Linear(128, 10),
    )


if __name__ == "__main__":
    print(json.dumps(train_and_save(build_model, DATASET, HERE, epochs=60, seed=0)))
