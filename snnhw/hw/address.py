"""Where an event's weights and targets are: the address map of a layer's synapse pipeline.

An event reads ``K = ceil(channels / lanes)`` ROM words per output position it reaches (one
word holds ``lanes`` output channels) and accumulates them into the same words of the banked
membrane RAM, whose word ``pos·K + w`` holds channels ``w·lanes + p`` of position ``pos``.
A dense layer has one position; a convolution's event at ``(c, y, x)`` reaches the output
rows ``oy`` (and columns ``ox``) of :func:`snnhw.geometry.axis_targets` — only those, so border
events read no padding — with kernel tap ``ky = y + pad − oy·stride``. The map is a few small
tables indexed by the event's coordinates, so the hardware needs no multiplier.
"""

from dataclasses import dataclass, field

import numpy as np

from .. import geometry

__all__ = ["AddressMap"]


@dataclass(frozen=True, eq=False)
class AddressMap:
    """The synapse addressing of one layer (numpy tables; see the module docstring).

    Attributes
    ----------
    source : ``(n,)`` or ``(C, H, W)``: the shape of the incoming events
    lanes, channels, positions : int
    k : int                      words per output position
    rom_depth, acc_depth : int
    tables : dict of int arrays  ``c_rom``, ``y_rom``, ``y_acc``, ``y_count``, ``x_rom``,
                                 ``x_acc``, ``x_count`` (spatial sources only)
    steps : dict of int          address steps to the next output column / row:
                                 ``rom_x``, ``acc_x``, ``rom_y``, ``acc_y``
    """
    source: tuple
    lanes: int
    channels: int
    positions: int
    k: int
    rom_depth: int
    acc_depth: int
    tables: dict = field(default_factory=dict)
    steps: dict = field(default_factory=dict)

    @classmethod
    def dense(cls, n_src, n_dst, lanes):
        """A dense layer fed by ``n_src`` flat sources."""
        k = -(-n_dst // lanes)
        return cls((n_src,), lanes, n_dst, 1, k, n_src * k, k)

    @classmethod
    def for_layer(cls, layer, lanes):
        """The map of a :class:`~snnhw.ir.QuantLayer`."""
        k = -(-layer.channels // lanes)
        source = tuple(layer.in_shape)
        if len(source) != 3:
            return cls.dense(layer.n_in, layer.channels, lanes)
        c_in, h, w = source
        if not layer.is_conv:            # dense over a flattened (C, H, W) source
            t = {"c_rom": np.arange(c_in) * h * w * k, "y_rom": np.arange(h) * w * k,
                 "x_rom": np.arange(w) * k, "y_acc": np.zeros(h, np.int64),
                 "x_acc": np.zeros(w, np.int64), "y_count": np.ones(h, np.int64),
                 "x_count": np.ones(w, np.int64)}
            return cls(source, lanes, layer.channels, 1, k, layer.n_in * k, k, t,
                       {"rom_x": 0, "acc_x": 0, "rom_y": 0, "acc_y": 0})
        (kh, kw), (sy, sx), (py, px) = layer.kernel, layer.stride, layer.padding
        _, ho, wo = layer.out_shape
        yf, yc, ky = geometry.axis_targets(h, ho, kh, sy, py)
        xf, xc, kx = geometry.axis_targets(w, wo, kw, sx, px)
        t = {"c_rom": np.arange(c_in) * kh * kw * k, "y_rom": ky * kw * k, "y_acc": yf * wo * k,
             "y_count": yc, "x_rom": kx * k, "x_acc": xf * k, "x_count": xc}
        steps = {"rom_x": -sx * k, "acc_x": k, "rom_y": -sy * kw * k, "acc_y": wo * k}
        return cls(source, lanes, layer.channels, ho * wo, k, c_in * kh * kw * k, ho * wo * k, t, steps)

    @property
    def spatial(self):
        return len(self.source) == 3

    @property
    def tail_lanes(self):
        """Lanes in use in a position's last word."""
        return self.channels - (self.k - 1) * self.lanes

    def words(self):
        """ROM words (cycles) of one event at every source coordinate, flattened."""
        if not self.spatial:
            return np.full(self.source[0], self.k, dtype=np.int64)
        per = self.tables["y_count"][:, None] * self.tables["x_count"][None, :] * self.k
        return np.broadcast_to(per, self.source).reshape(-1).astype(np.int64)

    def min_words(self):
        """Fewest words of an event that reaches anything (events of one are the worst
        case for read-after-write hazards)."""
        w = self.words()
        return int(w[w > 0].min()) if (w > 0).any() else self.k
