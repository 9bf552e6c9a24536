"""Contact sheet: example crops of every class and stage of a simulated plate.

Usage::

    python -m ferroscreen.simulate.contact_sheet OUT docs/simulator_contact_sheet.png

or ``ferroscreen simulate OUT ... --contact-sheet PNG``. One row per
(class, stage); crops are centred on truth cells of clean (not empty or
defocused) frames, chosen with a fixed seed, upscaled ×2 without interpolation.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np

from ferroscreen.io.frames import load_image
from ferroscreen.io.incucyte import incucyte_export_name
from ferroscreen.simulate.morphology import STAGES
from ferroscreen.simulate.truth import read_truth

LABEL_W = 190


def make_contact_sheet(
    out: str | Path, png: str | Path, per_row: int = 10, crop: int = 48, seed: int = 0
) -> Path:
    """Write a PNG with ``per_row`` crops of ``crop`` px for each class × stage.

    Args:
        out: A folder written by ``ferroscreen simulate``.
        png: The PNG to write (parent folders are created).
        per_row: Crops per (class, stage) row.
        crop: Crop side in image pixels.
        seed: Seed for choosing example cells.

    A plate without cells on clean frames (``--density 0``, only empty wells) gets a sheet of
    its row labels (each ``n=0``) under a line saying so.

    Returns:
        The PNG path.
    """
    out, png = Path(out), Path(png)
    meta, cells = read_truth(out)
    vid = int(str(meta["plate"]).removeprefix("VID"))
    # frames matched on the whole minute of the scan (the unit of the file names)
    bad = {(f["well"], int(f["field"]), round(f["time_h"] * 60)) for f in meta["frames"] if f["artifact"]}
    keep = np.array([(w, int(f), round(t * 60)) not in bad
                     for w, f, t in zip(cells.well, cells.field, cells.time_h, strict=True)], dtype=bool)
    cells = cells[keep]
    rng = np.random.default_rng(seed)
    half = crop // 2
    scale = 2
    tile = crop * scale
    rows = []
    if not len(cells):
        note = np.full((tile // 2, LABEL_W + per_row * (tile + 2)), 255, np.uint8)
        cv2.putText(note, "no truth cells on clean frames of this plate: no crops", (6, tile // 4 + 6),
                    cv2.FONT_HERSHEY_SIMPLEX, 0.6, 0, 1, cv2.LINE_AA)
        rows.append(note)
    cache: dict[str, np.ndarray] = {}
    for cls, stages in STAGES.items():
        for stage in stages:
            sel = cells[(cells["class"] == cls) & (cells["stage"] == stage)]
            strip = np.full((tile, LABEL_W + per_row * (tile + 2)), 255, np.uint8)
            cv2.putText(strip, cls, (6, tile // 2 - 6), cv2.FONT_HERSHEY_SIMPLEX, 0.6, 0, 1,
                        cv2.LINE_AA)
            cv2.putText(strip, f"{stage} (n={len(sel)})", (6, tile // 2 + 18),
                        cv2.FONT_HERSHEY_SIMPLEX, 0.5, 60, 1, cv2.LINE_AA)
            if len(sel):
                pick = sel.iloc[rng.choice(len(sel), min(per_row, len(sel)), replace=False)]
                for j, c in enumerate(pick.itertuples(index=False)):
                    name = incucyte_export_name(vid, c.well, c.field, c.time_h)
                    if name not in cache:
                        cache[name] = load_image(out / "images" / name)
                    img = np.pad(cache[name], half, mode="reflect")
                    x, y = int(round(c.x)) + half, int(round(c.y)) + half
                    patch = img[y - half : y + half, x - half : x + half]
                    big = cv2.resize(patch, (tile, tile), interpolation=cv2.INTER_NEAREST)
                    x0 = LABEL_W + j * (tile + 2)
                    strip[:, x0 : x0 + tile] = big
            rows.append(strip)
            rows.append(np.full((2, strip.shape[1]), 255, np.uint8))
    sheet = np.vstack(rows)
    png.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(png), sheet)
    return png


def main(argv: list[str] | None = None) -> None:
    """Command-line entry: ``python -m ferroscreen.simulate.contact_sheet OUT PNG``."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", help="folder written by ferroscreen simulate")
    ap.add_argument("png", help="PNG to write")
    ap.add_argument("--per-row", type=int, default=10)
    ap.add_argument("--crop", type=int, default=48)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args(argv)
    print(make_contact_sheet(a.out, a.png, a.per_row, a.crop, a.seed))


if __name__ == "__main__":
    main()
