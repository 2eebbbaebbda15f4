"""Train a 784-input model: a 784-128-10 ReLU MLP on the digits upsampled to 28×28 (CPU, < 1 min).

Run: ``python models/digits_mlp784/train.py`` -> writes ``model.pt`` (state dict) and
``metrics.json`` next to this file. Data set ``digits28`` (``snnhw.data``): the standard digits
split, images upsampled bilinearly to 28×28; fixed seed.
"""

import json
import pathlib

from torch import nn

from snnhw.train import train_and_save

HERE = pathlib.Path(__file__).resolve().parent
DATASET = "digits28"


def build_model():
    """The architecture; ``snnhw`` loads ``model.pt`` into this."""
    return nn.Sequential(
        nn.Flatten(),
        nn.Linear(784, 128),
        nn.ReLU(),
        nn.Dropout(0.1),
        nn.Linear(128, 10),
    )


if __name__ == "__main__":
    print(json.dumps(train_and_save(build_model, DATASET, HERE, epochs=60, seed=0)))
