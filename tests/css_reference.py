"""An independent, event-by-event reference of CSS coding (``docs/semantics.md`` §3c).

Plain Python for the tests: one image at a time, Python ints, one loop iteration per step,
neuron and event. Nothing here calls :mod:`snnhw.codings.css` or :mod:`snnhw.geometry`; the
rules are written again from the docs.

A network is a list of layer dicts:

``kind``
    ``"dense"`` or ``"conv"``.
``weight``
    Nested lists, ``[n_out][n_in]`` or ``[C_out][C_in][kh][kw]``.
``bias``
    ``[n_out]`` or ``[C_out]`` (added once, at step 1).
``threshold``, ``spiking``
    ``θ`` (int) and whether the layer fires (the last one does not).
``in_shape``, ``stride``, ``padding``, ``pool``
    Convolutions: ``(C, H, W)``, ``(sy, sx)``, ``(py, px)`` and ``None``, ``("avg", kh, kw)`` or
    ``("max", kh, kw)``. A dense layer reads its input flattened channel-major.

Events into a layer are ``inbox[τ] = {source: m}`` (one event per source and step, ``m ≠ 0``).
"""

__all__ = ["encode", "out_shape", "run_layer", "simulate", "tsa_fire"]


def tsa_fire(v, theta, allow_negative):
    """``+1`` if ``2v ≥ θ``, ``−1`` if ``2v ≤ −θ`` and allowed, else 0."""
    if 2 * v >= theta:
        return 1
    if 2 * v <= -theta and allow_negative:
        return -1
    return 0


def encode(xq, levels, timesteps):
    """The input encoder: ``(inbox, final, vmax)`` — layer 0's events per step ``0..S``, every
    encoder neuron's ``V(S)`` and the largest ``|V|`` seen."""
    steps = timesteps + 1
    inbox = [{} for _ in range(steps + 1)]
    final, vmax = [], 0
    for i, x in enumerate(xq):
        v = int(x)                                  # V(1) = x_q; step 1 is silent
        vmax = max(vmax, abs(v))
        for j in range(2, steps + 1):
            v = 2 * v
            vmax = max(vmax, abs(v))
            s = tsa_fire(v, levels, True)          # no positive-first rule for inputs
            v -= s * levels
            if s:
                inbox[j - 1][i] = s                # sent at step j: layer 0's step j - 1
        final.append(v)
    return inbox, final, vmax


def _conv_dims(layer):
    w = layer["weight"]
    return len(w), len(w[0][0]), len(w[0][0][0])


def out_shape(layer):
    """``(n_out,)`` or ``(C_out, Ho, Wo)`` cropped to whole pooling windows."""
    if layer["kind"] == "dense":
        return (len(layer["weight"]),)
    (_, h, w), (sy, sx), (py, px) = layer["in_shape"], layer["stride"], layer["padding"]
    co, kh, kw = _conv_dims(layer)
    ho, wo = (h + 2 * py - kh) // sy + 1, (w + 2 * px - kw) // sx + 1
    if layer.get("pool"):
        ho, wo = ho - ho % layer["pool"][1], wo - wo % layer["pool"][2]
    return (co, ho, wo)


def _size(shape):
    n = 1
    for d in shape:
        n *= d
    return n


def _targets(layer, src):
    """``[(neuron, weight)]`` an event from source ``src`` reaches."""
    if layer["kind"] == "dense":
        return [(j, row[src]) for j, row in enumerate(layer["weight"])]
    (_, h, w), (sy, sx), (py, px) = layer["in_shape"], layer["stride"], layer["padding"]
    c, rest = divmod(src, h * w)
    y, x = divmod(rest, w)
    co, ho, wo = out_shape(layer)
    _, kh, kw = _conv_dims(layer)
    out = []
    for o in range(co):
        for oy in range(ho):
            for ox in range(wo):
                ky, kx = y + py - oy * sy, x + px - ox * sx
                if 0 <= ky < kh and 0 <= kx < kw:
                    out.append(((o * ho + oy) * wo + ox, layer["weight"][o][c][ky][kx]))
    return out


def _n_in(layer):
    if layer["kind"] == "dense":
        return len(layer["weight"][0])
    return _size(layer["in_shape"])


