"""The explicit conversion pipeline."""

from ..codings import RateCoding, check_coding
from .calibrate import calibrate
from .fold import fold_batchnorm
from .refine import refine_thresholds
from .normalise import normalise
from .quantise import quantise
from .widths import bound_widths

__all__ = ["PIPELINE", "prepare", "convert", "quantised"]

#: The passes, in order (names for docs and reports); ``refine_thresholds`` runs only when
#: the coding asks for it (AdaFire).
PIPELINE = ("fold_batchnorm", "calibrate", "normalise", "refine_thresholds", "quantise", "bound_widths")


def prepare(net, x_cal, percentile=99.9):
    """The coding-independent passes: ``fold_batchnorm → calibrate → normalise``.

    Returns ``(calibration, normalised network)``.
    """
    net = fold_batchnorm(net)
    calib = calibrate(net, x_cal, percentile=percentile)
    return calib, normalise(net, calib)


def convert(model, x_cal, coding=None, *, weight_bits=8, input_bits=8, percentile=99.9,
            input_shape=None, name=None):
    """Convert a float network (``ir.Network`` or torch module) into a :class:`~snnhw.ir.QuantNetwork`.

    Parameters
    ----------
    model : :class:`snnhw.ir.Network` or ``torch.nn.Module``
    x_cal : array
        Calibration inputs ``(N, *input_shape)``.
    coding : coding config, default :class:`~snnhw.ir.RateCoding`
    weight_bits, input_bits : int
    percentile : float
        Calibration percentile (100 = max).
    """
    from ..frontend import as_network
    model = as_network(model, input_shape=input_shape, name=name)
    coding = coding if coding is not None else RateCoding()
    calib, norm = prepare(model, x_cal, percentile)
    return quantised(norm, calib, coding, x_cal, weight_bits, input_bits)


def quantised(norm, calib, coding, x_cal, weight_bits=8, input_bits=8):
    """The coding-dependent passes on a normalised network: ``refine_thresholds`` (if the
    coding asks for it) → ``quantise`` → ``bound_widths``."""
    check_coding(coding)
    alphas = None
    if coding.refines_thresholds:
        norm, alphas = refine_thresholds(norm, x_cal, coding)
    qnet = quantise(norm, calib, coding, weight_bits=weight_bits, input_bits=input_bits)
    if alphas is not None:
        qnet = qnet.replace(calibration=dict(qnet.calibration, threshold_scales=alphas))
    return bound_widths(qnet)
