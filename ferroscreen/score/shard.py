"""Per-rank result journals: append-only HDF5 files written in SWMR mode.

Each scoring process (DDP rank) appends to its own journal::

    /cells/{frame,x,y,radius,score}  (N,)   and /cells/prob (N, n_classes)
    /results/{frame,status,n_cells,cell_start,cell_stop,height,width,
              focus,empty,file_size,file_mtime,next_scan}  (M,)  and /results/reason (M,) S200
              and /results/file_sha256 (M,) S64 (absent in journals written before it)

A commit (:meth:`ShardWriter.commit`) appends the cells of the finished
frames and flushes, *then* appends their result rows and flushes again. The
file is in HDF5 single-writer/multiple-reader mode, whose ordered metadata
writes keep it readable (with ``swmr=True``) whatever moment the writer is
killed at. So a result row with a non-zero status on disk implies its cells
are on disk; rows past the last committed result are ignored by
:class:`ShardReader`, so nothing is lost or duplicated.

A journal is read without SWMR: HDF5's SWMR reader retries a metadata read
that fails its checksum with a sleep that doubles each time (a journal cut
short or damaged on disk would hang the reader for good). A killed writer's
journal has its superblock's consistency flags cleared first (what ``h5clear
-s`` does), and a journal HDF5 cannot read in full is reported as damaged.
"""

from __future__ import annotations

import errno
import struct
from pathlib import Path

import h5py
import numpy as np
import pandas as pd

from ferroscreen.score.h5write import abandon, require_space, write_failure
from ferroscreen.score.store import CELL_SCHEMA, DONE, FAILED, empty_cells

RESULT_SCHEMA: dict[str, object] = {
    "frame": np.int64,
    "status": np.int8,
    "n_cells": np.int32,
    "cell_start": np.int64,
    "cell_stop": np.int64,
    "height": np.int32,
    "width": np.int32,
    "focus": np.float32,
    "empty": np.int8,
    "file_size": np.int64,
    "file_mtime": np.float64,
    "next_scan": np.int8,
    "file_sha256": "S64",  # the frame file's hex sha256 (b"": not read)
}
REASON_DTYPE = "S200"
_CELL_CHUNK = 8192
_RESULT_CHUNK = 1024
#: Free bytes a new journal needs; a commit needs its own size (twice, chunks rewritten) plus :data:`_MARGIN_BYTES`.
_CREATE_BYTES = 256 << 10
_MARGIN_BYTES = 256 << 10
#: Result values a frame record may leave out.
RESULT_DEFAULTS = {"next_scan": -1, "file_sha256": ""}
#: Result columns a journal written by an older version lacks (read as :data:`RESULT_DEFAULTS`).
RESULT_OPTIONAL = ("file_sha256",)


