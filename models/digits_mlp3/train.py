"""A 3-layer model: 64-128-64-10 ReLU MLP on sklearn's digits (CPU, < 1 min).

Run: ``python models/digits_mlp3/train.py`` -> ``model.pt`` and ``metrics.json`` beside this file.
Used to measure layer pipelining over three layer engines.
"""

import json
import pathlib

from torch import nn

from snnhw.train import train_and_save

HERE = pathlib.Path(__file__).resolve().parent
DATASET = "digits"


def build_model():
    return nn.Sequential(
        nn.Flatten(),
        nn.Linear(64, 128), nn.ReLU(), nn.Dropout(0.1),
        nn.Linear(128, 64), nn.ReLU(),
        nn.Linear(64, 10),
    )


if __name__ == "__main__":
    print(json.dumps(train_and_save(build_model, DATASET, HERE, epochs=60, seed=0)))
