"""``ferroscreen segment``: label every image of a folder or acquisition and measure it.

Outputs under ``out``:

``labels/<name>.tif``
    One uint16 label image per input image (0 = background), named by the
    image's file stem, or by its whole file name where stems collide, case
    aside (``a.png``, ``a.tif`` -> ``a.png.tif``, ``a.tif.tif``;
    :func:`~ferroscreen.io.segment_outputs.image_names`); acquisition frames whose
    stems collide are named by plate, well, field, channel and time (a Cellomics
    field as its file names write it, ``f00`` for field 1: :mod:`ferroscreen.io.cellomics`).
``fields.csv``
    One row per image: identifiers (``image``, ``path``; for acquisitions also
    ``plate, well, field, channel, time_h``), ``status`` (``done`` or
    ``failed``) and ``error`` (why an image failed: missing, truncated,
    undecodable), the features of
    :func:`~ferroscreen.segment.features.field_features`, the QC measurements
    of :func:`~ferroscreen.segment.qc.field_qc_metrics` and the QC flags
    (``failed`` for images that could not be read; their features are empty).
``wells.csv`` (acquisitions only)
    Per-well (and per time point) aggregates of :func:`well_features`; the
    input of ``ferroscreen hits``.
``store/<plate>.h5`` (acquisitions only)
    The plate score store (:mod:`ferroscreen.score.store`) with the frame
    table (status, nuclei count, focus, empty flag), one "cell" per nucleus
    (centroid, equivalent radius, single class ``nucleus``) and the per-well
    features as its ``/wells`` table.
``objects.csv`` (with ``objects=True``)
    One row per nucleus.
``segment.json``
    Provenance: model name, path, sha256, post-processing, the scale images
    were segmented at (:class:`~ferroscreen.segment.scale.ScaleChoice`),
    ``ferroscreen_version``, the software the run used (``environment``:
    :func:`ferroscreen.provenance.environment`, with the git commit when run from a checkout) and how
    it was started (``command``: ``argv`` and ``cwd``), ``created`` (ISO 8601 UTC, when it was written), counts
    (``n_flagged_fields``: fields read that QC flagged; images that could not be
    read are ``n_failed``, never counted as flagged; ``n_reused`` label images read
    back and ``n_redone`` segmented again by a resumed run).
``run.json``
    Written before the first label image: model sha256, scale, the ``diameter``
    setting, ``tta``, the acquisition channel segmented (``channel``; ``null``
    for image files), ``channel_index`` and z plane; ``environment`` and ``command``
    of the run that wrote it, and ``created_environment`` and ``created_command``
    of the one that started the folder (a resume keeps them; a ``run.json``
    that did not record them stays without). A run that was stopped
    continues with ``resume``: label images already written (each written
    whole: temporary file, then rename) are read back instead of predicted, at
    the recorded scale; the tables are rebuilt from every image. A resume
    without ``channel`` reads the recorded one, and one with another channel is
    refused (a ``run.json`` that did not record it is resumed as given).
    Without ``resume`` a folder holding an earlier run is refused, and so is
    one holding any other file the run would write (a user's ``wells.csv``).
    A fresh run that fails before its first label image (no image readable,
    bad channel) removes its ``run.json`` and the folders it created, so the
    corrected retry is not taken for an earlier run.
``label_sources.jsonl``
    The resume journal: one line per label image written, after it is whole,
    naming the image and the size and modification time (ns) of each file it
    was read from (a z-stack's planes, a container's file; :data:`SOURCES_FILE`).
    ``resume`` segments again an image whose files changed since (a re-imaged
    field), and one whose label has no line (stopped between the two writes);
    a note says how many were redone. Runs from before the journal (``run.json``
    without ``label_sources``) keep their labels, and a note says they could not
    be checked.

A folder holding an earlier run (:mod:`ferroscreen.io.segment_outputs`) is never
input: given as input it is refused, and inside a plate folder its files are
left out of the frame table (a note says so).

An image that cannot be read fails alone: the run goes on, the image keeps
its row (and its frame in the store, status failed with the reason), and
its well's aggregates rest on the fields that were read (``n_fields_failed``).
Only a run where no image can be read stops with an error.

One scale serves the whole run, so that nuclei of every well are segmented
alike: given as ``diameter`` (pixels), or estimated (``auto``) from up to
:data:`ESTIMATE_IMAGES` images spread over the run. ``each`` estimates it per
image instead, for collections from several microscopes (each image's
``scale`` is in ``fields.csv``; a resumed run estimates it again).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

from ferroscreen import __version__
from ferroscreen.errors import AcquisitionError, FerroscreenError, ImageReadError
from ferroscreen.io.acquisition import MISSING_SITES_NOTE
from ferroscreen.io.cellomics import name_field
from ferroscreen.io.channels import choose_channel
from ferroscreen.io.detect import (
    format_or_unknown,
    images_in_subfolders,
    refuse_acquisition_options,
    subfolder_note,
    well_pattern_hint,
)
from ferroscreen.io.frames import frame_file, is_store_frame
from ferroscreen.io.naming import is_unnamed_note
from ferroscreen.io.planes import PROJECTIONS, choose_plane, parse_z_plane, project_planes
from ferroscreen.io.segment_outputs import (
    RUN_FILE,
    SUMMARY_FILE,
    drop_output_frames,
    find_segment_outputs,
    image_names,
    is_passed_over_note,
    is_segment_output,
    mentions_output,
    output_holding,
    present_outputs,
)
from ferroscreen.json_output import write_json
from ferroscreen.provenance import command_line, created_now, environment
from ferroscreen.segment.features import field_features, object_table, well_features
from ferroscreen.segment.images import IMAGE_SUFFIXES, list_images, read_image, read_z, tiff_z_planes, write_labels
from ferroscreen.segment.qc import DEBRIS_AREA, QC_FLAGS, field_qc_metrics, flag_fields
from ferroscreen.segment.scale import ScaleChoice, choose_scale, parse_diameter

__all__ = ["ESTIMATE_IMAGES", "RUN_FILE", "SOURCES_FILE", "collect_inputs", "segment_input"]

#: Images (evenly spaced over the run) that the ``auto`` diameter estimate segments.
ESTIMATE_IMAGES = 8

#: The resume journal in ``out``: each label image's source files, size and mtime (see the module docstring).
SOURCES_FILE = "label_sources.jsonl"


_CHANNEL_INDEX_HINT = " (--channel-index picks a channel of multi-channel image files)"


def collect_inputs(
    input_path: str | Path, fmt: str | None = None, channel: str | None = None, z_plane: int | str | None = None,
    interval_h: float = 1.0,
) -> tuple[pd.DataFrame, str]:
    """The images to segment as a table with ``path, image`` (+ frame columns) and a kind.

    ``input_path`` may be one image, a folder of images, or an acquisition
    folder that :func:`ferroscreen.io.open_acquisition` recognises (always when
    ``fmt`` is given). For acquisitions with several channels, ``channel``
    picks the nuclear one (default: the one named as a nuclear stain, see
    :func:`ferroscreen.io.channels.choose_channel`; the table's
    ``attrs["notes"]`` then says so); of a z-stack one plane is used,
    ``z_plane`` or else the lowest (:func:`ferroscreen.io.planes.choose_plane`;
    ``attrs["z_plane"]`` holds it, ``None`` for image folders). ``attrs["channel"]``
    holds the channel an acquisition's table reads (absent for image files). With
    ``z_plane`` ``"max"`` or ``"best"`` a stack gives one row per field whose
    ``planes`` lists its plane paths, lowest first, and ``z`` says ``max`` or
    ``best`` (:func:`read_field` combines them).

    Earlier segment outputs are never input (:mod:`ferroscreen.io.segment_outputs`):
    ``input_path`` being one (or its label image) is refused; inside an
    acquisition folder the readers pass over them (the reader's note is kept in
    ``attrs["notes"]``), and files of them a reader still listed are dropped from
    the frame table (a file it passed over for one of them is read instead; a note says so).

    Image files that are z-stacks (TIFFs whose axes hold ``Z``: ImageJ hyperstacks
    ``ZYX``, ``ZCYX``) take ``z_plane`` as acquisitions do: each row gets ``z`` (the
    plane, ``max`` or ``best``; :func:`read_field` reads it, ``attrs["z_plane"]``
    holds it). Without ``z_plane`` such a file stops the run before it starts, and
    ``z_plane`` for image files none of which is a z-stack is refused.
    Image names (the ``image`` column, label file stems) are unique, see
    :func:`~ferroscreen.io.segment_outputs.image_names`.

    A folder of images is read without its sub-folders (label names stay the
    flat file names, unique among one folder's images): ``attrs["notes"]`` says
    how many images its sub-folders hold and how to read them
    (:func:`~ferroscreen.io.detect.subfolder_note`), and, when most names carry
    a well id, which ``--pattern`` reads it as a plate
    (:func:`~ferroscreen.io.detect.well_pattern_hint`). A folder with images only
    in sub-folders is refused, saying so.

    Returns:
        ``(table, kind)`` with kind ``"images"`` or ``"acquisition"``.

    Raises:
        FerroscreenError: Nothing to segment, an ambiguous channel, a
            ``z_plane`` the acquisition or z-stack lacks (or one given for image files
            without z-stacks), a z-stack image without ``z_plane``, an earlier segment
            output given as input, or one inside the folder whose label images the
            reader refuses as second files of its frames.
    """
    path = Path(input_path)
    if not path.exists():
        raise FerroscreenError(f"{path}: no such file or folder")
    own = output_holding(path)
    if own is not None:
        raise FerroscreenError(f"{path}: belongs to the output of an earlier segment run ({own}), not input; "
                               "give the folder of the images it was made from")
    outputs = find_segment_outputs(path)
    from ferroscreen.io.detect import is_acquisition_file, refuse_stacked_ome

    if path.is_file() and not is_acquisition_file(path):  # a CZI or an OME-TIFF of a plate is an acquisition
        refuse_acquisition_options(path, "a single image file", fmt, channel, None, _CHANNEL_INDEX_HINT)
        if path.suffix.lower() not in IMAGE_SUFFIXES:
            raise FerroscreenError(f"{path}: not an image file ({', '.join(IMAGE_SUFFIXES)})")
        refuse_stacked_ome([path])
        stack = _first_z_stack([path], z_plane)
        refuse_acquisition_options(path, "a single image file" + _NO_STACK, z_plane=None if stack else z_plane)
        return _stack_planes(pd.DataFrame({"path": [str(path)], "image": [path.stem]}), z_plane), "images"
    from ferroscreen.io import open_acquisition

    acq, failed, notes = None, None, []
    layout, unknown = format_or_unknown(path, fmt)
    try:
        if layout is not None:
            acq = open_acquisition(path, fmt=layout, interval_h=interval_h)
    except AcquisitionError as exc:
        inner = mentions_output(str(exc), outputs)
        if inner is not None:  # a reader that refuses two files for one frame met a label image
            raise FerroscreenError(
                f"{path}: the earlier segment output {inner} inside it holds label images named like its images, "
                f"which this layout's reader takes for second files of the same frames; move {inner} out of "
                f"{path} (or write segment outputs beside the plate folder, not in it)") from None
        if fmt is not None:
            raise
        acq, failed = None, exc
    if acq is not None:
        frames, notes = drop_output_frames(acq.frames, acq.skipped, outputs)
        notes = [n for n in acq.notes  # the reader passed over earlier outputs; sites the plate lacks
                 if is_passed_over_note(n) or n.startswith(MISSING_SITES_NOTE) or is_unnamed_note(n)] + notes
        if frames.empty:
            raise FerroscreenError(f"{path}: only label images of earlier segment runs, no input images")
    if acq is None:
        files = list_images(path)
        if not files and failed is not None:
            raise failed  # a recognised layout that could not be read says why
        counts, complete = images_in_subfolders(path, skip=is_segment_output)
        if not files and counts:
            raise FerroscreenError(f"{path}: no images directly inside and no known acquisition layout; "
                                   f"{subfolder_note(path, counts, complete)}")
        if not files and unknown is not None:
            raise unknown
        if not files:
            raise FerroscreenError(f"{path}: no images ({', '.join(IMAGE_SUFFIXES)}) and no known acquisition layout")
        refuse_acquisition_options(path, "a folder of images", None, channel, None, _CHANNEL_INDEX_HINT)
        refuse_stacked_ome(files)
        stack = _first_z_stack(files, z_plane)
        refuse_acquisition_options(path, "a folder of images" + _NO_STACK, z_plane=None if stack else z_plane)
        table = pd.DataFrame({"path": [str(f) for f in files], "image": image_names(files)})
        table.attrs["notes"] = [n for n in (well_pattern_hint(files), subfolder_note(path, counts, complete)) if n]
        return _stack_planes(table, z_plane), "images"
    frames = frames.copy()
    channel, note = choose_channel(frames["channel"].astype(str), channel, "nuclear", str(path),
                                   plates=frames["plate"].astype(str))
    frames = frames[frames["channel"].astype(str) == channel]
    if z_plane in PROJECTIONS:
        frames, z, z_note = _projected(frames, str(z_plane), str(path))
    else:
        z, z_note = choose_plane(frames["z"], z_plane, str(path))
        frames = frames[frames["z"] == z].reset_index(drop=True)
    stems = [Path(p).stem for p in frames["path"]]
    collide = len({s.lower() for s in stems}) < len(stems)  # case aside: label files on case-insensitive disks
    if collide or any(is_store_frame(p) for p in frames["path"]) or z in PROJECTIONS:
        stems = [  # a Cellomics field as its file writes it (0-based: f00), not as the frame table's field 1
            f"{r.plate}_{r.well}_{name_field(r.path) or f'f{int(r.field):02d}'}_{r.channel}_t{float(r.time_h):g}h"
            for r in frames.itertuples(index=False)
        ]
    frames["image"] = stems
    frames.attrs["notes"] = notes + [f"segmenting {n}" for n in (note, z_note) if n]
    frames.attrs["z_plane"] = z
    frames.attrs["channel"] = channel
    return frames, "acquisition"


#: Ends the refusal of --z-plane for image files none of which is a z-stack.
_NO_STACK = ", and no z-stack (a TIFF with a Z axis, as ImageJ hyperstacks have)"


def _first_z_stack(files: list[Path], z_plane: int | str | None) -> Path | None:
    """The first of the image ``files`` that is a z-stack (:func:`~ferroscreen.segment.images.tiff_z_planes`), or None.

    Only TIFF headers are read, until the first stack.

    Raises:
        FerroscreenError: A z-stack and no ``z_plane`` (which plane, or projection, to segment is the
            user's call, so the run stops before it starts, naming the file), or a plane it lacks.
    """
    for f in files:
        n, axes = tiff_z_planes(f)
        if n > 1:
            if z_plane is None:
                raise FerroscreenError(
                    f"{f}: is a z-stack of {n} planes (axes {axes}); segment reads one image per file: give "
                    f"--z-plane N (0-based, 0-{n - 1}), max (maximum-intensity projection) or best (the plane "
                    "in best focus)")
            if isinstance(z_plane, int) and z_plane >= n:
                raise FerroscreenError(f"{f}: has no z plane {z_plane} (planes 0-{n - 1}, numbered from 0)")
            return Path(f)
    return None


def _stack_planes(table: pd.DataFrame, z_plane: int | str | None) -> pd.DataFrame:
    """Image files with the z plane each row reads (``z``; :func:`read_field`), and a note saying which."""
    notes = list(table.attrs.get("notes", []))
    if z_plane is not None:
        table["z"] = [z_plane] * len(table)
        notes.append("segmenting " + ("the maximum-intensity projection of each z-stack" if z_plane == "max" else
                                      "each z-stack's plane in best focus" if z_plane == "best" else
                                      f"z plane {z_plane} of each z-stack"))
    table.attrs["notes"] = notes
    table.attrs["z_plane"] = z_plane
    return table


def _projected(frames: pd.DataFrame, how: str, source: str) -> tuple[pd.DataFrame, int | str, str | None]:
    """One row per field (its planes' paths in ``planes``), or the only plane as it is."""
    zs = sorted({int(z) for z in frames["z"]})
    if not zs:
        raise AcquisitionError(f"{source}: no image frames found")
    if len(zs) == 1:
        return frames.reset_index(drop=True), zs[0], f"z plane {zs[0]}: the only plane, nothing to combine ({how})"
    keys = [c for c in ("plate", "well", "field", "channel", "time_h") if c in frames.columns]
    rows = []
    for _, site in frames.sort_values("z", kind="stable").groupby(keys, sort=False):
        row = site.iloc[0].to_dict()
        row.update(z=how, planes=list(site["path"].astype(str)))
        rows.append(row)
    table = pd.DataFrame(rows)
    what = "maximum-intensity projection" if how == "max" else "per field the plane in best focus"
    return table, how, f"z planes {', '.join(map(str, zs))}: {what}"


def read_field(rec: dict, channel: int | None = None) -> tuple[np.ndarray, int | None]:
    """The image of one row of :func:`collect_inputs` and, for ``best``, the z index it took.

    An acquisition's row reads its file, or combines its ``planes``; an image file's row with a
    ``z`` (a z-stack; :func:`_stack_planes`) reads that plane of the file or combines its planes.

    Raises:
        ImageReadError: A plane cannot be read, or the planes differ in size.
    """
    planes = rec.get("planes")
    if not isinstance(planes, list):
        if "plate" not in rec and rec.get("z") is not None:  # an image file of a z-stack (_stack_planes)
            return read_z(rec["path"], rec["z"], channel)
        return read_image(rec["path"], channel=channel), None
    images = [read_image(p, channel=channel) for p in planes]
    try:
        image, k = project_planes(images, str(rec["z"]))
    except ValueError as exc:
        raise ImageReadError(f"{planes[0]}: {exc}") from None
    return image, k


def segment_input(
    input_path: str | Path,
    out: str | Path,
    model: str = "nuclei-aits",
    fmt: str | None = None,
    channel: str | None = None,
    tile: int | None = 1152,
    tta: bool = False,
    objects: bool = False,
    progress: Callable[[int, int], None] | None = None,
    diameter: str | float | None = None,
    resume: bool = False,
    channel_index: int | None = None,
    z_plane: int | str | None = None,
    interval_h: float = 1.0,
    min_size: int | None = None,
) -> dict:
    """Segment ``input_path`` into ``out`` (see the module docstring for the files).

    Args:
        input_path: Image, folder of images or acquisition folder.
        out: Output folder (created).
        model: Registered model name or model file path.
        fmt: Acquisition format (default: detect; plain folders are image folders).
        channel: Nuclear channel of a multi-channel acquisition (None: the default choice, or with
            ``resume`` the channel the run recorded).
        tile: Prediction tile side (``None``: whole image in one pass).
        tta: Test-time augmentation (8 flips/rotations).
        objects: Also write ``objects.csv`` (one row per nucleus).
        progress: Called with ``(done, total)`` after each image.
        diameter: The images' median nucleus diameter in pixels, ``auto``
            (estimated from a sample, see :meth:`NucleiModel.choose_scale`),
            ``each`` (estimated per image) or ``model`` (images as they are); None: ``auto``, or the
            setting of the run ``resume`` continues.
        resume: Continue a stopped run in ``out`` (see ``run.json`` above).
        channel_index: The nuclear channel (0-based) of multi-channel image
            files; without it, files whose channels differ fail with that advice.
        z_plane: z plane of a z-stack acquisition, 0-based from the bottom
            (default: the only one, else the lowest), or ``"max"``
            (maximum-intensity projection per field) or ``"best"`` (per field
            the plane in best focus; ``fields.csv``'s ``z_best`` says which); of
            image files that are z-stacks (ImageJ hyperstacks) the same, per file,
            and needed (:func:`collect_inputs`).
        interval_h: Scan interval of acquisitions that number their scans (``--pattern``
            with a ``timepoint`` group, ImageXpress ``TimePoint_N``).
        min_size: Nuclei smaller than this (pixels of the image) are dropped (default: the
            model's, 40 for ``nuclei-aits``); smaller keeps micronuclei and fragments. The scale
            estimate still counts only objects of the model's size.

    Returns:
        Summary dict (also written to ``segment.json``).

    Raises:
        FerroscreenError: Bad input, a ``diameter`` that is none of the above,
            ``out`` holding an earlier run without ``resume``, or one made with
            another model, ``tta``, acquisition channel, channel index, z plane, ``min_size`` or a
            ``diameter`` other than ``auto`` that is not the run's; ``out`` holding
            a file the run would write but no earlier run; a ``min_size`` under 1.
    """
    import torch

    from ferroscreen.allocator import keep_freed_memory
    from ferroscreen.hashing import file_sha256
    from ferroscreen.segment.predict import NucleiModel

    keep_freed_memory()

    asked = diameter
    try:
        diameter = parse_diameter("auto" if diameter is None else diameter)
        z_plane = parse_z_plane(z_plane)
    except ValueError as exc:
        raise FerroscreenError(str(exc)) from None
    if min_size is not None and min_size < 1:
        raise FerroscreenError(f"--min-size {min_size}: give a size of at least 1 pixel")
    out = Path(out)
    if resume and channel is None:  # a resumed run reads the channel it recorded
        channel = _recorded_channel(out, Path(input_path))
    table, kind = collect_inputs(input_path, fmt=fmt, channel=channel, z_plane=z_plane, interval_h=interval_h)
    z_plane, channel = table.attrs.get("z_plane"), table.attrs.get("channel")
    nm = NucleiModel.from_name(model)
    sha = file_sha256(nm.path) if nm.path else None
    params = replace(nm.postprocess, min_size=int(min_size)) if min_size is not None else None
    earlier = _earlier_run(out, resume, sha, tta, channel_index, z_plane, Path(input_path),
                           (params or nm.postprocess).min_size, None if asked is None else diameter, channel)
    if earlier is None:
        _refuse_overwrite(out, table, kind, objects)
    each = earlier.get("diameter") == "each" if earlier is not None else diameter == "each"
    if earlier is not None:
        choice = ScaleChoice(**{k: earlier["scale"][k] for k in ScaleChoice.__dataclass_fields__})
    elif each:
        choice = ScaleChoice(1.0, None, nm.diameter_px, "each image estimated (scale column of fields.csv)")
    else:
        with torch.inference_mode():
            sample = np.unique(np.linspace(0, len(table) - 1, min(ESTIMATE_IMAGES, len(table))).round().astype(int))
            images = _readable(table.iloc[sample], channel_index) if diameter == "auto" else []
            choice = nm.choose_scale(images, diameter, tile=tile)
        del images
    journaled = earlier is None or earlier.get("label_sources") == SOURCES_FILE
    env, command = environment(), command_line()
    first = {"created_environment": env, "created_command": command} if earlier is None else {
        k: earlier[k] for k in ("created_environment", "created_command") if k in earlier}  # the run that began it
    recorded = _recorded_sources(out / SOURCES_FILE) if earlier is not None else {}
    with _removed_unless_labelled(out, fresh=earlier is None):
        (out / "labels").mkdir(parents=True, exist_ok=True)
        if earlier is None:
            (out / SOURCES_FILE).unlink(missing_ok=True)  # no other run's journal: a fresh run starts its own
        write_json(out / RUN_FILE, {"input": str(Path(input_path).resolve()),
                                    "model": str(model), "model_sha256": sha, "tta": tta, "channel": channel,
                                    "channel_index": channel_index, "z_plane": z_plane, "tile": tile,
                                    "diameter": "each" if each else "run",
                                    "diameter_setting": diameter if earlier is None else _diameter_setting(earlier),
                                    "min_size": (params or nm.postprocess).min_size,
                                    "scale": choice.to_dict(),
                                    **({"label_sources": SOURCES_FILE} if journaled else {}),
                                    "environment": env, "command": command, **first})
        rows, obj_tables, failures, reused = [], [], [], 0
        redone, unrecorded, unchecked = 0, 0, 0
        with torch.inference_mode():
            for i, rec in enumerate(table.to_dict("records")):
                sources = _source_stamps(rec)  # before reading: a file changed while read is redone next time
                try:
                    image, best = read_field(rec, channel_index)
                except ImageReadError as exc:
                    failures.append(str(exc))
                    rows.append({**rec, "status": "failed", "error": str(exc)})
                    if progress is not None:
                        progress(i + 1, len(table))
                    continue
                label_path = out / "labels" / f"{rec['image']}.tif"
                native, scale = None, choice.scale
                if each and nm.diameter_px is not None:
                    (native,), estimate = nm.native_estimate([image], tile=tile)
                    scale = choose_scale("auto", nm.diameter_px, estimate).scale
                labels = _written_labels(label_path, image.shape) if earlier is not None else None
                if labels is not None:
                    was = recorded.get(rec["image"])
                    if was is None and not journaled:  # a run from before the journal: kept, unchecked
                        unchecked += 1
                    elif was is None:  # stopped between writing the label and its journal line
                        unrecorded += 1
                        labels = None
                    elif _stamps(was) != _stamps(sources):  # its image changed since: segmented again
                        redone += 1
                        labels = None
                if labels is None:
                    if native is None or scale != 1.0 or tta or params is not None:
                        labels = nm.segment(image, tile=tile, tta=tta, scale=scale, params=params)
                    else:  # the estimate's own pass is the answer
                        labels = native
                    write_labels(label_path, labels)
                    _journal(out / SOURCES_FILE, rec["image"], sources)
                else:
                    reused += 1
                obj = object_table(labels, image)
                qc = field_qc_metrics(image, labels, debris_area=DEBRIS_AREA / scale**2)
                if best is not None:
                    rec = {**rec, "z_best": best}
                rows.append({**rec, "status": "done", "error": "", "scale": scale, **field_features(obj), **qc})
                obj_tables.append(obj.assign(image=rec["image"]))
                if progress is not None:
                    progress(i + 1, len(table))
        notes = list(table.attrs.get("notes", []))
        if redone:
            notes.append(f"{redone} image(s) changed since the stopped run labelled them (file size or modification "
                         "time): segmented again, not read back")
        if unrecorded:
            notes.append(f"{unrecorded} label image(s) of the stopped run had no line in {SOURCES_FILE} (stopped "
                         "before it was written): segmented again")
        if unchecked:
            notes.append(f"{unchecked} label image(s) of the stopped run kept unchecked: it was made before "
                         f"{SOURCES_FILE} recorded each image's size and time, so a replaced image goes unseen; "
                         "segment into a new --out if images were re-imaged")
        if len(failures) == len(rows):
            raise ImageReadError(f"no image could be read ({len(rows)} tried); the first: {failures[0]}")
        fields = _flagged(pd.DataFrame(rows))
        if "planes" in fields.columns:  # projected fields: their planes' paths, lowest first
            fields["planes"] = [";".join(p) if isinstance(p, list) else "" for p in fields["planes"]]
        id_cols = [c for c in ("image", "plate", "well", "field", "channel", "time_h", "z", "z_best")
                   if c in fields.columns]
        rest = [c for c in fields.columns if c not in id_cols and c != "path"]
        fields = fields[id_cols + rest + ["path"]]
        fields.to_csv(out / "fields.csv", index=False)
        written = ["fields.csv"]
        provenance = {
            "task": "nuclei-segmentation",
            "acquisition": str(Path(input_path).resolve()),
            "channel": "" if channel is None else channel,
            "model": str(model),
            "model_sha256": sha,
            "postprocess": (params or nm.postprocess).to_dict(),
            "scale": choice.scale,
            "nucleus_diameter_px": choice.image_diameter_px if choice.image_diameter_px is not None else "",
            "z_plane": "" if z_plane is None else z_plane,
            "environment": env,
            "command": command,
        }
        if kind == "acquisition":
            keys = ("plate", "well") + (("time_h",) if fields["time_h"].nunique() > 1 else ())
            wells = well_features(fields, keys)
            wells.to_csv(out / "wells.csv", index=False)
            written.append("wells.csv")
            written += _write_stores(out / "store", fields, obj_tables, wells, provenance)
        if objects:
            objs = pd.concat(obj_tables, ignore_index=True) if obj_tables else pd.DataFrame()
            objs.to_csv(out / "objects.csv", index=False)
            written.append("objects.csv")
        summary = {
            "task": provenance["task"],  # marks the folder as a segment output (outputs.is_segment_output)
            "input": str(Path(input_path).resolve()),
            "kind": kind,
            "model": str(model),
            "model_path": str(nm.path),
            "model_sha256": provenance["model_sha256"],
            "postprocess": provenance["postprocess"],
            "scale": choice.to_dict(),
            "tile": tile,
            "tta": tta,
            "channel": channel,
            "z_plane": z_plane,
            "ferroscreen_version": __version__,
            "environment": env,
            "command": command,
            "created": created_now(),
            "n_images": int(len(fields)),
            "n_nuclei": int(fields["n_nuclei"].sum()) if len(fields) else 0,
            # fields read and flagged; unreadable ones are counted apart (n_failed), not as flagged by QC
            "n_flagged_fields": int(((fields["qc_flags"] != "") & (fields["status"] == "done")).sum()),
            "n_failed": len(failures),
            "n_reused": reused,
            "n_redone": redone + unrecorded,
            "failures": failures,
            "notes": notes,
            "outputs": written + ["labels/"],
        }
        write_json(out / SUMMARY_FILE, summary)  # strict JSON: NaN and infinity as null
    return summary


def _earlier_run(
    out: Path, resume: bool, sha: str | None, tta: bool, channel_index: int | None, z_plane: int | None = None,
    input_path: Path | None = None, min_size: int | None = None, diameter: str | float | None = None,
    channel: str | None = None,
) -> dict | None:
    """The ``run.json`` of an earlier run in ``out`` to continue, or ``None`` for a fresh run.

    ``diameter`` None (not given) resumes at the run's own setting; a given one (``auto`` too)
    must be the run's (:func:`_diameter_setting`). ``channel`` is the acquisition channel this
    run reads (None for image files); a ``run.json`` that did not record one is not checked.

    Raises:
        FerroscreenError: An earlier run without ``resume``; one that cannot be continued (no or
            unreadable ``run.json``, another input, model, ``tta``, acquisition channel, channel
            index, z plane, ``min_size`` or ``diameter``).
    """
    run_file = out / RUN_FILE
    has_labels = (out / "labels").is_dir() and any((out / "labels").glob("*.tif"))
    if not run_file.exists() and not has_labels:
        return None
    if not resume:
        raise FerroscreenError(
            f"{out}: holds an earlier segment run; pass --resume to continue it, or choose another --out"
        )
    try:
        earlier = json.loads(run_file.read_text())
        earlier["scale"]["scale"]
    except (OSError, ValueError, KeyError, TypeError):
        raise FerroscreenError(f"{out}: label images but no readable {RUN_FILE}; cannot tell how they were made, "
                               "choose another --out") from None
    before = earlier.get("input") or _summary_input(out)
    if input_path is not None and before and Path(before).resolve() != input_path.resolve():
        raise FerroscreenError(f"{out}: holds a segment run of {before}, not of {input_path}; resume it "
                               "with the same input, or choose another --out")
    if earlier.get("model_sha256") != sha:
        raise FerroscreenError(
            f"{out}: was segmented with another model (sha256 {str(earlier.get('model_sha256'))[:12]}, "
            f"this one {str(sha)[:12]}); choose another --out"
        )
    if bool(earlier.get("tta")) != bool(tta):
        raise FerroscreenError(f"{out}: was segmented {'with' if earlier.get('tta') else 'without'} --tta; "
                               "resume it with the same setting")
    if "channel" in earlier and earlier["channel"] != channel:  # runs from before the field: not checked
        was = earlier["channel"]
        if was is None:  # the same folder read as image files then, as an acquisition now
            raise FerroscreenError(f"{out}: was segmented as image files, this run reads channel {channel} of "
                                   "an acquisition; resume it as it was read (same --format), or choose another --out")
        now = f"reads {channel}" if channel is not None else "reads image files, no acquisition channel"
        raise FerroscreenError(f"{out}: was segmented on channel {was}, this run {now}; resume it with "
                               f"--channel {was} (or without --channel), or choose another --out")
    if earlier.get("channel_index") != channel_index:
        was = earlier.get("channel_index")
        raise FerroscreenError(f"{out}: was segmented without --channel-index; resume it without" if was is None
                               else f"{out}: was segmented with --channel-index {was}; resume it with the same")
    if min_size is not None and earlier.get("min_size", min_size) != min_size:  # older runs: the model's
        raise FerroscreenError(f"{out}: was segmented with --min-size {earlier['min_size']}; resume it with the same")
    if earlier.get("z_plane") is not None and earlier["z_plane"] != z_plane:  # older runs (None) read the lowest
        now = f"plane {z_plane}" if z_plane is not None else "no z plane"
        raise FerroscreenError(f"{out}: was segmented on z plane {earlier.get('z_plane')}, this run reads {now}; "
                               f"resume it with --z-plane {earlier.get('z_plane')}")
    setting = _diameter_setting(earlier)
    if diameter is not None and not _same_diameter(diameter, setting):
        was = f"{setting:g}" if isinstance(setting, float) else setting
        raise FerroscreenError(f"{out}: was segmented with --diameter {was} ({_scale_text(earlier['scale'])}); "
                               "resume it with the same, or without --diameter")
    return earlier


def _recorded_channel(out: Path, input_path: Path) -> str | None:
    """The channel the ``run.json`` in ``out`` recorded for ``input_path``, or ``None``.

    ``None`` too when there is no readable ``run.json``, it names another input (refused
    later, by :func:`_earlier_run`), or it recorded no channel (image files, older runs).
    """
    try:
        run = json.loads((out / RUN_FILE).read_text())
        same = Path(run["input"]).resolve() == input_path.resolve()
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None
    channel = run.get("channel")
    return channel if same and isinstance(channel, str) else None


def _diameter_setting(run: dict) -> str | float:
    """The ``--diameter`` a ``run.json`` was made with (runs that did not record it: from their scale)."""
    recorded = run.get("diameter_setting")
    if isinstance(recorded, int | float) and not isinstance(recorded, bool):
        return float(recorded)
    if recorded in ("auto", "each", "model"):
        return recorded
    if run.get("diameter") == "each":
        return "each"
    source = run["scale"].get("source")
    if source == "given" and run["scale"].get("image_diameter_px"):
        return float(run["scale"]["image_diameter_px"])
    return "model" if source == "model" else "auto"


def _same_diameter(a: str | float, b: str | float) -> bool:
    """Whether two ``--diameter`` settings are the same (pixels to within 0.1 %)."""
    if isinstance(a, float) and isinstance(b, float):
        return bool(np.isclose(a, b, rtol=1e-3, atol=0))
    return a == b


def _scale_text(scale: dict) -> str:
    """How a run's :class:`ScaleChoice` reads in a message: its nucleus size and scale."""
    size = scale.get("image_diameter_px")
    across = f"nuclei {size:.4g} px across, " if isinstance(size, int | float) else ""
    return f"{across}scale {scale.get('scale', 1.0):g}"


def _refuse_overwrite(out: Path, table: pd.DataFrame, kind: str, objects: bool) -> None:
    """Refuse a fresh run into ``out`` where a file it writes is already (a user's table, not a run's).

    Raises:
        FerroscreenError: Naming the first such file.
    """
    names = ["fields.csv", SUMMARY_FILE] + (["objects.csv"] if objects else [])
    if kind == "acquisition":
        names += ["wells.csv"] + [f"store/{p}.h5" for p in sorted(table["plate"].astype(str).unique())]
    there = present_outputs(out, names)
    if there:
        raise FerroscreenError(f"{there[0]}: already there and {out} holds no earlier segment run; segment would "
                               "overwrite it: choose another --out, or move the file")


@contextmanager
def _removed_unless_labelled(out: Path, fresh: bool) -> Iterator[None]:
    """Undo a fresh run that fails before writing a label image: its ``run.json``, empty ``labels/`` and ``out``.

    Only what the run created goes (folders only when empty), so a corrected
    retry starts afresh rather than being refused as an earlier run's folder.
    """
    made_out, made_labels = not out.exists(), not (out / "labels").exists()
    try:
        yield
    except BaseException:
        labels = out / "labels"
        if fresh and not any(labels.glob("*.tif")):
            (out / RUN_FILE).unlink(missing_ok=True)
            for partial in labels.glob("*.tif.partial"):  # this run's unfinished label image
                partial.unlink(missing_ok=True)
            if made_labels:
                _rmdir_if_empty(labels)
            if made_out:
                _rmdir_if_empty(out)
        raise


def _rmdir_if_empty(folder: Path) -> None:
    """Remove ``folder`` when it is empty (anything else stays)."""
    try:
        folder.rmdir()
    except OSError:
        pass


def _summary_input(out: Path) -> str | None:
    """The input ``segment.json`` names (runs whose ``run.json`` did not record it), or ``None``."""
    try:
        value = json.loads((out / "segment.json").read_text()).get("input")
    except (OSError, ValueError, AttributeError):
        return None
    return value if isinstance(value, str) and value else None


def _written_labels(path: Path, shape: tuple[int, ...]) -> np.ndarray | None:
    """The label image a stopped run wrote at ``path``, or ``None`` (absent, unreadable or another shape)."""
    if not path.is_file():
        return None
    try:
        labels = read_image(path)
    except ImageReadError:
        return None
    return labels if labels.shape == shape[:2] else None


def _source_stamps(rec: dict) -> list[list]:
    """``[file, size, mtime_ns]`` of each file an input row is read from (:func:`read_field`), in order.

    A z-stack's ``planes`` give one each; a frame of a container (a TIFF page, a CZI
    plane, an OME-Zarr chunk) stands for its file (:func:`~ferroscreen.io.frames.frame_file`).
    A file that cannot be stat'ed gives ``-1`` for both, so it never matches a record.
    """
    planes = rec.get("planes")
    stamps = []
    for path in planes if isinstance(planes, list) else [rec["path"]]:
        file = frame_file(path)
        try:
            st = os.stat(file)
            stamps.append([str(file), int(st.st_size), int(st.st_mtime_ns)])
        except OSError:
            stamps.append([str(file), -1, -1])
    return stamps


def _stamps(sources: object) -> list[tuple] | None:
    """The ``(size, mtime_ns)`` of each entry of :func:`_source_stamps`, or ``None`` for an entry of another form.

    Paths are left aside: a resumed run may name its input relative or absolute.
    """
    try:
        return [(int(s[1]), int(s[2])) for s in sources]  # type: ignore[attr-defined]
    except (TypeError, ValueError, IndexError):
        return None


def _journal(path: Path, image: str, sources: list[list]) -> None:
    """Append one line to the resume journal: the label of ``image`` is whole and was made from ``sources``.

    A line torn by a stopped run is ended first, so that it never swallows this one.
    """
    with open(path, "a+b") as f:
        torn = f.tell() > 0 and f.seek(-1, os.SEEK_END) is not None and f.read(1) != b"\n"
        f.write((b"\n" if torn else b"") + json.dumps({"image": image, "sources": sources}).encode() + b"\n")


def _recorded_sources(path: Path) -> dict[str, list]:
    """The resume journal as ``{image: sources}`` (the last line of an image counts; a torn or foreign line is skipped).

    An absent or unreadable journal gives ``{}``: every label is then unrecorded.
    """
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return {}
    recorded = {}
    for line in lines:
        try:
            entry = json.loads(line)
            recorded[str(entry["image"])] = entry["sources"]
        except (ValueError, KeyError, TypeError):
            continue
    return recorded


def _readable(rows: pd.DataFrame, channel: int | None = None) -> list[np.ndarray]:
    """The images of ``rows`` (:func:`read_field`) that can be read (unreadable ones are left out)."""
    images = []
    for rec in rows.to_dict("records"):
        try:
            images.append(read_field(rec, channel)[0])
        except ImageReadError:
            continue
    return images


def _flagged(fields: pd.DataFrame) -> pd.DataFrame:
    """QC flags of the images read (:func:`flag_fields`); failed images are flagged ``failed``, order kept."""
    done = fields["status"] == "done"
    flagged = flag_fields(fields[done])
    failed = fields[~done].copy()
    for col in flagged.columns:
        if col.startswith("qc_") and col != "qc_flags":
            failed[col] = False
    failed["qc_flags"] = "failed"
    return pd.concat([flagged, failed]).sort_index()


def _write_stores(
    folder: Path,
    fields: pd.DataFrame,
    obj_tables: list[pd.DataFrame],
    wells: pd.DataFrame,
    provenance: dict,
) -> list[str]:
    """One score store per plate; returns the written paths relative to ``out``.

    ``/frames`` holds the score store's columns (``empty`` from ``qc_empty``, ``defocus`` from ``qc_focus``) and
    then every QC flag of ``fields.csv`` under its name there (``qc_empty`` ... ``qc_zero_block``, int8 0/1).
    """
    from ferroscreen.score.store import DONE, FAILED, new_frame_table, stamp_run, write_store

    objs = {t["image"].iloc[0]: t for t in obj_tables if len(t)}
    qc_cols = [f"qc_{flag}" for flag in QC_FLAGS]
    written = []
    for plate, f in fields.groupby("plate", sort=True):
        f = f.reset_index(drop=True)
        if f["z"].isin(PROJECTIONS).any():  # the store's z: the plane taken (best), -1 for a max projection
            best = f["z_best"] if "z_best" in f.columns else pd.Series(np.nan, index=f.index)
            f = f.assign(z=best.where(f["z"] == "best", -1).fillna(-1).astype(int))
        frames = new_frame_table(f)
        done = (f["status"] == "done").to_numpy()
        frames["status"] = np.where(done, DONE, FAILED)
        frames["reason"] = f["error"].fillna("").astype(str).to_numpy()
        frames["n_cells"] = f["n_nuclei"].fillna(0).to_numpy()
        frames["focus"] = f["focus"].to_numpy()
        frames["empty"] = f["qc_empty"].to_numpy().astype(np.int8)
        frames["defocus"] = f["qc_focus"].to_numpy().astype(np.int8)
        for col in qc_cols:  # every flag fields.csv has, by its name there (empty/defocus are the score store's)
            frames[col] = f[col].fillna(False).to_numpy().astype(np.int8)
        parts = [objs[name].assign(frame=i) for i, name in enumerate(f["image"]) if name in objs]
        o = (
            pd.concat(parts, ignore_index=True)
            if parts
            else pd.DataFrame({"frame": [], "centroid_x": [], "centroid_y": [], "area": []})
        )
        cells = {
            "frame": o["frame"].to_numpy(np.int64),
            "x": o["centroid_x"].to_numpy(np.float32),
            "y": o["centroid_y"].to_numpy(np.float32),
            "radius": np.sqrt(o["area"].to_numpy(np.float32) / np.pi),
            "score": np.ones(len(o), np.float32),
            "prob": np.ones((len(o), 1), np.float32),
        }
        counts = np.bincount(cells["frame"], minlength=len(frames)).astype(np.int64)
        stops = np.cumsum(counts)
        runs = [(i, "nuclei", int(stops[i] - counts[i]), int(stops[i])) for i in range(len(frames)) if counts[i]]
        attrs = stamp_run({**provenance, "classes": ["nucleus"], "plate": str(plate)}, provenance["environment"],
                          provenance["command"])
        plate_wells = wells[wells["plate"] == plate].reset_index(drop=True)
        path = folder / f"{plate}.h5"
        write_store(
            path,
            attrs,
            frames,
            None,
            {"nuclei": cells},
            runs,
            lambda fr, _sums, w=plate_wells: (fr, w),
            frame_extras=dict.fromkeys(qc_cols, np.int8),
        )
        written.append(f"store/{path.name}")
    return written
