"""Checks of a saved quantised network (``qnet.json`` + ``qnet.npz``) before it is trusted.

A saved network is read as untrusted input: every key, type and array is checked, and the
static widths are recomputed from the weights, biases and thresholds it holds
(``docs/semantics.md`` §1.5). A file whose widths differ from that bound — say an
``acc_bits`` edited to 8 — is refused: the accumulators built from it could wrap.
"""

import json
import math
import zipfile

import numpy as np

from .errors import IRError

__all__ = ["FORMAT", "read_meta", "read_arrays", "check_widths"]

#: The ``format`` string of every saved network.
FORMAT = "snnhw.QuantNetwork/1"

_TOP = {"format": str, "name": str, "input_shape": list, "input_bits": int, "input_signed": bool,
        "input_scale": float, "coding": dict, "calibration": dict, "early_exit": (list, type(None)),
        "layers": list}
_LAYER = {"name": str, "threshold": int, "weight_bits": int, "spiking": bool, "acc_bits": int,
          "current_bits": int, "in_shape": list, "stride": list, "padding": list,
          "pool": (list, type(None))}


def _type_ok(value, kind):
    if kind is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if kind is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, kind)


def _type_name(kind):
    names = {str: "a string", int: "an integer", float: "a number", bool: "true or false",
             list: "a list", dict: "an object", (list, type(None)): "a list or null"}
    return names[kind]


def _check_keys(obj, schema, where):
    if not isinstance(obj, dict):
        raise IRError(f"{where}: expected an object, got {type(obj).__name__}")
    missing = sorted(set(schema) - set(obj))
    if missing:
        raise IRError(f"{where}: missing key {missing[0]!r}")
    extra = sorted(set(obj) - set(schema))
    if extra:
        raise IRError(f"{where}: unknown key {extra[0]!r} (a file written by snnhw has "
                      f"{', '.join(sorted(schema))})")
    for key, kind in schema.items():
        if not _type_ok(obj[key], kind):
            raise IRError(f"{where}: {key!r} must be {_type_name(kind)}, got {obj[key]!r}")


def _int_list(values, where, length=None, low=None):
    if (length is not None and len(values) != length) or \
            any(not _type_ok(v, int) or (low is not None and v < low) for v in values):
        want = f"{length} " if length is not None else ""
        floor = f" >= {low}" if low is not None else ""
        raise IRError(f"{where}: expected a list of {want}integers{floor}, got {values!r}")


def read_meta(path):
    """The checked JSON of the network at ``path`` (a ``.json`` path)."""
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise IRError(f"no quantised network at {path}") from None
    except (OSError, UnicodeDecodeError) as e:
        raise IRError(f"{path}: cannot read ({e})") from None
    try:
        meta = json.loads(text)
    except json.JSONDecodeError as e:
        raise IRError(f"{path}: not valid JSON ({e.msg} at line {e.lineno}, column {e.colno}); "
                      f"truncated or edited?") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise IRError(f"{path}: not a snnhw quantised network (no format {FORMAT!r})")
    _check_keys(meta, _TOP, str(path))
    _int_list(meta["input_shape"], f"{path}: 'input_shape'", low=1)
    scale = meta["input_scale"]
    if not (math.isfinite(scale) and scale > 0):
        raise IRError(f"{path}: 'input_scale' must be a positive finite number, got {scale!r}")
    if meta["early_exit"] is not None:
        _int_list(meta["early_exit"], f"{path}: 'early_exit'", low=0)
    if not meta["layers"]:
        raise IRError(f"{path}: 'layers' is empty")
    for k, lm in enumerate(meta["layers"]):
        where = f"{path}: layer {k}"
        _check_keys(lm, _LAYER, where)
        _int_list(lm["in_shape"], f"{where}: 'in_shape'", low=1)
        _int_list(lm["stride"], f"{where}: 'stride'", length=2, low=1)
        _int_list(lm["padding"], f"{where}: 'padding'", length=2, low=0)
        if lm["pool"] is not None and (len(lm["pool"]) != 3 or not isinstance(lm["pool"][0], str)):
            raise IRError(f"{where}: 'pool' must be [kind, kh, kw] or null, got {lm['pool']!r}")
        if lm["pool"] is not None:
            _int_list(lm["pool"][1:], f"{where}: 'pool' window", length=2, low=1)
        if lm["acc_bits"] < 1 or lm["current_bits"] < 0:
            raise IRError(f"{where}: widths acc_bits {lm['acc_bits']} / current_bits "
                          f"{lm['current_bits']} are not widths (a saved network has them set)")
    return meta


def read_arrays(path, n_layers):
    """Per layer ``(weight, bias)`` from the ``.npz`` at ``path``, integer arrays only."""
    try:
        with np.load(path, allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in npz.files}
    except FileNotFoundError:
        raise IRError(f"{path}: missing (the weights and biases of the network beside it)") from None
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as e:
        raise IRError(f"{path}: not a readable .npz ({e}); truncated or overwritten?") from None
    want = {f"{c}{k}" for k in range(n_layers) for c in "wb"}
    if set(arrays) != want:
        odd = sorted(want - set(arrays)) or sorted(set(arrays) - want)
        raise IRError(f"{path}: arrays {', '.join(odd)} do not match the {n_layers} layers of "
                      f"the network (expected w0, b0, ...)")
    for key, a in arrays.items():
        if not np.issubdtype(a.dtype, np.integer):
            raise IRError(f"{path}: array {key!r} holds {a.dtype} values; weights and biases are integers")
    return [(arrays[f"w{k}"], arrays[f"b{k}"]) for k in range(n_layers)]


def check_widths(qnet, where):
    """Refuse a network whose stored widths are not the static bound of its own numbers."""
    from .passes.widths import bound_widths

    for stored, bound in zip(qnet.layers, bound_widths(qnet).layers):
        for field in ("acc_bits", "current_bits"):
            have, need = getattr(stored, field), getattr(bound, field)
            if have != need:
                raise IRError(f"{where}: layer {stored.name!r} stores {field} {have}, but its "
                              f"weights, biases and threshold need {need} (docs/semantics.md "
                              f"§1.5); the file was edited or written by another snnhw — "
                              f"convert the model again")
