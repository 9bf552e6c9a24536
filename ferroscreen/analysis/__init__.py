"""Dose-response analysis: time-course readouts, batched curve fitting, ranking and QC.

No torch here. The public entry points are :func:`fit_curves` (batched
log-logistic fits of a tidy ``curve, dose, response[, n]`` table) and
:func:`potency_ratio` (EC50 ratio of two fitted curves with delta and Fieller
intervals); :func:`analyse_screen` runs the whole path from a ``wells.csv``
table and a plate layout to fits, ranking, rescue confirmation and plate QC.
"""

from ferroscreen.analysis.dose_response import FIT_COLUMNS, fit_curves
from ferroscreen.analysis.inputs import AnalysisInputError
from ferroscreen.analysis.models import MODELS, get_model
from ferroscreen.analysis.potency import potency_ratio

__all__ = [
    "FIT_COLUMNS",
    "MODELS",
    "AnalysisInputError",
    "fit_curves",
    "get_model",
    "potency_ratio",
]
