"""A small, deterministic classifier training loop for the bundled example models (CPU)."""

import numpy as np

from .data import load_dataset, preprocessing

__all__ = ["train_classifier", "train_and_save"]


def train_classifier(build_model, dataset="digits", epochs=60, seed=0, lr=3e-3, weight_decay=1e-4,
                     batch_size=32):
    """Build (after seeding) and train a model with Adam on a bundled data set's training split.

    Returns ``(model, accuracy_train, accuracy_test)`` (float model, eval mode).
    """
    import torch
    from torch import nn

    torch.manual_seed(seed)
    np.random.seed(seed)
    torch.use_deterministic_algorithms(True)
    x_tr, y_tr, x_te, y_te = load_dataset(dataset)
    xt, yt = torch.tensor(x_tr), torch.tensor(y_tr)
    model = build_model()
    opt = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, epochs)
    loss_fn = nn.CrossEntropyLoss()
    gen = torch.Generator().manual_seed(seed)
    for _ in range(epochs):
        model.train()
        perm = torch.randperm(len(xt), generator=gen)
        for k in range(0, len(xt), batch_size):
            idx = perm[k:k + batch_size]
            opt.zero_grad()
            loss_fn(model(xt[idx]), yt[idx]).backward()
            opt.step()
        sched.step()
    model.eval()
    with torch.no_grad():
        acc_tr = (model(xt).argmax(1) == yt).float().mean().item()
        acc_te = (model(torch.tensor(x_te)).argmax(1).numpy() == y_te).mean()
    return model, float(acc_tr), float(acc_te)


def train_and_save(build_model, dataset, directory, **kwargs):
    """Train, then write ``model.pt`` (state dict) and ``metrics.json`` into ``directory``."""
    import json
    import pathlib

    import torch

    model, acc_tr, acc_te = train_classifier(build_model, dataset, **kwargs)
    directory = pathlib.Path(directory)
    torch.save(model.state_dict(), directory / "model.pt")
    split = "train_test_split(test_size=0.25, random_state=0, stratify=y)"
    metrics = {"accuracy_train": round(acc_tr, 4), "accuracy_test_float": round(acc_te, 4),
               "split": f"{split}, {preprocessing(dataset)}"}
    (directory / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    return metrics
