"""A 3-layer model: 64-128-64-10 ReLU MLP on sklearn's digits (CPU, < 1 min).

Run: ``python models/digits_mlp3/train.py`` -> ``model.pt`` and ``metrics.json`` beside this file.
Used to measure layer pipelining over three layer engines.
"""

import json
import pathlib

import torch
from torch import nn

from snnhw.train import train_classifier

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
    model, acc_tr, acc_te = train_classifier(build_model, DATASET, epochs=60, seed=0)
    torch.save(model.state_dict(), HERE / "model.pt")
    metrics = {"accuracy_train": round(acc_tr, 4), "accuracy_test_float": round(acc_te, 4),
               "split": "train_test_split(test_size=0.25, random_state=0, stratify=y), X/16"}
    (HERE / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    print(json.dumps(metrics))
