"""The per-plate HDF5 score store: schema, reading, and atomic whole-file writes.

The schema is documented in ``docs/store_schema.md``. In short, one file per
plate holds::

    /            attrs: provenance (schema, ferroscreen version, software and command
                 of the first and the latest run, bundle sha256, classes, config
                 JSON, acquisition, layout sha256, the scored images' digest
                 (``frames_sha256``, :func:`frames_digest`), created/updated, the content
                 digest ``content_sha256`` (:func:`content_digest`), ...)
    /frames/<column>   one 1-D dataset per frame-table column (status, QC, file_sha256, ...)
    /cells/<column>    frame, x, y, radius, score (N,) and prob (N, n_classes)
    /wells/<column>    per well x time aggregates
    /layout/<column>   the plate layout, when one is known

Crash safety: the store itself is never modified in place. Every update
(creation, merge of scoring results, final aggregates) writes a complete new
file beside it and renames it over the old one (:func:`write_store`), so a
process killed at any moment leaves either the old or the new store, both
readable with plain h5py. Scoring results stream into per-rank journal files
(:mod:`ferroscreen.score.shard`) that are merged into the store.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import h5py
import numpy as np
import pandas as pd

from ferroscreen import __version__
from ferroscreen.errors import FerroscreenError, missing_file
from ferroscreen.provenance import command_line, environment
from ferroscreen.score.h5write import require_space

SCHEMA = "ferroscreen-score-store"
SCHEMA_VERSION = 1

#: Store attributes that say how its wells were scored (copied into the provenance of what is made of them).
SCORING_ATTRS = (
    "plate", "acquisition", "acquisition_format", "channel", "bundle_path", "bundle_sha256", "bundle_content_sha256",
    "bundle_backbone", "precision", "tta", "z_plane", "crop_size", "temperature", "detector", "normalization",
    "next_scan", "confusion_source", "layout_source", "layout_sha256", "frames_sha256", "frames_hashed",
    "bundle_training", "ferroscreen_version", "environment", "command", "created", "created_environment",
    "created_command", "updated", "config", "content_sha256",
)

#: What the store's content digest (:func:`content_digest`) leaves out, as volatile by nature: two runs that
#: score the same images with the same model into stores holding the same data differ in these. Root
#: attributes by name, datasets by path (a leading ``/``); attributes of other groups are all covered.
STORE_VOLATILE = frozenset({
    "created", "updated",  # when the first and the latest run wrote the store
    # on what (software, git commit, platform) and how (argv, working directory) those runs were started
    "environment", "command", "created_environment", "created_command",
    # absolute paths of the inputs (their content is covered: frames/file_sha256, bundle_content_sha256,
    # layout_sha256 and /layout, confusion), and the notes that name inputs by their paths
    "acquisition", "bundle_path", "layout_source", "confusion_source", "passed_over", "score_warnings",
    # the bundle file's sha256 and its training record hold its own creation time and training software;
    # bundle_content_sha256 stands for what it scores with
    "bundle_sha256", "bundle_training",
    "content_sha256", "content_sha256_updated",  # the digest itself, and the write it was taken at
    "/frames/path", "/frames/file_mtime",  # each image file's absolute path and modification time
})

#: Frame status codes of ``/frames/status``.
PENDING, DONE, FAILED = 0, 1, 2
STATUS_NAMES = {PENDING: "pending", DONE: "done", FAILED: "failed"}

#: Frame-table columns and their HDF5 dtypes (``str`` = variable-length UTF-8).
FRAME_SCHEMA: dict[str, object] = {
    "plate": str,
    "well": str,
    "field": np.int32,
    "channel": str,
    "z": np.int32,
    "time_h": np.float64,
    "path": str,
    "status": np.int8,
    "reason": str,
    "n_cells": np.int32,
    "cell_start": np.int64,
    "cell_stop": np.int64,
    "height": np.int32,
    "width": np.int32,
    "focus": np.float32,
    "empty": np.int8,
    "defocus": np.int8,
    "count_outlier": np.int8,
    "file_size": np.int64,
    "file_mtime": np.float64,
    "next_scan": np.int8,
    "conf_sum": np.float64,
    "file_sha256": str,
}

#: Values of frame columns that stores written by older versions lack (such a store reads with them).
FRAME_DEFAULTS = {"next_scan": -1, "file_sha256": ""}

#: Per-frame 2-D columns (n_frames, n_classes) kept beside the 1-D frame columns.
FRAME_SUMS = {"prob_sum": np.float64, "argmax_count": np.int32}

#: Per-cell 1-D columns; ``prob`` (N, n_classes) comes in addition.
CELL_SCHEMA: dict[str, object] = {
    "frame": np.int64,
    "x": np.float32,
    "y": np.float32,
    "radius": np.float32,
    "score": np.float32,
}

CELL_CHUNK = 16384
_STR = h5py.string_dtype("utf-8")


class StoreError(FerroscreenError):
    """A score store that is missing, unreadable or does not fit the run."""


def empty_cells(n_classes: int) -> dict[str, np.ndarray]:
    """A cell-column dict with zero rows."""
    out = {k: np.zeros(0, t) for k, t in CELL_SCHEMA.items()}
    out["prob"] = np.zeros((0, n_classes), np.float32)
    return out


def concat_cells(parts: list[dict[str, np.ndarray]], n_classes: int) -> dict[str, np.ndarray]:
    """Concatenate cell-column dicts (an empty list gives zero rows)."""
    if not parts:
        return empty_cells(n_classes)
    return {k: np.concatenate([p[k] for p in parts]) for k in (*CELL_SCHEMA, "prob")}


@dataclass
class PlateStore:
    """A score store's tables, in memory (cells stay on disk; see :func:`read_cells`).

    Attributes:
        attrs: Root attributes (provenance); JSON-able values.
        frames: The frame table, columns :data:`FRAME_SCHEMA`; row number = frame id.
        sums: Per-frame ``prob_sum`` and ``argmax_count``, shape (n_frames, n_classes).
        wells: Per well x time aggregates (see :mod:`ferroscreen.score.aggregate`).
        layout: The plate layout table, or ``None``.
    """

    attrs: dict
    frames: pd.DataFrame
    sums: dict[str, np.ndarray]
    wells: pd.DataFrame = field(default_factory=pd.DataFrame)
    layout: pd.DataFrame | None = None

    @property
    def classes(self) -> list[str]:
        """Class names, in probability-column order."""
        return list(self.attrs["classes"])


def stamp_run(attrs: dict, env: dict | None = None, command: dict | None = None) -> dict:
    """``attrs`` with the provenance of the run that writes them: its software and command, and a new store's creation.

    ``environment`` (:func:`ferroscreen.provenance.environment`) and ``command``
    (:func:`~ferroscreen.provenance.command_line`) become this run's, ``env`` and ``command`` when
    given, else taken now: like ``ferroscreen_version`` and ``updated``, they name the latest run
    that wrote the store. Attributes without ``created`` are a new store's: ``created`` (now),
    ``created_environment`` and ``created_command`` (this run's) are added, and a run that continues
    the store (``attrs`` read from it) keeps them, so a resume under other software records both the
    first and the latest. A store created before the software was recorded keeps its ``created``
    alone: its resume adds ``environment`` and ``command``, no ``created_*``.
    """
    out = dict(attrs)
    out["environment"] = environment() if env is None else dict(env)
    out["command"] = command_line() if command is None else dict(command)
    if not out.get("created"):
        out.update(created=now_iso(), created_environment=out["environment"], created_command=out["command"])
    return out


def frames_digest(frames: pd.DataFrame) -> tuple[str, int]:
    """The plate-level digest of the images scored, and how many frames it covers.

    The sha256 of the text of the done frames' hex ``file_sha256`` (those that record one), sorted,
    one a line, each line ended by a newline (a file read for several frames is listed each time);
    ``("", 0)`` when none records one. Frame names and times do not
    enter it: the same images scored from a moved or renamed folder give the same digest.
    """
    if "file_sha256" not in frames.columns or frames.empty:
        return "", 0
    done = frames["status"].to_numpy() == DONE
    digests = sorted(str(d) for d in frames.loc[done, "file_sha256"] if isinstance(d, str) and d)
    if not digests:
        return "", 0
    return hashlib.sha256("".join(f"{d}\n" for d in digests).encode()).hexdigest(), len(digests)


#: Rows of a dataset :func:`content_digest` reads at once.
DIGEST_ROWS = 1 << 18


def content_digest(f: h5py.File) -> str:
    r"""The store's content digest: the same for two stores holding the same data, whenever and wherever written.

    The hex sha256 over every object of the open file ``f`` in sorted path order (``/`` first), each
    object's attributes (sorted by name) before its data. Each attribute adds
    ``attr\0<path>\0<name>\0<value>\n``, the value as compact JSON with sorted keys (attributes
    holding JSON text parsed first, as :func:`read_store` reads them); each dataset adds
    ``dataset\0<path>\0<dtype>\0<shape>\n`` (dtype little-endian numpy, e.g. ``<f4``, or ``str``) and
    then its values in C order: numbers as little-endian bytes, text as each value's UTF-8 bytes,
    each preceded by its length (8 bytes, little-endian). :data:`STORE_VOLATILE` is left out.
    Chunking, compression, HDF5 file metadata and the order things were written in do not enter it.
    """
    paths = ["/"]
    f.visit(lambda name: paths.append(f"/{name}"))
    h = hashlib.sha256()
    for path in sorted(paths):
        obj = f[path]
        for name in sorted(obj.attrs):
            if path == "/" and name in STORE_VOLATILE:
                continue
            value = json.dumps(_decode_attr(obj.attrs[name]), sort_keys=True, separators=(",", ":"),
                               ensure_ascii=False, default=str)
            h.update(f"attr\0{path}\0{name}\0{value}\n".encode())
        if not isinstance(obj, h5py.Dataset) or path in STORE_VOLATILE:
            continue
        text = h5py.check_string_dtype(obj.dtype) is not None
        dtype = "str" if text else obj.dtype.newbyteorder("<").str
        h.update(f"dataset\0{path}\0{dtype}\0{list(obj.shape)}\n".encode())
        if obj.ndim == 0:
            h.update(_value_bytes(np.asarray(obj[()]), text))
            continue
        for start in range(0, obj.shape[0], DIGEST_ROWS):
            h.update(_value_bytes(obj[start : start + DIGEST_ROWS], text))
    return h.hexdigest()


def _value_bytes(values: np.ndarray, text: bool) -> bytes:
    """``values`` as :func:`content_digest` hashes them (numbers little-endian, text length-prefixed UTF-8)."""
    if not text:
        return np.ascontiguousarray(values, dtype=values.dtype.newbyteorder("<")).tobytes()
    parts = []
    for v in values.reshape(-1):
        raw = v if isinstance(v, bytes) else str(v).encode()
        parts.append(len(raw).to_bytes(8, "little") + raw)
    return b"".join(parts)


def current_content_digest(attrs: dict) -> str | None:
    """The store's recorded ``content_sha256`` if it is of the store as it is now, else None.

    The digest is recorded with the ``updated`` time of the write it was taken at
    (``content_sha256_updated``); a store written again since by a ferroscreen that does not record
    the digest (an older version resuming it) keeps a stale one, which this leaves out.
    """
    digest = attrs.get("content_sha256")
    if not digest or str(attrs.get("content_sha256_updated", "")) != str(attrs.get("updated", "")):
        return None
    return str(digest)


def scoring_record(attrs: dict) -> dict:
    """The :data:`SCORING_ATTRS` of a store's ``attrs``, its content digest only when current."""
    out = {k: attrs[k] for k in SCORING_ATTRS if k in attrs}
    out.pop("content_sha256", None)
    if (digest := current_content_digest(attrs)) is not None:
        out["content_sha256"] = digest
    return out


def store_content_sha256(path: str | Path) -> str:
    """The content digest (:func:`content_digest`) of the store at ``path``, computed from its data.

    ``score`` records it as the ``content_sha256`` attribute; compare stores by this function on their
    files, not by the recorded value.

    Raises:
        StoreError: One line naming the file when it is missing, not HDF5 or not a score store.
    """
    with open_h5(path) as f:
        _check_schema(f, Path(path))
        return content_digest(f)


def new_frame_table(frames: pd.DataFrame) -> pd.DataFrame:
    """A store frame table for acquisition frames (all pending, result columns zero).

    Args:
        frames: Rows with at least ``plate, well, field, channel, z, time_h, path``.
    """
    out = pd.DataFrame({c: frames[c].to_numpy() for c in ("plate", "well", "field", "channel", "z", "time_h", "path")})
    for col, dt in FRAME_SCHEMA.items():
        if col in out:
            continue
        out[col] = "" if dt is str else np.zeros(len(out), dt)
    out["focus"] = np.nan
    out["file_size"] = -1
    out["file_mtime"] = np.nan
    out["next_scan"] = -1
    return _typed_frames(out)


def _typed_frames(df: pd.DataFrame, extras: dict[str, object] | None = None) -> pd.DataFrame:
    """``df``'s :data:`FRAME_SCHEMA` columns typed (those it lacks at their defaults), then its ``extras``."""
    out = pd.DataFrame(index=pd.RangeIndex(len(df)))
    for col, dt in {**FRAME_SCHEMA, **(extras or {})}.items():
        values = df[col].to_numpy() if col in df else np.full(len(df), FRAME_DEFAULTS.get(col, 0))
        out[col] = [_as_text(v) for v in values] if dt is str else values.astype(dt)
    return out


def _json_attr(value) -> object:
    if isinstance(value, (dict, list, tuple)) and not (
        isinstance(value, (list, tuple)) and value and all(isinstance(v, str) for v in value)
    ):
        return json.dumps(value, default=str)
    if value is None:
        return ""
    return value


def _as_text(v) -> str:
    return "" if v is None or (isinstance(v, float) and np.isnan(v)) else str(v)


def _write_table(group: h5py.Group, df: pd.DataFrame, chunk: int = 4096) -> None:
    """One resizable, chunked 1-D dataset per column (text as UTF-8 strings)."""
    rows = max(1, min(chunk, len(df)))
    for col in df.columns:
        values = df[col].to_numpy()
        if values.dtype == object or values.dtype.kind in "US":
            data = np.array([_as_text(v) for v in values], dtype=object)
            group.create_dataset(col, data=data, dtype=_STR, maxshape=(None,), chunks=(rows,))
        else:
            data = values.astype(np.int8) if values.dtype == bool else values
            group.create_dataset(col, data=data, maxshape=(None,), chunks=(rows,))


def _read_table(group: h5py.Group, order: list[str] | None = None) -> pd.DataFrame:
    names = order or list(group.attrs.get("columns", [])) or list(group.keys())
    cols = {}
    for name in names:
        if name not in group:
            continue
        ds = group[name]
        if h5py.check_string_dtype(ds.dtype) is not None:
            cols[name] = ds.asstr()[()].astype(object) if len(ds) else np.zeros(0, object)
        else:
            cols[name] = ds[()]
    return pd.DataFrame(cols)


def write_store(
    path: str | Path,
    attrs: dict,
    frames: pd.DataFrame,
    layout: pd.DataFrame | None,
    sources: dict[str, object],
    runs: list[tuple[int, str, int, int]],
    finalize,
    copy_rows: int = 1 << 20,
    frame_extras: dict[str, object] | None = None,
) -> PlateStore:
    """Write a complete store to ``path`` atomically (temporary file, fsync, rename).

    Cells are copied run by run from ``sources`` (open h5py ``cells`` groups
    or dicts of arrays, sliced per column), in the order of ``runs``, so the
    new file's cells are grouped by frame in frame-id order; memory holds at
    most ``copy_rows`` cells. Per-frame sums are computed while copying, then
    ``finalize(frames, sums)`` returns the final ``(frames, wells)`` (QC flags,
    aggregates) written with them; the store's content digest (:func:`content_digest`) of all
    written is recorded last, as ``content_sha256``. A process killed during the call leaves
    the previous file (or none) plus a stray ``.<name>.tmp-<pid>`` that
    :func:`remove_stale_temporaries` deletes.

    Args:
        path: Destination.
        attrs: Root attributes (provenance).
        frames: Frame table; ``cell_start``/``cell_stop``/``n_cells``/``conf_sum`` are recomputed.
        layout: Layout table or ``None``.
        sources: Cell sources by name.
        runs: ``(frame_id, source name, start, stop)``, one per frame with cells, in frame-id order.
        finalize: ``(frames, sums) -> (frames, wells)``.
        copy_rows: Largest number of cells held in memory at once.
        frame_extras: Frame columns beyond :data:`FRAME_SCHEMA` to write after them (name -> dtype), e.g. a
            segment store's QC flags; :func:`read_store` leaves them out (h5py reads them).

    Returns:
        The written store's tables.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    classes = list(attrs["classes"])
    k = len(classes)
    attrs = dict(attrs)
    attrs.update(schema=SCHEMA, schema_version=SCHEMA_VERSION, updated=now_iso())
    attrs.setdefault("ferroscreen_version", __version__)
    attrs.setdefault("created", attrs["updated"])
    frames = frames.copy()
    nf = len(frames)
    sums = {"prob_sum": np.zeros((nf, k)), "argmax_count": np.zeros((nf, k), np.int32)}
    conf = np.zeros(nf)
    start = np.zeros(nf, np.int64)
    stop = np.zeros(nf, np.int64)
    total = int(sum(b - a for _, _, a, b in runs))
    row = sum(np.dtype(dt).itemsize for dt in CELL_SCHEMA.values()) + 4 * k
    require_space(path, total * row + nf * (256 + 16 * k) + (1 << 20))
    try:
        f = _create(tmp, path)
        try:
            c = f.create_group("cells")
            chunk = min(CELL_CHUNK, max(total, 1))
            for col, dt in CELL_SCHEMA.items():
                c.create_dataset(col, (total,), dt, maxshape=(None,), chunks=(chunk,))
            c.create_dataset("prob", (total, k), np.float32, maxshape=(None, k), chunks=(chunk, k))
            c.attrs["columns"] = [*CELL_SCHEMA, "prob"]
            c.attrs["prob_columns"] = classes
            out = 0
            for group in _windows(runs, max(copy_rows // 3, 1)):
                block = _gather(sources, group)
                n = len(block["prob"])
                block["frame"] = np.repeat(np.array([g[0] for g in group], np.int64), [g[3] - g[2] for g in group])
                for col, dt in CELL_SCHEMA.items():
                    c[col][out : out + n] = block[col].astype(dt)
                c["prob"][out : out + n] = block["prob"].astype(np.float32)
                prob = block["prob"].astype(np.float64)
                fid = block["frame"]
                np.add.at(sums["prob_sum"], fid, prob)
                np.add.at(sums["argmax_count"], (fid, prob.argmax(axis=1)), 1)
                np.add.at(conf, fid, prob.max(axis=1))
                at = out
                for fr, _, ga, gb in group:
                    start[fr], stop[fr] = at, at + (gb - ga)
                    at += gb - ga
                out += n
            frames["cell_start"] = start
            frames["cell_stop"] = stop
            done = frames["status"].to_numpy() == DONE
            frames["n_cells"] = np.where(done, stop - start, 0).astype(np.int32)
            frames["conf_sum"] = conf
            frames, wells = finalize(frames, sums)
            attrs["n_cells"] = int(total)
            attrs["frames_sha256"], attrs["frames_hashed"] = frames_digest(frames)
            attrs["complete"] = int((frames["status"] != PENDING).all())
            for key, v in attrs.items():
                f.attrs[key] = _json_attr(v)
            g = f.create_group("frames")
            g.attrs["columns"] = [*FRAME_SCHEMA, *(frame_extras or {})]
            g.attrs["status_codes"] = json.dumps(STATUS_NAMES)
            _write_table(g, _typed_frames(frames, frame_extras))
            for name, dt in FRAME_SUMS.items():
                g.create_dataset(name, data=sums[name].astype(dt), maxshape=(None, k),
                                 chunks=(max(1, min(4096, nf)), k))
            w = f.create_group("wells")
            w.attrs["columns"] = list(wells.columns)
            _write_table(w, wells)
            if layout is not None:
                lg = f.create_group("layout")
                lg.attrs["columns"] = list(layout.columns)
                _write_table(lg, layout)
            # the write it was taken at (`updated`): a later write by a version without the digest leaves it stale
            attrs["content_sha256_updated"] = f.attrs["content_sha256_updated"] = str(f.attrs.get("updated", ""))
            attrs["content_sha256"] = content_digest(f)  # of all written: the attribute itself is left out
            f.attrs["content_sha256"] = attrs["content_sha256"]
        except BaseException as exc:
            _give_up(f, exc, path)
            raise
        try:
            f.flush()  # a failed write shows here, while the file can still be let go safely
            f.close()
        except BaseException as exc:
            _give_up(f, exc, path)
            raise
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)
        _fsync_dir(path.parent)
    finally:
        if tmp.exists():
            tmp.unlink()
    return PlateStore(attrs, _typed_frames(frames), sums, wells, layout)


def _create(tmp: Path, path: Path) -> h5py.File:
    """Create HDF5 file ``tmp`` (written for ``path``); a failed write raises one ``OSError`` naming ``path``."""
    from ferroscreen.score.h5write import write_failure

    try:
        return h5py.File(tmp, "w", libver="latest", locking=False, rdcc_nbytes=0)  # no chunk cache to write later
    except (OSError, RuntimeError) as exc:
        failure = write_failure(exc, path)
        if failure is None:
            raise
        raise failure from None


def _give_up(f: h5py.File, exc: BaseException, path: Path) -> None:
    """Let go of the temporary store file ``f`` after ``exc``.

    A failed write (a full disk) closes it without HDF5 writing again and raises one ``OSError``
    naming ``path``; anything else just closes it.
    """
    from ferroscreen.score.h5write import abandon, write_failure

    failure = write_failure(exc, path)
    if failure is None:
        try:
            f.close()
            return
        except BaseException as again:  # noqa: BLE001 - the close failed too: a write failure
            failure = write_failure(again, path)
            if failure is None:
                raise
    abandon(f)
    raise failure from None


#: Rows a source span may hold beyond twice the rows it is read for (see :func:`_gather`).
SPAN_SLACK = 4096


def _windows(runs: list[tuple[int, str, int, int]], max_rows: int):
    """Consecutive runs holding at most ``max_rows`` cells together (a longer run alone)."""
    window: list[tuple[int, str, int, int]] = []
    rows = 0
    for run in runs:
        n = run[3] - run[2]
        if window and rows + n > max_rows:
            yield window
            window, rows = [], 0
        window.append(run)
        rows += n
    if window:
        yield window


def _gather(sources: dict[str, object], window: list[tuple[int, str, int, int]]) -> dict[str, np.ndarray]:
    """The cells of ``window``'s runs, in its order: one read per source where the runs lie close together.

    Journals written by several DataLoader workers or DDP ranks hold frames in
    an order that is only locally that of the frame ids, so a window's runs
    from one source are read as one span when the span is at most twice their
    rows (plus :data:`SPAN_SLACK`), else as its contiguous stretches.
    """
    cols = (*CELL_SCHEMA, "prob")
    pieces: list[dict | None] = [None] * len(window)
    by_source: dict[str, list[int]] = {}
    for i, run in enumerate(window):
        by_source.setdefault(run[1], []).append(i)
    for name, members in by_source.items():
        members.sort(key=lambda i: window[i][2])
        lo, hi = window[members[0]][2], max(window[i][3] for i in members)
        need = sum(window[i][3] - window[i][2] for i in members)
        if hi - lo <= 2 * need + SPAN_SLACK:
            stretches = [members]
        else:
            stretches = [[members[0]]]
            for i in members[1:]:
                if window[i][2] == window[stretches[-1][-1]][3]:
                    stretches[-1].append(i)
                else:
                    stretches.append([i])
        src = sources[name]
        for stretch in stretches:
            s0, s1 = window[stretch[0]][2], max(window[i][3] for i in stretch)
            data = {col: np.asarray(src[col][s0:s1]) for col in cols}
            for i in stretch:
                a, b = window[i][2] - s0, window[i][3] - s0
                pieces[i] = {col: data[col][a:b] for col in cols}
    return {col: np.concatenate([p[col] for p in pieces]) for col in cols}


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def remove_stale_temporaries(path: str | Path) -> list[Path]:
    """Delete ``.<name>.tmp-*`` files left beside ``path`` by killed writers."""
    path = Path(path)
    stale = sorted(path.parent.glob(f".{path.name}.tmp-*"))
    for p in stale:
        p.unlink(missing_ok=True)
    return stale


#: Stores held open by :func:`one_version`, by resolved path.
_HELD: dict[str, h5py.File] = {}


@contextmanager
def one_version(path: str | Path) -> Iterator[None]:
    """Every read of the store ``path`` inside the block sees the version it held on entry.

    A store is only ever replaced whole (a new file renamed over it, :func:`write_store`), so a
    ``score --watch`` may swap it between two reads of one export; inside this block the store
    file is held open and :func:`open_h5` of its path gives that file, as it was. Nested blocks
    of one store share the outer one's file.

    Raises:
        StoreError: As :func:`open_h5`, on entry.
    """
    key = os.path.realpath(path)
    if key in _HELD:
        yield
        return
    _HELD[key] = open_h5(path)
    try:
        yield
    finally:
        _HELD.pop(key).close()


def open_h5(path: str | Path):
    """Open an HDF5 file read-only, falling back to SWMR read for a killed SWMR writer's file.

    A context manager giving the ``h5py.File``; inside :func:`one_version` of ``path``, the held
    file (left open on exit).

    Raises:
        StoreError: When the file is missing or not readable HDF5.
    """
    held = _HELD.get(os.path.realpath(path)) if _HELD else None
    if held is not None:
        return nullcontext(held)
    path = Path(path)
    if not path.is_file():
        raise StoreError(missing_file(path, "score store"))
    try:
        return h5py.File(path, "r", locking=False)
    except OSError as first:
        reason = str(first).splitlines()[0] if str(first) else type(first).__name__
        if "truncated file" in reason:  # cut short: an SWMR read would retry each metadata read for good
            raise StoreError(f"{path}: truncated HDF5 score store, a copy cut short? ({reason})") from None
        if "already open for write" not in reason:  # damaged: an SWMR read could hang on its checksums
            raise StoreError(f"{path}: not a readable HDF5 score store ({reason})") from None
        try:
            return h5py.File(path, "r", swmr=True, locking=False)
        except OSError:
            raise StoreError(f"{path}: not a readable HDF5 score store ({reason})") from None


def read_store(path: str | Path) -> PlateStore:
    """Read a store's attributes and tables (not its cells; see :func:`read_cells`).

    Raises:
        StoreError: One line naming the file when it is missing, not HDF5 or
            not a ferroscreen score store.
    """
    path = Path(path)
    with open_h5(path) as f:
        _check_schema(f, path)
        attrs = {k: _decode_attr(v) for k, v in f.attrs.items()}
        attrs["classes"] = list(attrs["classes"])
        frames = _read_table(f["frames"], list(FRAME_SCHEMA))
        sums = {k: f["frames"][k][()] for k in FRAME_SUMS}
        wells = _read_table(f["wells"]) if "wells" in f else pd.DataFrame()
        layout = _read_table(f["layout"]) if "layout" in f else None
    return PlateStore(attrs, _typed_frames(frames), sums, wells, layout)


def read_cells(path: str | Path) -> pd.DataFrame:
    """All cells of a store as a table: ``frame, x, y, radius, score, p_<class>...``."""
    with open_h5(path) as f:
        _check_schema(f, Path(path))
        classes = [_decode_attr(c) for c in f.attrs["classes"]]
        c = f["cells"]
        df = pd.DataFrame({k: c[k][()] for k in CELL_SCHEMA})
        prob = c["prob"][()]
    for j, name in enumerate(classes):
        df[f"p_{name}"] = prob[:, j]
    return df


def read_frame_cells(path: str | Path, frame_ids) -> dict[int, pd.DataFrame]:
    """The cells of the given frames only (each frame's ``cell_start:cell_stop`` rows), by frame id.

    Same columns as :func:`read_cells`; a frame with no cells gets an empty table.
    """
    out: dict[int, pd.DataFrame] = {}
    with open_h5(path) as f:
        _check_schema(f, Path(path))
        classes = [_decode_attr(c) for c in f.attrs["classes"]]
        starts, stops = f["frames/cell_start"][()], f["frames/cell_stop"][()]
        c = f["cells"]
        for i in frame_ids:
            a, b = int(starts[int(i)]), int(stops[int(i)])
            df = pd.DataFrame({k: c[k][a:b] for k in CELL_SCHEMA})
            prob = c["prob"][a:b] if b > a else np.zeros((0, len(classes)), np.float32)
            for j, name in enumerate(classes):
                df[f"p_{name}"] = prob[:, j]
            out[int(i)] = df
    return out


def iter_cells(path: str | Path, chunk: int = 1_000_000) -> Iterator[pd.DataFrame]:
    """The cells of a store in blocks of at most ``chunk`` rows (same columns as :func:`read_cells`).

    For stores too large to hold every cell in memory; the index runs on across blocks.
    """
    with open_h5(path) as f:
        _check_schema(f, Path(path))
        classes = [_decode_attr(c) for c in f.attrs["classes"]]
        c = f["cells"]
        n = c["frame"].shape[0]
        for start in range(0, n, chunk):
            stop = min(n, start + chunk)
            df = pd.DataFrame({k: c[k][start:stop] for k in CELL_SCHEMA}, index=pd.RangeIndex(start, stop))
            prob = c["prob"][start:stop]
            for j, name in enumerate(classes):
                df[f"p_{name}"] = prob[:, j]
            yield df


def _check_schema(f: h5py.File, path: Path) -> None:
    if f.attrs.get("schema") != SCHEMA:
        raise StoreError(f"{path}: not a ferroscreen score store (no '{SCHEMA}' schema attribute)")
    if int(f.attrs.get("schema_version", 0)) > SCHEMA_VERSION:
        raise StoreError(f"{path}: store schema {f.attrs['schema_version']} is newer than this ferroscreen")
    needed = ["frames", "cells", *(f"frames/{k}" for k in FRAME_SCHEMA if k not in FRAME_DEFAULTS),
              *(f"cells/{k}" for k in CELL_SCHEMA), "cells/prob"]
    missing = next((name for name in needed if name not in f), None)
    if missing is not None or "classes" not in f.attrs:
        what = f"'/{missing}'" if missing is not None else "the 'classes' attribute"
        raise StoreError(f"{path}: damaged score store: {what} is missing")


def _decode_attr(v):
    if isinstance(v, bytes):
        v = v.decode()
    if isinstance(v, np.ndarray):
        return [x.decode() if isinstance(x, bytes) else x for x in v.tolist()]
    if isinstance(v, str) and v[:1] in "[{":
        try:
            return json.loads(v)
        except ValueError:
            return v
    if isinstance(v, np.generic):
        return v.item()
    return v


def now_iso() -> str:
    """Current UTC time, ISO 8601, seconds."""
    return datetime.now(UTC).replace(microsecond=0).isoformat()
