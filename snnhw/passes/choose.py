"""Choose a coding's parameters: from the user's options, or by a search on calibration data."""

from ..codings import CHOICES, OPTION_DEFAULTS
from ..errors import IRError

__all__ = ["CODING_CHOICES", "choose_coding"]

#: What ``--coding`` accepts (:data:`snnhw.codings.CHOICES`).
CODING_CHOICES = tuple(CHOICES)


def choose_coding(kind, net, x_cal, y_cal=None, *, weight_bits=8, input_bits=8, percentile=99.9,
                  **options):
    """Return ``(coding, search)`` for the ``--coding`` value ``kind``.

    ``options`` are coding options (:data:`snnhw.codings.OPTION_DEFAULTS`: ``timesteps``,
    ``window``, ``base``, ``threshold_shift``, ``negative_spikes``, ``max_burst``, ``ssc``,
    ``refine``); one that is set but does not apply to ``kind`` is an error. Each choice's
    ``choose`` (:data:`snnhw.codings.CHOICES`) documents its defaults and searches; ``search``
    is the search's record (points or steps; empty when nothing was searched).
    """
    if kind not in CHOICES:
        raise IRError(f"unknown coding {kind!r}; available: {', '.join(CHOICES)}")
    choice = CHOICES[kind]
    choice.check_options(options)
    from ..frontend import as_network
    net = as_network(net)
    quant = dict(weight_bits=weight_bits, input_bits=input_bits, percentile=percentile)
    return choice.choose(net, x_cal, y_cal, {**OPTION_DEFAULTS, **options}, quant)
