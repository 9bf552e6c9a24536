"""The :class:`Acquisition` every reader returns."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ferroscreen.io.frames import load_image


@dataclass
class Acquisition:
    """An imaged plate (or plates) as a frame table plus lazy pixel access.

    Attributes:
        root: The folder (or index file) the acquisition was read from.
        format: Reader name (``incucyte``, ``incucyte_archive``, ``harmony``,
            ``imagexpress``, ``cellomics``, ``cytation``, ``cellvoyager``, ``scanr``, ``omezarr``,
            ``ometiff``, ``czi``, ``pattern``).
        frames: The frame table (see :mod:`ferroscreen.io.frames`).
        skipped: Files under ``root`` that looked like images but could not be
            interpreted (path, reason); reported by ``ferroscreen inspect``.
        notes: Reader remarks a user should see (e.g. how times were derived).

    Every reader's frame table passes through
    :func:`~ferroscreen.io.scan_times.group_scan_times` here: time stamps a minute or two
    apart within one scan of a plate (instruments that stamp each well) become the scan's
    time, the frames' own stamps kept in ``time_stamp_h``, said in a note.
    """

    root: Path
    format: str
    frames: pd.DataFrame
    skipped: list[tuple[str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        from ferroscreen.io.scan_times import group_scan_times

        self.frames, said = group_scan_times(self.frames)
        if said:
            self.notes = [*self.notes, *said]

    def load(self, frame: int | str | Path | pd.Series) -> np.ndarray:
        """Pixels of one frame, given a row index, a frame-table row or a path."""
        if isinstance(frame, pd.Series):
            return load_image(frame["path"])
        if isinstance(frame, (int, np.integer)):
            return load_image(self.frames.iloc[int(frame)]["path"])
        return load_image(frame)

    @property
    def wells(self) -> list[str]:
        """Imaged wells, sorted by row then column."""
        from ferroscreen.plate.wells import well_to_rowcol

        return sorted(self.frames["well"].unique(), key=well_to_rowcol)

    @property
    def timepoints_h(self) -> list[float]:
        """Distinct acquisition times in hours, ascending."""
        return sorted(float(t) for t in self.frames["time_h"].unique())

    def missing_frames(self) -> pd.DataFrame:
        """Frames absent from the full plate × well × field × channel × z × time grid.

        Each plate's grid crosses its wells, the fields any of its wells has, the channels (each
        with the z planes it has) and its time points: a well without a field other wells have,
        a field without a channel, a site missed at a time point all leave frames out
        (:meth:`missing_sites` names the first two).
        """
        f = self.frames
        keys = ["plate", "well", "field", "channel", "z"]
        if f.empty:
            return f.iloc[:0][keys + ["time_h"]]
        parts = []
        for _, g in f.groupby("plate", sort=False):
            grid = g[["plate", "well"]].drop_duplicates()
            for axis in (["field"], ["channel", "z"], ["time_h"]):
                grid = grid.merge(g[axis].drop_duplicates(), how="cross")
            parts.append(grid)
        grid = pd.concat(parts, ignore_index=True)
        merged = grid.merge(f[keys + ["time_h"]].drop_duplicates(), how="left", indicator=True)
        return merged.loc[merged["_merge"] == "left_only", keys + ["time_h"]].reset_index(drop=True)

    def missing_sites(self) -> dict[str, list[dict]]:
        """Wells without fields other wells of their plate have, and fields without a channel their plate has.

        Returns:
            ``{"wells_missing_fields": [{plate, well, fields}], "fields_missing_channels":
            [{plate, well, field, channels}]}``, by plate, then well (row-major), then field.
            A field or channel counts as there when any frame (any time, any z) has it.
        """
        return missing_sites(self.frames)


def missing_sites(frames: pd.DataFrame) -> dict[str, list[dict]]:
    """:meth:`Acquisition.missing_sites` of a frame table."""
    from ferroscreen.plate.wells import well_to_rowcol

    out: dict[str, list[dict]] = {"wells_missing_fields": [], "fields_missing_channels": []}
    if frames.empty:
        return out
    sites = frames[["plate", "well", "field", "channel"]].drop_duplicates()  # one pass over the frames
    for key, axis, keys in (("wells_missing_fields", "field", ["plate", "well"]),
                            ("fields_missing_channels", "channel", ["plate", "well", "field"])):
        have = sites[keys + [axis]].drop_duplicates()
        parts = []
        for _, g in have.groupby("plate", sort=False):
            parts.append(g[keys].drop_duplicates().merge(g[[axis]].drop_duplicates(), how="cross"))
        grid = pd.concat(parts, ignore_index=True).merge(have, how="left", indicator=True)
        lack = grid[grid["_merge"] == "left_only"]
        if lack.empty:
            continue
        rows = [{**dict(zip(keys, k, strict=True)), axis + "s": sorted(g[axis].tolist(), key=_natural)}
                for k, g in lack.groupby(keys, sort=False)]
        rows.sort(key=lambda r: (str(r["plate"]), well_to_rowcol(r["well"]), r.get("field", 0)))
        out[key] = [{k: (int(v) if k == "field" else [int(x) for x in v] if k == "fields" else v)
                     for k, v in r.items()} for r in rows]
    return out


def _natural(value) -> tuple:
    """A sort key putting ``w2`` before ``w10`` and numbers in numeric order."""
    import re

    return tuple((0, int(t), "") if t.isdigit() else (1, 0, t) for t in re.split(r"(\d+)", str(value)) if t)


#: How many wells and fields :func:`missing_sites_note` names.
NAMED_SITES = 3

#: How :func:`missing_sites_note`'s note begins (``inspect`` shows these sites on lines of their own).
MISSING_SITES_NOTE = "missing from the grid:"


def missing_sites_note(frames: pd.DataFrame, field_name: Callable[[int], str] | None = None) -> str | None:
    """One line counting, and naming the first few of, the wells missing fields and the fields missing channels.

    ``None`` when each plate's wells have the same fields and each field the same channels. A
    plate whose wells are imaged at different numbers of fields on purpose is read as it is: this
    is a note, never an error. ``field_name`` names fields as :func:`site_lines` does.
    """
    said = site_lines({**missing_sites(frames), "plates": list(frames["plate"].unique())}, field_name)
    if not said:
        return None
    return f"{MISSING_SITES_NOTE} {', '.join(said)}; read as they are (inspect lists the frames)"


def site_lines(found: dict, field_name: Callable[[int], str] | None = None) -> list[str]:
    """What :func:`missing_sites` found (``found`` holds its keys and ``plates``), a line each, naming the first few.

    No line for what is not missing; a site is ``B07`` when ``plates`` holds one plate, else ``P1 B07``. A field
    is ``field 3`` (the frame table's), or as ``field_name`` writes it where the files name fields otherwise
    (Cellomics: ``field f02``, :func:`~ferroscreen.io.cellomics.file_field`).
    """
    several = len(found.get("plates") or []) > 1
    lines = []
    wells, fields = found.get("wells_missing_fields") or [], found.get("fields_missing_channels") or []
    if wells:
        shown = "; ".join(f"{_site(r, several)}: field{'s' if len(r['fields']) > 1 else ''} "
                          f"{_runs(r['fields'], field_name or str)}" for r in wells[:NAMED_SITES])
        lines.append(f"{len(wells)} well(s) lack fields other wells of their plate have ({shown}"
                     f"{' …' if len(wells) > NAMED_SITES else ''})")
    if fields:
        shown = "; ".join(f"{_site(r, several)} field {(field_name or str)(r['field'])}: "
                          f"{', '.join(map(str, r['channels']))}"
                          for r in fields[:NAMED_SITES])
        lines.append(f"{len(fields)} field(s) lack a channel ({shown}{' …' if len(fields) > NAMED_SITES else ''})")
    return lines


def _runs(numbers: list[int], name: Callable[[int], str] = str) -> str:
    """Sorted numbers with runs shortened, each written by ``name``: ``[1, 3, 4, 5]`` -> ``1, 3-5``."""
    runs: list[list[int]] = []
    for n in numbers:
        if runs and n == runs[-1][-1] + 1:
            runs[-1].append(n)
        else:
            runs.append([n])
    return ", ".join(name(r[0]) if len(r) == 1 else f"{name(r[0])}-{name(r[-1])}" for r in runs)


def _site(row: dict, several: bool) -> str:
    return f"{row['plate']} {row['well']}" if several else str(row["well"])
