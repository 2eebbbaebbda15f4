"""Choose a coding's parameters: from the user's options, or by a search on calibration data."""

from ..ir import BurstCoding, IRError, RateCoding, SingleSpikeCoding
from .adafire import search_adafire
from .phase_search import search_phase_coding

__all__ = ["CODING_CHOICES", "choose_coding"]

#: What ``--coding`` accepts: the codings, and ``adafire`` (burst coding whose per-layer ``Γ``
#: and ``ρ`` are searched on calibration data, AdaFire + SSC).
CODING_CHOICES = ("rate", "burst", "adafire", "single_spike")


def choose_coding(kind, net, x_cal, y_cal=None, *, timesteps=None, window=None, base=None,
                  threshold_shift=True, negative_spikes=None, max_burst=None, ssc=True,
                  refine=False, weight_bits=8, input_bits=8, percentile=99.9):
    """Return ``(coding, search)``.

    ``rate``: :class:`~snnhw.ir.RateCoding` with ``timesteps`` (default 16). ``burst``:
    :class:`~snnhw.ir.BurstCoding` (defaults T = 4, Γ = 4). ``adafire``: a
    :class:`~snnhw.ir.BurstCoding` with per-layer ``Γ_l`` and (with ``ssc``) ``ρ_l`` from
    :func:`~snnhw.passes.adafire.search_adafire`, held against plain burst coding with
    ``Γ = max_burst`` (default 4), per-channel thresholds refined with ``refine``.
    ``single_spike``: ``window`` and ``base`` if both given, else
    the best point of :func:`~snnhw.passes.phase_search.search_phase_coding` (only the missing
    one is searched); ``negative_spikes`` defaults to whether the calibration inputs are signed.
    ``search`` is the search's record (points or steps; empty when nothing was searched).
    """
    if kind not in CODING_CHOICES:
        raise IRError(f"unknown coding {kind!r}; available: {', '.join(CODING_CHOICES)}")
    opts = dict(weight_bits=weight_bits, input_bits=input_bits, percentile=percentile)
    if kind == "rate":
        return (RateCoding(timesteps) if timesteps else RateCoding()), []
    if kind == "burst":
        return BurstCoding(timesteps or BurstCoding.timesteps, max_burst or BurstCoding.max_burst), []
    if kind == "adafire":
        return search_adafire(net, x_cal, y_cal, timesteps or BurstCoding.timesteps,
                              baseline_burst=max_burst or BurstCoding.max_burst,
                              rhos=None if ssc else (1,), refine=refine, **opts)
    if negative_spikes is None:
        negative_spikes = bool((x_cal < 0).any())
    if window is not None and base is not None:
        return SingleSpikeCoding(window, base, threshold_shift, negative_spikes), []
    kwargs = {}
    if window is not None:
        kwargs["windows"] = (window,)
    if base is not None:
        kwargs["bases"] = (base,)
    return search_phase_coding(net, x_cal, y_cal, threshold_shift=threshold_shift,
                               negative_spikes=negative_spikes, **opts, **kwargs)
