"""Dose-response analysis: time-course readouts, batched curve fitting, ranking and QC.

No torch here. The public entry points are :func:`fit_curves` (batched
log-logistic fits of a tidy ``curve, dose, response[, n]`` table) and
:func:`potency_ratio` (EC50 ratio of two fitted curves with delta and Fieller
intervals); :func:`analyse_screen` runs the whole path from a ``wells.csv``
table and a plate layout to fits, ranking, rescue confirmation, cell lines
compared (:func:`compare_lines`) and plate QC, and :func:`ec50_over_time`
gives time-resolved potency.

Note: a fits table has a column named ``flags``; read it as ``fits["flags"]``
(``fits.flags`` is a pandas attribute).
"""

from ferroscreen.analysis.dose_response import FIT_COLUMNS, fit_curves
from ferroscreen.analysis.inputs import AnalysisInputError
from ferroscreen.analysis.line_comparison import compare_lines
from ferroscreen.analysis.models import MODELS, get_model
from ferroscreen.analysis.potency import potency_ratio
from ferroscreen.analysis.qc import plate_qc
from ferroscreen.analysis.ranking import RANK_WEIGHTS, rank_compounds
from ferroscreen.analysis.readouts import summarise_wells
from ferroscreen.analysis.rescue import confirm_rescues
from ferroscreen.analysis.screen import ScreenResult, analyse_screen, ec50_over_time

__all__ = [
    "FIT_COLUMNS",
    "MODELS",
    "RANK_WEIGHTS",
    "AnalysisInputError",
    "ScreenResult",
    "analyse_screen",
    "compare_lines",
    "confirm_rescues",
    "ec50_over_time",
    "fit_curves",
    "get_model",
    "plate_qc",
    "potency_ratio",
    "rank_compounds",
    "summarise_wells",
]
