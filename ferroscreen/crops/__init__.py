"""Label-free cell detection and crop extraction (numpy / OpenCV / scipy; no torch).

Public API:

* :class:`DetectorConfig` (and :meth:`DetectorConfig.preset`, :func:`detector_config`): detector settings,
  JSON-serialisable;
* :func:`detect_cells`: cells in a brightfield / phase-contrast frame -> table of centres, radii, boxes, scores;
* :func:`normalize_frame`: per-frame robust normalisation (uint8/uint16 aware), what the detector sees;
* :class:`CropNormalization`: how crops are normalised for a classifier (background-relative or percentile);
* :func:`extract_crops`: fixed-size cell-centred crops; :func:`with_next_scan` adds the site's next scan;
* :func:`tile_frame` / :func:`tile_boxes`: the fixed-tile mode;
* :mod:`ferroscreen.crops.frames`: the crops of a decoded frame and its later scans as training and
  ``score`` cut them (reads files through :mod:`ferroscreen.io`, so it is not imported here);
* :func:`match_detections`, :func:`truth_from_labels`, :func:`labels_at`: detection accuracy.
"""

from ferroscreen.crops.background import estimate_background, flatten_background
from ferroscreen.crops.config import PRESETS, DetectorConfig, detector_config
from ferroscreen.crops.crop_extraction import (
    cells_and_crops,
    crops_for_detections,
    extract_crops,
    mask_surroundings,
    with_next_scan,
)
from ferroscreen.crops.detection import DETECTION_COLUMNS, detect_cells, detections_frame
from ferroscreen.crops.matching import labels_at, match_detections, summarize_counts, truth_from_labels
from ferroscreen.crops.normalization import (
    CropNormalization,
    background_level,
    contrast_levels,
    normalize_frame,
    normalize_to_background,
    robust_sigma,
)
from ferroscreen.crops.tiles import tile_boxes, tile_frame

__all__ = [
    "DETECTION_COLUMNS",
    "CropNormalization",
    "background_level",
    "contrast_levels",
    "normalize_to_background",
    "PRESETS",
    "DetectorConfig",
    "detector_config",
    "cells_and_crops",
    "crops_for_detections",
    "detect_cells",
    "detections_frame",
    "estimate_background",
    "extract_crops",
    "mask_surroundings",
    "flatten_background",
    "labels_at",
    "match_detections",
    "normalize_frame",
    "robust_sigma",
    "summarize_counts",
    "tile_boxes",
    "tile_frame",
    "truth_from_labels",
    "with_next_scan",
]