class ShardWriter:
    """Append-only SWMR journal of one scoring process.

    Args:
        path: File to create (overwritten).
        n_classes: Width of the probability rows.
    """

    def __init__(self, path: str | Path, n_classes: int) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.n_classes = int(n_classes)
        self.f = None
        self.n_cells = 0
        self.n_results = 0
        self._cell_row = sum(np.dtype(dt).itemsize for dt in CELL_SCHEMA.values()) + 4 * self.n_classes
        self._result_row = sum(np.dtype(dt).itemsize for dt in RESULT_SCHEMA.values()) + 200
        require_space(self.path, _CREATE_BYTES)
        try:
            f = h5py.File(self.path, "w", libver="latest", locking=False)
        except (OSError, RuntimeError) as exc:
            failure = write_failure(exc, self.path)
            if failure is None:
                raise
            raise failure from None
        try:
            c = f.create_group("cells")
            for col, dt in CELL_SCHEMA.items():
                c.create_dataset(col, (0,), dt, maxshape=(None,), chunks=(_CELL_CHUNK,))
            c.create_dataset("prob", (0, n_classes), np.float32, maxshape=(None, n_classes),
                             chunks=(_CELL_CHUNK, n_classes))
            r = f.create_group("results")
            for col, dt in RESULT_SCHEMA.items():
                r.create_dataset(col, (0,), dt, maxshape=(None,), chunks=(_RESULT_CHUNK,))
            r.create_dataset("reason", (0,), REASON_DTYPE, maxshape=(None,), chunks=(_RESULT_CHUNK,))
            f.swmr_mode = True
            # held open: a dataset closed (a temporary handle let go) after a failed write raises from its destructor
            self._cells = {col: c[col] for col in (*CELL_SCHEMA, "prob")}
            self._results = {col: r[col] for col in (*RESULT_SCHEMA, "reason")}
        except BaseException as exc:
            self._give_up(f, exc)
            raise
        self.f = f

    def commit(self, results: list[dict], cells: dict[str, np.ndarray]) -> None:
        """Append finished frames: their cells first (flushed), then their result rows (flushed).

        Args:
            results: One dict per frame with the keys of :data:`RESULT_SCHEMA`
                (``cell_start``/``cell_stop`` relative to ``cells``) and ``reason``.
            cells: Cell columns (``frame`` etc. and ``prob``) of those frames, grouped by frame.
        """
        if not results:
            return
        if self.f is None:
            raise OSError(errno.EIO, "journal closed after a failed write", str(self.path))
        n_new = len(cells["frame"])
        # a write HDF5 cannot complete leaves it unable to close the file cleanly: refuse one that will not fit
        require_space(self.path, self._cell_row * (2 * n_new + _CELL_CHUNK) + self._result_row * (2 * len(results)
                            + _RESULT_CHUNK) + _MARGIN_BYTES)
        try:
            self._append(results, cells, n_new)
        except BaseException as exc:
            f, self.f = self.f, None
            self._give_up(f, exc)
            raise

    def _append(self, results: list[dict], cells: dict[str, np.ndarray], n_new: int) -> None:
        base = self.n_cells
        if n_new:
            for col in (*CELL_SCHEMA, "prob"):
                ds = self._cells[col]
                ds.resize(base + n_new, axis=0)
                ds[base:] = cells[col]
            self.f.flush()
            self.n_cells = base + n_new
        r = self._results
        m0, m = self.n_results, len(results)
        for col, dt in RESULT_SCHEMA.items():
            vals = [res.get(col, RESULT_DEFAULTS[col]) if col in RESULT_DEFAULTS else res[col] for res in results]
            vals = np.array([str(v).encode("ascii") for v in vals] if dt == "S64" else vals, dtype=dt)
            if col in ("cell_start", "cell_stop"):
                vals = vals + base
            r[col].resize(m0 + m, axis=0)
            r[col][m0:] = vals
        reasons = np.array([res.get("reason", "").encode("utf-8")[:200] for res in results], dtype=REASON_DTYPE)
        r["reason"].resize(m0 + m, axis=0)
        r["reason"][m0:] = reasons
        self.f.flush()
        self.n_results = m0 + m

    def close(self) -> None:
        """Close the file (clears the SWMR writer flag)."""
        if self.f is not None:
            f, self.f = self.f, None
            try:
                f.flush()  # a failed write shows here, while the file can still be let go safely
                self._cells = self._results = {}
                f.close()
            except BaseException as exc:
                self._give_up(f, exc)
                raise

    def _give_up(self, f, exc: BaseException) -> None:
        """Let go of ``f`` safely after ``exc`` (a failed write, an interrupt mid-write).

        A failed write raises as one ``OSError`` naming the journal; the journal on disk is left as a
        killed writer leaves it (a resumed run recovers its committed frames).
        """
        failure = write_failure(exc, self.path)
        if failure is None:
            try:
                self._cells = self._results = {}
                f.close()
                return
            except BaseException as again:  # noqa: BLE001 - the close failed too: a write failure
                failure = write_failure(again, self.path)
                if failure is None:
                    raise
        abandon(f)  # before its dataset handles are let go: their destructors write too
        self._cells = self._results = {}
        raise failure from None


