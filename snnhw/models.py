"""Load a trained torch model: a bundled one by name, or a user's file."""

import importlib.util
import pathlib

from .ir import IRError

__all__ = ["MODELS_DIR", "bundled_models", "load_torch_model"]

MODELS_DIR = pathlib.Path(__file__).resolve().parent.parent / "models"


def bundled_models():
    """Names of the models under ``models/`` that have ``train.py`` and ``model.pt``."""
    if not MODELS_DIR.is_dir():
        return []
    return sorted(p.name for p in MODELS_DIR.iterdir()
                  if (p / "train.py").is_file() and (p / "model.pt").is_file())


def _import_file(path):
    spec = importlib.util.spec_from_file_location(f"snnhw_user_model_{path.stem}", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def load_torch_model(model, weights=None):
    """Return ``(module, name, dataset)``.

    Parameters
    ----------
    model : str
        A bundled model name (``digits_mlp``), a ``.py`` file defining ``build_model()``
        (optionally ``DATASET``), or a ``.pt`` file holding a whole pickled module.
    weights : str, optional
        State-dict file for a ``.py`` model (default ``model.pt`` beside it).
    """
    import torch

    path = pathlib.Path(model)
    if model in bundled_models():
        path = MODELS_DIR / model / "train.py"
    if path.suffix == ".pt" and path.is_file():
        module = torch.load(path, map_location="cpu", weights_only=False)
        if not isinstance(module, torch.nn.Module):
            raise IRError(f"{path}: holds a {type(module).__name__}, not a torch nn.Module "
                          f"(for a state dict pass the .py file that builds the model)")
        return module.eval(), path.stem, "digits"
    if path.suffix != ".py" or not path.is_file():
        raise IRError(f"model {model!r}: not a bundled model ({', '.join(bundled_models()) or 'none'}), "
                      f"a .py file with build_model(), or a pickled .pt module")
    mod = _import_file(path)
    if not hasattr(mod, "build_model"):
        raise IRError(f"{path}: defines no build_model()")
    module = mod.build_model()
    wpath = pathlib.Path(weights) if weights else path.parent / "model.pt"
    if not wpath.is_file():
        raise IRError(f"model {model!r}: weights file {wpath} not found (train it first: python {path})")
    module.load_state_dict(torch.load(wpath, map_location="cpu"))
    name = path.parent.name if path.name == "train.py" else path.stem
    return module.eval(), name, getattr(mod, "DATASET", "digits")
