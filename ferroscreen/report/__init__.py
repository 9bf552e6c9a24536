"""The screen report: one self-contained HTML file from a results folder (Jinja2 + matplotlib).

:func:`build_report` reads a results folder (``wells.csv``, ``fits.csv``,
``ranking.csv``, ``qc.csv``... see :mod:`ferroscreen.report.results`) and
writes one HTML page with a summary, plate QC maps, sortable per-mode
rankings, per-compound time courses, dose-response fits, EC50 over time and
rescue comparisons, and provenance. Figures are inline PNGs; the page loads
nothing from the network. No torch here.
"""

from ferroscreen.report.build import build_report, report_context
from ferroscreen.report.results import ReportInputError, Results, load_results

__all__ = ["ReportInputError", "Results", "build_report", "load_results", "report_context"]
