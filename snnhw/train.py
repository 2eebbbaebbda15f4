"""A small, deterministic classifier training loop for the bundled example models (CPU)."""

import numpy as np

from .data import load_dataset

__all__ = ["train_classifier"]


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
