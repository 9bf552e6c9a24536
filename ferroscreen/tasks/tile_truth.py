"""The truth of a fixed tile on a simulated plate: what ``evaluate`` scores a tile-mode bundle against.

A tile-mode bundle (detector ``mode: tiles``) classifies a fixed grid of tiles, not cells, so a
tile needs a class of its own. Two rules, both over the plate's ``truth_cells.csv``:

* ``well_mode`` -- the rule training labelled its tiles by
  (:class:`~ferroscreen.datamodules.ReferencePlateDataModule`): every tile of a frame of a
  labelled well takes the well's class from the layout (reference wells their mode at or after the
  onset window, vehicle wells ``alive``), with the bundle's recorded classes, roles and window
  applied to this plate's layout. Tiles of frames that rule does not label (sample wells,
  reference frames before onset) are not scored by it.
* ``cell_majority`` -- the class most true cells in the tile hold (a cell is in a tile when its
  centre ``x, y`` lies in the tile box: ``x0 <= x < x1``, ``y0 <= y < y1``, the simulator's
  pixel convention); a tie goes to the class first in the model's class order.

Under both rules a tile with no true cell centre inside is left out and counted apart.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ferroscreen.errors import FerroscreenError

__all__ = ["TILE_TRUTHS", "cells_per_tile", "majority_class", "well_mode_rule", "well_mode_tile_labels"]

#: Tile truths ``evaluate`` reports, by name, with what each means (the ``tile_truth_rule`` of its output).
TILE_TRUTHS = {
    "well_mode": "each tile of a frame that training's rule labels takes its well's class: the layout's mode of a "
                 "reference well in the training window, alive for a vehicle well",
    "cell_majority": "each tile takes the class most true cells with their centre in the tile hold (a tie: the "
                     "class first in the model's class order)",
}


def cells_per_tile(boxes: pd.DataFrame, cells: pd.DataFrame, codes: np.ndarray, n_codes: int) -> np.ndarray:
    """Counts ``(n_tiles, n_codes)`` of the true cells whose centre lies in each tile, by class code.

    Args:
        boxes: :func:`~ferroscreen.crops.tile_boxes` of the frame (``x0, y0, x1, y1``, ends exclusive).
        cells: The frame's true cells (``x``, ``y``).
        codes: Each cell's class code (``0..n_codes - 1``).
        n_codes: Number of codes.

    Returns:
        int64 counts; a cell in overlapping tiles counts in each.
    """
    out = np.zeros((len(boxes), n_codes), np.int64)
    if not len(cells) or not len(boxes):
        return out
    x, y = cells["x"].to_numpy(float), cells["y"].to_numpy(float)
    x0, x1 = boxes["x0"].to_numpy()[:, None], boxes["x1"].to_numpy()[:, None]
    y0, y1 = boxes["y0"].to_numpy()[:, None], boxes["y1"].to_numpy()[:, None]
    inside = (x0 <= x) & (x < x1) & (y0 <= y) & (y < y1)  # (tiles, cells)
    codes = np.asarray(codes, np.int64)
    for k in range(n_codes):
        out[:, k] = inside[:, codes == k].sum(1)
    return out


def majority_class(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per row of ``counts`` the code most cells hold (a tie: the lowest code) and whether it was a tie."""
    counts = np.asarray(counts)
    if not counts.size:
        return np.zeros(len(counts), np.int64), np.zeros(len(counts), bool)
    best = counts.argmax(1)
    tied = (counts == counts.max(1, keepdims=True)).sum(1) > 1
    return best, tied


def _training_init_args(meta: dict) -> dict:
    """The datamodule's ``init_args`` from the bundle's training configuration (YAML text), or ``{}``."""
    import yaml

    try:
        config = yaml.safe_load(meta.get("config") or "")
    except yaml.YAMLError:
        return {}
    if not isinstance(config, dict):
        return {}
    config = config.get("fit", config)
    data = config.get("data") if isinstance(config, dict) else None
    args = data.get("init_args") if isinstance(data, dict) else None
    return args if isinstance(args, dict) else {}


def well_mode_rule(meta: dict) -> dict | None:
    """How training labelled the bundle's tiles: the reference-plate datamodule's window and roles, or ``None``.

    ``None`` when the bundle does not record training on a plate's reference wells
    (``training_data.datamodule``). The window (``onset_h``, ``until_h``, ``alive_until_h``) is the
    one ``training_data`` records; ``roles`` and ``vehicle_window`` come from the training
    configuration, defaulting as the datamodule does.
    """
    recorded = meta.get("training_data") or {}
    if recorded.get("datamodule") != "ReferencePlateDataModule":
        return None
    args = _training_init_args(meta)

    def pick(key, default):
        return recorded[key] if key in recorded else args.get(key, default)

    return {"onset_h": pick("onset_h", 24.0), "until_h": pick("until_h", None),
            "alive_until_h": pick("alive_until_h", None),
            "roles": list(args.get("roles") or ("reference", "vehicle")),
            "vehicle_window": bool(args.get("vehicle_window", False))}


def well_mode_tile_labels(root: Path, classes: list[str], rule: dict) -> dict[str, int]:
    """The class training's rule gives each frame of the plate at ``root``: resolved image path -> class index.

    The rule is :class:`~ferroscreen.datamodules.ReferencePlateDataModule`'s own (the layout beside
    ``root``, read by the same code as in training), with ``rule`` from :func:`well_mode_rule`.

    Returns:
        The class index per frame; frames the rule does not label (other wells, frames outside the
        window) are absent.

    Raises:
        FerroscreenError: The plate has no layout, no labelled wells, or none imaged in the window.
    """
    from ferroscreen.datamodules import ReferencePlateDataModule

    dm = ReferencePlateDataModule(str(root), classes=list(classes), onset_h=rule["onset_h"],
                                  until_h=rule["until_h"], roles=rule["roles"],
                                  vehicle_window=rule["vehicle_window"], alive_until_h=rule["alive_until_h"])
    try:
        labelled = dm._source(0)  # the labelling step of training, before any pixels are read
    except FerroscreenError:
        raise
    except (ValueError, KeyError) as exc:
        raise FerroscreenError(f"{root}: {exc}") from None
    return {str(Path(row.path).resolve()): int(c) for row, c in zip(labelled.frames, labelled.labels, strict=True)}
