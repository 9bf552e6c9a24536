"""Acquisition readers: instrument layouts -> frame table + lazy pixels; metric exports."""

from ferroscreen.io.acquisition import Acquisition
from ferroscreen.io.detect import FORMATS, detect_format, find_layout_beside, open_acquisition
from ferroscreen.io.frames import FRAME_COLUMNS, load_image, make_frame_table
from ferroscreen.io.incucyte import incucyte_export_name, parse_export_name
from ferroscreen.io.metric_export import MetricExport, looks_like_metric_export, read_metric_export

__all__ = [
    "FORMATS",
    "FRAME_COLUMNS",
    "Acquisition",
    "MetricExport",
    "detect_format",
    "find_layout_beside",
    "incucyte_export_name",
    "load_image",
    "looks_like_metric_export",
    "make_frame_table",
    "open_acquisition",
    "parse_export_name",
    "read_metric_export",
]
