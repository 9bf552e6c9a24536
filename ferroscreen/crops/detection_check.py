"""``ferroscreen detect``: run the label-free detector on a user's images and, given truth, measure it.

Before training on their own plates, users need to know whether a detector
preset finds *their* cells. :func:`check_detection` detects cells exactly as
training and ``score`` do (on :func:`~ferroscreen.crops.normalize_frame` of
each frame) and writes into ``out``:

* ``detections.csv``: ``image, x, y, radius, score`` (+ ``matched`` with truth;
  + ``plate, well, field, time_h`` for acquisitions);
* ``images.csv``: per image ``n_detected`` (+ ``n_true, tp, fp, fn, precision,
  recall, f1``), and ``error`` for images that could not be read;
* ``overlays/<image>.png``: the frame with detections drawn (green: matched a
  true cell, red: no true cell; yellow crosses: true cells missed), for the
  first ``overlays`` images;
* ``detection.json``: detector settings, pooled metrics, version.

Matching is one-to-one: a detection matches the mask instance its centre lies
on, or a true point within ``match_radius`` px (default: a point's own
``radius`` column, else the detections' median radius).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

import cv2
import numpy as np
import pandas as pd

from ferroscreen.crops.config import DetectorConfig, detector_config
from ferroscreen.crops.detection import detect_cells
from ferroscreen.crops.matching import match_detections, summarize_counts, truth_from_labels
from ferroscreen.crops.normalization import normalize_frame
from ferroscreen.crops.truth_files import TruthSource
from ferroscreen.errors import FerroscreenError
from ferroscreen.io.detect import PLAIN_IMAGE_SUFFIXES
from ferroscreen.json_output import write_json

IMAGE_SUFFIXES = PLAIN_IMAGE_SUFFIXES


def detection_inputs(
    input_path: Path, fmt: str | None = None, channel: str | None = None, z_plane: int | None = None,
    interval_h: float = 1.0,
) -> pd.DataFrame:
    """Images to run on: ``path, image`` (+ frame columns for an acquisition's label-free channel, one z plane).

    ``interval_h`` is the scan interval of acquisitions that number their scans (see
    :func:`ferroscreen.io.open_acquisition`).

    An image file, or a folder of them, whose z-stack TIFFs (a ``Z`` axis of several planes;
    :func:`~ferroscreen.io.tiff_stacks.tiff_stack`) are read at plane ``z_plane`` (0-based; a
    ``frame`` column names the plane to read, a ``z`` column its number), else at their lowest
    plane; ``z_plane`` is refused where no file is a z-stack. ``attrs["notes"]`` says what a user
    should know: the acquisition's notes, the plane read of several.

    Raises:
        FerroscreenError: Nothing to detect in, an ambiguous channel, an absent z plane, or
            ``--format``/``--channel`` (and ``--z-plane`` without a z-stack) for image files.
    """
    from ferroscreen.io import open_acquisition
    from ferroscreen.io.channels import choose_channel
    from ferroscreen.io.detect import format_or_unknown, refuse_acquisition_options
    from ferroscreen.io.planes import choose_plane

    if not input_path.exists():
        raise FerroscreenError(f"{input_path}: no such file or folder")
    from ferroscreen.io.detect import is_acquisition_file, refuse_stacked_ome

    if input_path.is_file() and not is_acquisition_file(input_path):  # a CZI or OME-TIFF of a plate is one
        refuse_acquisition_options(input_path, "a single image file", fmt, channel)
        if input_path.suffix.lower() not in IMAGE_SUFFIXES:
            raise FerroscreenError(f"{input_path}: not an image file ({', '.join(IMAGE_SUFFIXES)})")
        refuse_stacked_ome([input_path])
        return _image_files(input_path, "a single image file", [input_path], [input_path.stem], z_plane)
    failed = acq = None
    layout, unknown = format_or_unknown(input_path, fmt)
    try:
        acq = open_acquisition(input_path, fmt=layout, interval_h=interval_h) if layout else None
    except FerroscreenError as exc:
        if fmt is not None:
            raise
        failed = exc
    if acq is None:
        from ferroscreen.io.detect import images_in_subfolders, plain_images, subfolder_note
        from ferroscreen.io.segment_outputs import image_names

        files = plain_images(input_path)
        if not files and failed is not None:
            raise failed  # a recognised layout that could not be read says why
        below = None if files else subfolder_note(input_path, *images_in_subfolders(input_path))
        if below:  # no known layout, images only in sub-folders
            raise FerroscreenError(below)
        if not files and unknown is not None:
            raise unknown
        if not files:
            raise FerroscreenError(f"{input_path}: no images ({', '.join(IMAGE_SUFFIXES)}) and no acquisition layout")
        refuse_acquisition_options(input_path, "a folder of images", None, channel)
        refuse_stacked_ome(files)
        table = _image_files(input_path, "a folder of images", files, image_names(files), z_plane)  # a.png, a.tif
        from ferroscreen.io.temporary_files import is_temporary_name, temporary_note

        temporary = sorted(p.name for p in input_path.iterdir() if p.is_file() and is_temporary_name(p.name))
        passed = temporary_note(temporary)
        table.attrs["notes"] = [*([passed] if passed else []), *table.attrs["notes"]]
        return table
    f = acq.frames
    ch, _ = choose_channel(f["channel"].astype(str), channel, "label-free", str(input_path))
    f = f[f["channel"].astype(str) == ch]
    planes = sorted({int(p) for p in f["z"]})
    z, z_note = choose_plane(f["z"], z_plane, str(input_path))
    if z_note is None and len(planes) > 1:  # asked for: said and recorded all the same
        z_note = f"z plane {z} of planes {', '.join(map(str, planes))}"
    f = f[f["z"] == z].reset_index(drop=True)
    names = [f"{r.plate}_{r.well}_f{int(r.field):02d}_t{float(r.time_h):g}h" for r in f.itertuples(index=False)]
    columns = ["path", "image", "plate", "well", "field", "time_h", *(["z"] if len(planes) > 1 else [])]
    table = f.assign(image=names)[columns]
    table.attrs["notes"] = [*acq.notes, *([f"detecting in {z_note}"] if z_note else [])]
    return table


#: Ends the refusal of --z-plane for image files none of which is a z-stack.
_NO_STACK = ", and no z-stack (a TIFF with a Z axis, as ImageJ hyperstacks have)"


def _image_files(input_path: Path, what: str, files: list[Path], names: list[str], z_plane: int | None,
                 ) -> pd.DataFrame:
    """``path, image`` of image ``files`` (``what`` ``input_path`` is), z-stacks read at ``z_plane`` else their lowest.

    With ``z_plane``, a ``frame`` column names the plane each row reads and a ``z`` column its number.

    Raises:
        FerroscreenError: ``z_plane`` and no file is a z-stack; a file without that plane.
    """
    from ferroscreen.io.detect import refuse_acquisition_options
    from ferroscreen.io.frames import page_frame_path
    from ferroscreen.io.tiff_stacks import tiff_stack

    table = pd.DataFrame({"path": [str(p) for p in files], "image": names})
    stacks = [(f, s) for f in files if (s := tiff_stack(f)).planes > 1]
    refuse_acquisition_options(input_path, what + _NO_STACK, z_plane=None if stacks else z_plane)
    if not stacks:
        table.attrs["notes"] = []
        return table
    if z_plane is None:
        f, s = stacks[0]
        more = f" (and {len(stacks) - 1} more)" if len(stacks) > 1 else ""
        table.attrs["notes"] = [f"{f}: a z-stack of {s.planes} planes (axes {s.axes}){more}: its lowest plane, z 0, is "
                                "read; --z-plane picks another"]
        return table
    planes = dict(stacks)
    frames = []
    for f in files:
        s = planes.get(f)
        if s is None and z_plane != 0:
            raise FerroscreenError(f"{f}: is a single plane, not a z-stack: no z plane {z_plane}")
        if s is not None and z_plane >= s.planes:
            listed = ", ".join(str(z) for z in range(s.planes))
            raise FerroscreenError(f"{f}: no z plane {z_plane} (planes {listed}, numbered from 0)")  # as acquisitions
        if s is not None and not s.stride:
            raise FerroscreenError(f"{f}: a z-stack of {s.planes} planes (axes {s.axes}) without a page per plane: "
                                   "only its first plane can be read")
        frames.append(str(f) if s is None else page_frame_path(f, z_plane * s.stride))
    table["frame"], table["z"] = frames, z_plane
    table.attrs["notes"] = [f"detecting in z plane {z_plane} of each z-stack"]
    return table


def _truth_and_inputs(truth: Path, table: pd.DataFrame) -> tuple[pd.DataFrame, TruthSource, list[str]]:
    """The truth and the input images without the truth's own files.

    Masks beside their images (Cellpose's ``img.png`` + ``img_masks.png``, ``--truth`` the input folder or
    one of its masks) are truth, not images to detect cells in.

    Returns:
        ``(table, source, left_out)``: the input rows, the truth, the names of the inputs left out as truth.
    """
    resolved = [Path(p).resolve() for p in table["path"]]
    left: list[str] = []
    if truth.is_file() and len(table) > 1 and truth.resolve() in resolved:  # one mask of a folder of one image
        keep = [r != truth.resolve() for r in resolved]
        left, table = table.loc[[not k for k in keep], "image"].astype(str).tolist(), table[keep]
    source = TruthSource(truth, [Path(p) for p in table["path"]])
    truth_files = source.truth_files()
    keep = [Path(p).resolve() not in truth_files for p in table["path"]]
    if not all(keep):
        left += table.loc[[not k for k in keep], "image"].astype(str).tolist()
        source.forget([Path(p) for p in table.loc[[not k for k in keep], "path"]])
        table = table[keep]
    return table.reset_index(drop=True), source, left


def _overlay(raw: np.ndarray, det: pd.DataFrame, matched: np.ndarray, missed: pd.DataFrame) -> np.ndarray:
    grey = np.clip(normalize_frame(raw) * 255, 0, 255).astype(np.uint8)
    img = cv2.cvtColor(grey, cv2.COLOR_GRAY2BGR)
    for (x, y, r), hit in zip(det[["x", "y", "radius"]].to_numpy(), matched, strict=True):
        colour = (0, 200, 0) if hit else (0, 0, 255)
        cv2.circle(img, (int(round(x)), int(round(y))), max(int(round(r)), 2), colour, 1, cv2.LINE_AA)
    for x, y in missed[["x", "y"]].to_numpy():
        cv2.drawMarker(img, (int(round(x)), int(round(y))), (0, 220, 255), cv2.MARKER_CROSS, 8, 1)
    return img


def check_detection(
    input_path: str | Path,
    out: str | Path,
    detector: str | dict | DetectorConfig | None = "suspension",
    truth: str | Path | None = None,
    match_radius: float | None = None,
    overlays: int = 12,
    fmt: str | None = None,
    channel: str | None = None,
    z_plane: int | None = None,
    progress: Callable[[int, int], None] | None = None,
    interval_h: float = 1.0,
) -> dict:
    """Detect cells in every input image into ``out``; with ``truth``, score them (see the module docstring).

    Of an acquisition, the label-free channel (or ``channel``) and one z plane
    (``z_plane``, default the lowest) are read; of image files that are z-stacks, one
    plane too (:func:`detection_inputs`).

    Returns:
        The summary written to ``detection.json``: ``detector``, ``n_images``,
        ``n_detected``, ``notes`` (when there are any: :func:`detection_inputs`'), and with truth
        ``n_with_truth``, ``match_radius`` and pooled ``precision, recall, f1, tp, fp, fn``.

    Raises:
        FerroscreenError: Bad input, detector settings or truth (one line naming the file).
    """
    from ferroscreen import __version__
    from ferroscreen.io.frames import load_image

    input_path, out = Path(input_path), Path(out)
    try:
        cfg = detector if isinstance(detector, DetectorConfig) else detector_config(detector)
    except (TypeError, ValueError) as exc:
        raise FerroscreenError(f"detector settings: {exc}") from None
    table = detection_inputs(input_path, fmt, channel, z_plane, interval_h)
    notes = list(table.attrs.get("notes", []))
    source, masks_left_out = None, []
    if truth is not None:
        table, source, masks_left_out = _truth_and_inputs(Path(truth), table)
    out.mkdir(parents=True, exist_ok=True)
    image_rows, found = [], []
    for row in table.itertuples(index=False):  # detect everything first: points need the median radius
        ids = {c: getattr(row, c) for c in table.columns if c not in ("path", "frame")}
        frame = getattr(row, "frame", row.path)  # a z-stack's plane, else the file
        try:
            raw = load_image(frame)
        except FerroscreenError as exc:
            image_rows.append({**ids, "n_detected": 0, "error": str(exc)})
            continue
        det = detect_cells(normalize_frame(raw), cfg).reset_index(drop=True)
        image_rows.append({**ids, "n_detected": len(det), "error": ""})
        found.append((image_rows[-1], row.path, frame, raw.shape, det))
        if progress is not None:
            progress(len(image_rows), len(table))
    if not found:
        raise FerroscreenError(f"{input_path}: none of the {len(table)} image(s) could be read "
                               f"({image_rows[0]['error']})")
    radii = np.concatenate([d["radius"].to_numpy(float) for *_, d in found])
    radius = float(match_radius) if match_radius else float(np.median(radii)) if len(radii) else 10.0
    tp = fp = fn = n_truth = 0
    parts, outside = [], []
    for n, (rec, path, frame, shape, det) in enumerate(found):
        t = source.get(Path(path), shape) if source is not None else None
        matched = np.zeros(len(det), bool)
        missed = pd.DataFrame({"x": [], "y": []})
        if t is not None:
            if isinstance(t, pd.DataFrame):
                off = ~(t["x"].between(0, shape[1]) & t["y"].between(0, shape[0]))
                if off.any():  # a truth file for other images (another size, flipped x/y) reads as misses
                    outside.append(f"{rec['image']} ({int(off.sum())})")
                t = t.assign(radius=radius if match_radius else t["radius"].fillna(radius))
            m = match_detections(det, t)
            pairs = np.asarray(m["pairs"]).reshape(-1, 2)
            matched[pairs[:, 0]] = True
            cells = truth_from_labels(t) if isinstance(t, np.ndarray) else t
            ids = cells["label"].to_numpy() if isinstance(t, np.ndarray) else np.arange(len(cells))
            missed = cells[~np.isin(ids, pairs[:, 1])]
            rec.update(n_true=m["tp"] + m["fn"], tp=m["tp"], fp=m["fp"], fn=m["fn"], precision=m["precision"],
                       recall=m["recall"], f1=m["f1"])
            tp, fp, fn, n_truth = tp + m["tp"], fp + m["fp"], fn + m["fn"], n_truth + 1
        part = det[["x", "y", "radius", "score"]].copy()
        for k, c in enumerate(c for c in ("image", "plate", "well", "field", "time_h") if c in rec):
            part.insert(k, c, rec[c])
        if t is not None:
            part["matched"] = matched
        parts.append(part)
        if n < overlays:
            (out / "overlays").mkdir(exist_ok=True)
            raw = load_image(frame)
            cv2.imwrite(str(out / "overlays" / f"{rec['image']}.png"), _overlay(raw, det, matched, missed))
    if outside:
        notes.append(f"{truth}: truth points outside their image in {len(outside)} image(s), "
                     f"{', '.join(outside[:5])}{' ...' if len(outside) > 5 else ''}: counted as missed cells; is the "
                     f"file for these images (their size, x and y not swapped)?")
    pd.concat(parts, ignore_index=True).to_csv(out / "detections.csv", index=False)
    pd.DataFrame(image_rows).to_csv(out / "images.csv", index=False)
    summary = {
        "input": str(input_path),
        "detector": asdict(cfg),
        "n_images": len(image_rows),
        "n_unreadable": len(image_rows) - len(found),
        "n_detected": int(sum(len(d) for *_, d in found)),
        **({"truth_files_left_out": masks_left_out} if masks_left_out else {}),
        **({"notes": notes} if notes else {}),
        "ferroscreen_version": __version__,
    }
    if source is not None:
        if n_truth == 0:
            raise FerroscreenError(f"{truth}: no readable input image has truth here")
        summary.update(truth=str(truth), n_with_truth=n_truth, match_radius=radius, **summarize_counts(tp, fp, fn))
    write_json(out / "detection.json", summary)
    return summary
