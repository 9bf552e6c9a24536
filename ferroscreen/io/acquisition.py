"""The :class:`Acquisition` every reader returns."""

from __future__ import annotations

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
    """

    root: Path
    format: str
    frames: pd.DataFrame
    skipped: list[tuple[str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

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
        """Frames absent from the full plate × well × field × channel × z × time grid."""
        f = self.frames
        if f.empty:
            return f.iloc[:0][["plate", "well", "field", "channel", "z", "time_h"]]
        keys = ["plate", "well", "field", "channel", "z"]
        sites = f[keys].drop_duplicates()
        times = f.groupby("plate")["time_h"].unique()
        parts = []
        for plate, ts in times.items():
            s = sites[sites["plate"] == plate]
            parts.append(s.merge(pd.DataFrame({"time_h": sorted(ts)}), how="cross"))
        grid = pd.concat(parts, ignore_index=True)
        merged = grid.merge(f[keys + ["time_h"]], how="left", indicator=True)
        return merged.loc[merged["_merge"] == "left_only", keys + ["time_h"]].reset_index(drop=True)
