"""Compare the resource model (snnhw.resources) with Yosys, layer engine by layer engine.

Run: ``.venv/bin/python scripts/calibrate_resources.py [out.json]``. Synthesises every layer
engine of a set of designs on its own (``synth_ice40``, flattened) — the bundled models under
every coding and several plans, and networks they were not tuned on — and prints predicted
vs synthesised LUT, FF, carry, EBR, SPRAM and DSP. The JSON keeps every row, to refit
:data:`snnhw.resources.LOGIC_SCALE` and the per-part formulas.
"""

import json
import pathlib
import sys
import warnings

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent / "tests"))

from netgen import random_cnn, random_qnet                      # noqa: E402

from snnhw.breakdown import yosys_breakdown                      # noqa: E402
from snnhw.data import load_dataset                              # noqa: E402
from snnhw.hw.accelerator import SNNAccelerator                  # noqa: E402
from snnhw.ir import BurstCoding, RateCoding, SingleSpikeCoding  # noqa: E402
from snnhw.models import load_torch_model                        # noqa: E402
from snnhw.passes import convert                                 # noqa: E402
from snnhw.plan import DesignPlan, LayerPlan                     # noqa: E402
from snnhw.resources import layer_resources                      # noqa: E402

__all__ = ["designs", "fit"]


def designs():
    x_tr = load_dataset("digits")[0]
    mlp = load_torch_model("digits_mlp")[0]
    cnn = load_torch_model("digits_cnn")[0]
    ss = convert(mlp, x_tr, SingleSpikeCoding(16, 1.25), name="digits_mlp")
    yield "mlp-ss-1", ss, (1, 1)
    yield "mlp-ss-8spram", ss, (LayerPlan(8, "spram", "bram", "dsp"), LayerPlan(2, "bram", "ff", "lut"))
    yield "mlp-ss-4ff", ss, (LayerPlan(4, "bram", "bram", "dsp"), LayerPlan(5, "lut", "ff", "dsp"))
    rate = convert(mlp, x_tr, RateCoding(16), name="digits_mlp")
    yield "mlp-rate-1", rate, (1, 1)
    yield "mlp-rate-8", rate, (8, 10)
    burst = convert(mlp, x_tr, BurstCoding(2, 4), name="digits_mlp")
    yield "mlp-burst-6", burst, (LayerPlan(6, "bram", "bram", "dsp"), LayerPlan(3, "bram", "ff", "lut"))
    yield "cnn-ss-2", convert(cnn, x_tr, SingleSpikeCoding(8, 1.5), name="digits_cnn"), (2, 4, 2)
    yield "cnn-rate-4", convert(cnn, x_tr, RateCoding(8), name="digits_cnn"), (4, 8, 1)
    q, _ = random_qnet(5, (16, 30, 12, 6), timesteps=6)
    yield "rand-rate", q, (3, 2, 6)
    net, x = random_cnn(31, (2, 7, 7), ((4, 3, 2, 0, None), (3, 1, 1, 0, ("avg", 1))))
    yield "rand-cnn-burst", convert(net, x, BurstCoding(2, 4)), (4, 3, 1)


def main():
    warnings.filterwarnings("ignore")
    rows = []
    for name, q, lanes in designs():
        acc = SNNAccelerator(q, lanes=DesignPlan.of(q, lanes))
        got = yosys_breakdown(acc, f"build/calibrate/{name}")
        for k, lp in enumerate(acc.plan.layers):
            pred = layer_resources(q, k, lp).as_dict()
            syn = got[f"layer{k}"]
            rows.append({"design": name, "layer": k, "plan": lp.__dict__, "predicted": pred,
                         "synthesised": syn})
            print(f"{name:16s} L{k} " + "  ".join(f"{f} {pred[f]:5}/{syn[f]:<5}" for f in
                                                  ("lut", "ff", "carry", "bram", "spram", "dsp")),
                  flush=True)
    if len(sys.argv) > 1:
        pathlib.Path(sys.argv[1]).write_text(json.dumps(rows, indent=1))
    fit(rows)


def fit(rows):
    """Least-squares coefficients of :data:`snnhw.resources.LOGIC_SCALE` from the rows."""
    import numpy as np

    by_name = {name: (q, lanes) for name, q, lanes in designs()}
    feats, cells = [], []
    for row in rows:
        q, lanes = by_name[row["design"]]
        k = row["layer"]
        lp = DesignPlan.of(q, lanes).resolve(q).layers[k]
        raw = layer_resources(q, k, lp, raw=True)
        layer = q.layers[k]
        feats.append([(raw.lut, raw.ff, raw.carry)[i] for i in range(3)]
                     + [lp.lanes * layer.acc_bits, lp.lanes * layer.weight_bits, 1.0])
        cells.append([row["synthesised"][f] for f in ("lut", "ff", "carry")])
    feats, cells = np.array(feats, dtype=float), np.array(cells, dtype=float)
    for i, name in enumerate(("lut", "ff", "carry")):
        cols = [i, 3, 4, 5]
        coef, *_ = np.linalg.lstsq(feats[:, cols], cells[:, i], rcond=None)
        err = feats[:, cols] @ coef / cells[:, i] - 1
        print(f"{name}: coefficients {np.round(coef, 3).tolist()}  mean error {np.abs(err).mean():.1%} "
              f"largest {np.abs(err).max():.1%}")


if __name__ == "__main__":
    main()
