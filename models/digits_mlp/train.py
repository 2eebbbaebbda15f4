"""Train the default model: a 64-128-10 ReLU MLP on sklearn's digits (CPU, < 1 min).

Run: ``python models/digits_mlp/train.py`` -> writes ``model.pt`` (state dict) and
``metrics.json`` next to this file. Fixed split and seed (methods.md §0).
"""

import json
import pathlib

import numpy as np
import torch
from torch import nn

from snnhw.data import load_dataset

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


def train(epochs=60, seed=0):
    torch.manual_seed(seed)
    np.random.seed(seed)
    torch.use_deterministic_algorithms(True)
    x_tr, y_tr, x_te, y_te = load_dataset("digits")
    xt, yt = torch.tensor(x_tr), torch.tensor(y_tr)
    model = build_model()
    opt = torch.optim.Adam(model.parameters(), lr=3e-3, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, epochs)
    loss_fn = nn.CrossEntropyLoss()
    gen = torch.Generator().manual_seed(seed)
    for _ in range(epochs):
        model.train()
        perm = torch.randperm(len(xt), generator=gen)
        for k in range(0, len(xt), 32):
            idx = perm[k:k + 32]
            opt.zero_grad()
            loss_fn(model(xt[idx]), yt[idx]).backward()
            opt.step()
        sched.step()
    model.eval()
    with torch.no_grad():
        acc_tr = (model(xt).argmax(1) == yt).float().mean().item()
        acc_te = (model(torch.tensor(x_te)).argmax(1).numpy() == y_te).mean()
    return model, float(acc_tr), float(acc_te)


if __name__ == "__main__":
    model, acc_tr, acc_te = train()
    torch.save(model.state_dict(), HERE / "model.pt")
    metrics = {"accuracy_train": round(acc_tr, 4), "accuracy_test_float": round(acc_te, 4),
               "split": "train_test_split(test_size=0.25, random_state=0, stratify=y), X/16"}
    (HERE / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    print(json.dumps(metrics))