class ShardReader:
    """Committed content of a journal, whether its writer finished or was killed.

    Attributes:
        results: Result rows with a done/failed status whose cell range lies
            inside the cells on disk (``cell_start``/``cell_stop`` index ``cells``).
        cells: The journal's ``/cells`` group (slice it per column), or an
            empty dict when the journal is unreadable: then ``results`` is empty too.
        damaged: Why the journal could not be read ("" when it could, or when
            its writer was killed before it was set up).

    Use as a context manager (closes the file).
    """

    def __init__(self, path: str | Path, n_classes: int) -> None:
        self.path = Path(path)
        self.f = None
        self.damaged = ""
        self.cells: object = empty_cells(n_classes)
        self.results = pd.DataFrame(
            {c: np.zeros(0, object if t == "S64" else t) for c, t in RESULT_SCHEMA.items()}
            | {"reason": np.zeros(0, object)}
        )
        try:
            if not self._open():
                return
            r, g = self.f["results"], self.f["cells"]
            have = [c for c in (*RESULT_SCHEMA, "reason") if c in r or c not in RESULT_OPTIONAL]
            m = min(r[c].shape[0] for c in have)
            n = min(g[c].shape[0] for c in (*CELL_SCHEMA, "prob"))
            _read_through(g, (*CELL_SCHEMA, "prob"), n)
            res = pd.DataFrame({c: r[c][:m] if c in have else np.full(m, RESULT_DEFAULTS[c], object)
                                for c in RESULT_SCHEMA})
            res["file_sha256"] = [v.decode("ascii", "replace") if isinstance(v, bytes) else str(v)
                                  for v in res["file_sha256"]]
            res["reason"] = [b.decode("utf-8", "replace") for b in r["reason"][:m]]
        except (OSError, KeyError, ValueError, RuntimeError) as exc:
            self.close()
            self.damaged = (str(exc).splitlines() or [type(exc).__name__])[0]
            return
        ok = res["status"].isin([DONE, FAILED]) & (res["cell_start"] >= 0) & (res["cell_stop"] <= n)
        ok &= res["cell_stop"] >= res["cell_start"]
        self.results = res[ok].reset_index(drop=True)
        self.cells = g

    def _open(self) -> bool:
        """Open the journal (clearing a killed writer's flags); False when it holds no journal yet."""
        with open(self.path, "rb") as fh:
            head = fh.read(_SUPERBLOCK_SIZE)
        if not head.strip(b"\0"):
            return False  # created, never written: the writer was killed at once
        if len(head) < _SUPERBLOCK_SIZE or head[:8] != _HDF5_SIGNATURE or head[8] not in (2, 3):
            raise OSError("not an HDF5 journal (superblock missing or of another version)")
        if struct.unpack("<I", head[44:48])[0] != _lookup3(head[:44]):
            raise OSError("superblock checksum mismatch")
        if head[11]:  # the writer never closed it: clear the flags as h5clear -s does
            fixed = head[:11] + b"\0" + head[12:44]
            with open(self.path, "r+b") as fh:
                fh.write(fixed + struct.pack("<I", _lookup3(fixed)))
        self.f = h5py.File(self.path, "r", locking=False)
        return "results" in self.f and "cells" in self.f and "reason" in self.f["results"]

    def close(self) -> None:
        """Close the journal file."""
        if self.f is not None:
            self.f.close()
            self.f = None

    def __enter__(self) -> ShardReader:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


_HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
#: Bytes of a version 2/3 superblock with 8-byte addresses (the ``libver="latest"`` journals).
_SUPERBLOCK_SIZE = 48
_BLOCK_ROWS = 1 << 20


def _read_through(group, columns, n: int) -> None:
    """Read ``n`` rows of each column in blocks (raises what HDF5 raises on a damaged chunk index)."""
    for col in columns:
        ds = group[col]
        for start in range(0, n, _BLOCK_ROWS):
            ds[start:min(n, start + _BLOCK_ROWS)]


def _lookup3(data: bytes, initval: int = 0) -> int:
    """Bob Jenkins' lookup3 ``hashlittle``, the checksum of HDF5's metadata (``H5_checksum_lookup3``)."""
    mask = 0xFFFFFFFF

    def rot(x: int, k: int) -> int:
        return ((x << k) | (x >> (32 - k))) & mask

    length = len(data)
    a = b = c = (0xDEADBEEF + length + initval) & mask
    k = 0
    while length > 12:
        a = (a + int.from_bytes(data[k:k + 4], "little")) & mask
        b = (b + int.from_bytes(data[k + 4:k + 8], "little")) & mask
        c = (c + int.from_bytes(data[k + 8:k + 12], "little")) & mask
        a = (a - c) & mask; a ^= rot(c, 4); c = (c + b) & mask  # noqa: E702
        b = (b - a) & mask; b ^= rot(a, 6); a = (a + c) & mask  # noqa: E702
        c = (c - b) & mask; c ^= rot(b, 8); b = (b + a) & mask  # noqa: E702
        a = (a - c) & mask; a ^= rot(c, 16); c = (c + b) & mask  # noqa: E702
        b = (b - a) & mask; b ^= rot(a, 19); a = (a + c) & mask  # noqa: E702
        c = (c - b) & mask; c ^= rot(b, 4); b = (b + a) & mask  # noqa: E702
        length -= 12
        k += 12
    if length == 0:
        return c
    tail = data[k:] + bytes(12 - length)
    a = (a + int.from_bytes(tail[0:4], "little")) & mask
    b = (b + int.from_bytes(tail[4:8], "little")) & mask
    c = (c + int.from_bytes(tail[8:12], "little")) & mask
    c ^= b; c = (c - rot(b, 14)) & mask  # noqa: E702
    a ^= c; a = (a - rot(c, 11)) & mask  # noqa: E702
    b ^= a; b = (b - rot(a, 25)) & mask  # noqa: E702
    c ^= b; c = (c - rot(b, 16)) & mask  # noqa: E702
    a ^= c; a = (a - rot(c, 4)) & mask  # noqa: E702
    b ^= a; b = (b - rot(a, 14)) & mask  # noqa: E702
    c ^= b; c = (c - rot(b, 24)) & mask  # noqa: E702
    return c
