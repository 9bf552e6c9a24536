"""Write an acquisition as OME-Zarr HCS plates (NGFF 0.4 on Zarr v2, or 0.5 on Zarr v3).

The inverse of :mod:`ferroscreen.io.omezarr`, for archiving TIFF folders in a
chunked, compressed store and for building test plates. One plate group per
frame-table plate (``<out>/<plate>.zarr``), wells ``<row>/<col>``, one field
group per field holding a ``(t, c, z, y, x)`` array chunked one plane per
chunk. Scans evenly spaced in time share one ``t`` axis (unit ``hour``, scale
the interval); otherwise each scan is an acquisition with its start time, and
each field has one image group per scan. Fields are renumbered 1..n in order
(NGFF numbers fields by position). Frames missing from the table are left
unwritten (the reader does not list them); planes equal to the fill value (0)
are written all the same.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ferroscreen.errors import AcquisitionError
from ferroscreen.io.acquisition import Acquisition
from ferroscreen.plate.wells import row_label, well_to_rowcol

#: Start time written for a plate's first acquisition (2024-01-01 00:00 UTC, milliseconds).
EPOCH_MS = 1_704_067_200_000


def _even_step(times: list[float]) -> float | None:
    """The common interval of ``times`` (1.0 for a single time), or ``None`` when uneven."""
    if len(times) < 2:
        return 1.0
    steps = np.diff(times)
    return float(steps[0]) if np.allclose(steps, steps[0], atol=1e-3) and steps[0] > 0 else None


def write_omezarr(acq: Acquisition, out: str | Path, version: str = "0.4") -> list[Path]:
    """Write every plate of ``acq`` under ``out``; returns the plate folders.

    Args:
        acq: Any acquisition; its frames are decoded with :meth:`Acquisition.load`.
        out: Folder to create the ``<plate>.zarr`` groups in.
        version: ``"0.4"`` (Zarr v2, ``.zattrs``) or ``"0.5"`` (Zarr v3, ``zarr.json``).

    Raises:
        AcquisitionError: Unknown version, or a plate whose frames differ in size or pixel type.
    """
    import zarr

    if version not in ("0.4", "0.5"):
        raise AcquisitionError(f"OME-Zarr version {version} cannot be written (0.4 or 0.5)")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for plate, frames in acq.frames.groupby("plate", sort=True):
        written.append(_write_plate(zarr, acq, str(plate), frames, out / f"{plate}.zarr", version))
    return written


def _ome(version: str, **items) -> dict:
    """Group attributes as the version nests them (0.5: under ``ome``; 0.4: versioned entries)."""
    if version == "0.5":
        return {"ome": {"version": version, **items}}
    for key in ("plate", "well"):
        if key in items:
            items[key] = {**items[key], "version": version}
    if "multiscales" in items:
        items["multiscales"] = [{**m, "version": version} for m in items["multiscales"]]
    return items


def _write_plate(zarr, acq: Acquisition, name: str, frames: pd.DataFrame, path: Path, version: str) -> Path:
    fmt = 3 if version == "0.5" else 2
    times = sorted(float(t) for t in frames["time_h"].unique())
    step = _even_step(times)
    channels = sorted(frames["channel"].astype(str).unique())
    zs = sorted(int(z) for z in frames["z"].unique())
    first = acq.load(frames.iloc[0])
    shape_yx, dtype = first.shape, first.dtype
    wells = sorted(frames["well"].unique(), key=well_to_rowcol)
    rows = sorted({well_to_rowcol(w)[0] for w in wells})
    cols = sorted({well_to_rowcol(w)[1] for w in wells})
    row_names = [row_label(r) for r in rows]
    root = zarr.open_group(str(path), mode="w", zarr_format=fmt)
    plate_meta: dict = {
        "name": name,
        "rows": [{"name": n} for n in row_names],
        "columns": [{"name": str(c + 1)} for c in cols],
        "wells": [],
        "field_count": int(frames["field"].max()),
    }
    scans = [0] if step is not None else list(range(len(times)))
    if step is None:
        plate_meta["acquisitions"] = [
            {"id": i, "name": f"scan {i + 1}", "starttime": EPOCH_MS + round(t * 3.6e6)} for i, t in enumerate(times)
        ]
    axes = [
        {"name": "t", "type": "time", "unit": "hour"},
        {"name": "c", "type": "channel"},
        {"name": "z", "type": "space"},
        {"name": "y", "type": "space"},
        {"name": "x", "type": "space"},
    ]
    n_t = len(times) if step is not None else 1
    for well in wells:
        r, c = well_to_rowcol(well)
        wpath = f"{row_names[rows.index(r)]}/{c + 1}"
        plate_meta["wells"].append({"path": wpath, "rowIndex": rows.index(r), "columnIndex": cols.index(c)})
        wframes = frames[frames["well"] == well]
        fields = sorted(int(f) for f in wframes["field"].unique())
        images = []
        for k, fld in enumerate(fields):
            for s in scans:
                gpath = str(k * len(scans) + s)
                images.append({"path": gpath, **({"acquisition": s} if step is None else {})})
                group = root.require_group(f"{wpath}/{gpath}")
                group.attrs.update(_ome(
                    version,
                    multiscales=[{
                        "name": f"{well} field {fld}",
                        "axes": axes,
                        "datasets": [{"path": "0", "coordinateTransformations": [
                            {"type": "scale", "scale": [step or 1.0, 1.0, 1.0, 1.0, 1.0]}]}],
                    }],
                    omero={"channels": [{"label": ch} for ch in channels]},
                ))
                arr = group.create_array(
                    "0", shape=(n_t, len(channels), len(zs), *shape_yx), chunks=(1, 1, 1, *shape_yx), dtype=dtype,
                    fill_value=0, config={"write_empty_chunks": True},
                )
                sel = wframes[wframes["field"] == fld]
                if step is None:
                    sel = sel[np.isclose(sel["time_h"].to_numpy(float), times[s])]
                for row in sel.itertuples(index=False):
                    img = acq.load(pd.Series(row._asdict()))
                    if img.shape != shape_yx or img.dtype != dtype:
                        raise AcquisitionError(
                            f"{row.path}: frame {img.shape} {img.dtype} differs from the plate's {shape_yx} {dtype}"
                        )
                    t = times.index(float(row.time_h)) if step is not None else 0
                    arr[t, channels.index(str(row.channel)), zs.index(int(row.z))] = img
        well_group = root.require_group(wpath)
        well_group.attrs.update(_ome(version, well={"images": images}))
    root.attrs.update(_ome(version, plate=plate_meta))
    return path
