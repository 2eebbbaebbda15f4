"""Conversion passes: pure functions from one IR value to the next.

The pipeline (:data:`PIPELINE`) is explicit:
``fold_batchnorm → calibrate → normalise → quantise → bound_widths``.
:func:`convert` runs it.
"""

from .calibrate import Calibration, calibrate
from .fold import fold_batchnorm
from .normalise import normalise
from .quantise import quantise
from .widths import bound_widths
from .refine import refine_thresholds
from .pipeline import PIPELINE, convert, prepare, quantised
from .phase_search import search_phase_coding
from .adafire import search_adafire
from .early_exit import calibrate_early_exit
from .choose import CODING_CHOICES, choose_coding

__all__ = ["Calibration", "calibrate", "fold_batchnorm", "prepare", "quantised", "refine_thresholds",
           "normalise", "quantise", "bound_widths", "PIPELINE", "convert",
           "search_phase_coding", "search_adafire", "calibrate_early_exit", "CODING_CHOICES",
           "choose_coding"]