def _bias(layer, j):
    if layer["kind"] == "dense":
        return layer["bias"][j]
    _, ho, wo = out_shape(layer)
    return layer["bias"][j // (ho * wo)]


def _windows(layer):
    """Per pooling window (in the pooled, channel-major order), its neurons."""
    co, ho, wo = out_shape(layer)
    _, kh, kw = layer["pool"]
    return [[(o * ho + wy * kh + dy) * wo + wx * kw + dx for dy in range(kh) for dx in range(kw)]
            for o in range(co) for wy in range(ho // kh) for wx in range(wo // kw)]


class _Pool:
    """What a spiking layer sends for its spikes of one step (docs §3c, pooling)."""

    def __init__(self, layer, n):
        self.kind = layer["pool"][0] if layer.get("pool") else None
        self.windows = _windows(layer) if self.kind else None
        self.c = [0] * n                                      # max: C(τ) per neuron
        self.peak = [0] * (len(self.windows) if self.kind else 0)   # max: M(τ) per window

    def send(self, spikes):
        if self.kind is None:
            return {j: s for j, s in enumerate(spikes) if s}
        if self.kind == "avg":
            sums = [sum(spikes[j] for j in win) for win in self.windows]
            return {w: m for w, m in enumerate(sums) if m}
        self.c = [2 * c + s for c, s in zip(self.c, spikes)]
        out = {}
        for w, win in enumerate(self.windows):
            peak = max(self.c[j] for j in win)
            e, self.peak[w] = peak - 2 * self.peak[w], peak
            if e:
                out[w] = e
        return out


def run_layer(layer, inbox, timesteps):
    """One layer over its steps ``1..S``: ``(spikes, outbox, final, vmax)`` with
    ``spikes[τ][j]``, the next layer's ``outbox[τ] = {source: m}``, ``V(S)`` per neuron, and
    the largest ``|V|`` before or after any fire."""
    steps, n = timesteps + 1, _size(out_shape(layer))
    fan = [_targets(layer, i) for i in range(_n_in(layer))]
    v, sent, vmax = [0] * n, [False] * n, 0
    spikes = [[0] * n for _ in range(steps + 1)]
    outbox = [{} for _ in range(steps + 1)]
    pool = _Pool(layer, n)
    for tau in range(1, steps + 1):
        v = [2 * x for x in v]
        for src, m in inbox[tau].items():
            for j, w in fan[src]:
                v[j] += m * w
        if tau == 1:
            v = [x + _bias(layer, j) for j, x in enumerate(v)]
        vmax = max([vmax] + [abs(x) for x in v])
        if not layer["spiking"] or tau == 1:       # the output layer; the silent period
            continue
        for j in range(n):
            s = tsa_fire(v[j], layer["threshold"], sent[j])
            v[j] -= s * layer["threshold"]
            sent[j] = sent[j] or s > 0
            spikes[tau][j] = s
        vmax = max([vmax] + [abs(x) for x in v])
        outbox[tau - 1] = pool.send(spikes[tau])   # sent at τ: the next layer's step τ - 1
    return spikes, outbox, v, vmax


def simulate(layers, xq, levels, timesteps):
    """One image through the network.

    Returns
    -------
    dict
        ``inbox`` (per layer, its events per step ``0..S``), ``spikes`` (per layer,
        ``[S + 1][n_out]``; zeros for the output layer), ``final`` (per layer, ``V(S)``),
        ``vmax`` (per layer), ``encoder_final``, ``encoder_vmax``, ``potentials`` (the output
        layer's ``V(S)``).
    """
    inbox, enc_final, enc_vmax = encode(xq, levels, timesteps)
    out = {"inbox": [], "spikes": [], "final": [], "vmax": [],
           "encoder_final": enc_final, "encoder_vmax": enc_vmax}
    for layer in layers:
        out["inbox"].append(inbox)
        spikes, inbox, final, vmax = run_layer(layer, inbox, timesteps)
        out["spikes"].append(spikes)
        out["final"].append(final)
        out["vmax"].append(vmax)
    out["potentials"] = out["final"][-1]
    return out
