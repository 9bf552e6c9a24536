"""Run settings of one simulated plate (everything except the compound library)."""

from __future__ import annotations

import math
import numbers
from dataclasses import asdict, dataclass

from ferroscreen.errors import FerroscreenError

#: How far (seconds) ``interval_h`` may lie from a whole number of minutes and count as that number
#: (covers hours typed to three decimals: ``0.333`` h is 19.98 min, 1.2 s short of 20 min).
MINUTE_TOLERANCE_S = 2.0


class SimulationConfigError(FerroscreenError, ValueError):
    """Simulator arguments that make no sense (negative hours, zero fields, ...)."""


@dataclass(frozen=True)
class SimulationConfig:
    """Settings of a simulated acquisition.

    Attributes:
        plate_format: 96 or 384 (any format the library has a plate map for).
        fields: Fields (images) per well and time point.
        hours: Duration; frames at ``0, interval_h, ...`` up to ``hours``.
        interval_h: Hours between scans: a whole number of minutes (at least one), as the image file
            names carry scan times in whole minutes (``00d01h20m``). A value typed to a few decimals
            counts as the nearest whole minute when within :data:`MINUTE_TOLERANCE_S` of it
            (``0.3333`` and ``0.333`` are 20 min); others (``0.01`` = 0.6 min, ``0.33`` = 19.8 min)
            are refused.
        image_size: ``(width, height)`` in pixels.
        pixel_size_um: Microns per pixel. The default 0.62 µm/px (IncuCyte 20×)
            gives cells of radius ~6–11 px; 1.24 µm/px is IncuCyte 10×.
        seed: Master seed (a whole number >= 0); every well × field uses its own generator derived
            from it, so results do not depend on worker count or order.
        wells: Only simulate these wells (``None``: the whole plate): well ids, or one string of
            them (``"A01"``, ``"A01,B02"``), kept as a tuple.
        density_per_mm2: Seeding density (cells per mm² of plate bottom).
        edge_effects: Evaporation and meniscus effects in outer wells.
        defocus_rate: Probability that a frame is badly out of focus.
        empty_rate: Probability that a frame is empty (background only).
        vid: IncuCyte vessel id used in file names (plate id ``VID<vid>``).
        workers: Worker processes (``None``: up to the CPU count).
    """

    plate_format: int = 96
    fields: int = 2
    hours: float = 48.0
    interval_h: float = 4.0
    image_size: tuple[int, int] = (512, 512)
    pixel_size_um: float = 0.62
    seed: int = 0
    wells: tuple[str, ...] | None = None
    density_per_mm2: float = 750.0
    edge_effects: bool = True
    defocus_rate: float = 0.01
    empty_rate: float = 0.003
    vid: int = 1
    workers: int | None = None

    def __post_init__(self) -> None:
        """Validate (raises :class:`SimulationConfigError` with one line), types first."""
        def bad(msg: str) -> SimulationConfigError:
            return SimulationConfigError(f"simulate: {msg}")

        self._check_types(bad)
        if self.fields < 1:
            raise bad(f"--fields must be >= 1, got {self.fields}")
        if not (math.isfinite(self.hours) and self.hours >= 0):
            raise bad(f"--hours must be >= 0, got {self.hours}")
        if not (math.isfinite(self.interval_h) and self.interval_h > 0):
            raise bad(f"--interval-h must be > 0, got {self.interval_h}")
        minutes = self.interval_h * 60
        if round(minutes) < 1 or abs(minutes - round(minutes)) * 60 > MINUTE_TOLERANCE_S:
            near = round(minutes)
            hint = "at least 1 min" if near < 1 else f"e.g. {near / 60:.6g} for {near} min"
            raise bad(f"--interval-h {self.interval_h:g} is {minutes:.4g} min: scan times are whole minutes, as the "
                      f"image file names carry no seconds ({hint})")
        if self.seed < 0:
            raise bad(f"--seed must be >= 0, got {self.seed}")
        w, h = self.image_size
        if not (16 <= w <= 8192 and 16 <= h <= 8192):
            raise bad(f"--image-size must be 16..8192 px per side, got {w} {h}")
        if not (0.05 <= self.pixel_size_um <= 10):
            raise bad(f"--pixel-size must be 0.05..10 µm/px, got {self.pixel_size_um}")
        if self.density_per_mm2 < 0:
            raise bad(f"--density must be >= 0, got {self.density_per_mm2}")
        for name in ("defocus_rate", "empty_rate"):
            if not 0 <= getattr(self, name) <= 1:
                raise bad(f"{name} must be in [0, 1]")
        if self.workers is not None and self.workers < 1:
            raise bad(f"--workers must be >= 1, got {self.workers}")

    def _check_types(self, bad) -> None:
        """Refuse values of the wrong type (``fields=1.5``, ``image_size=256``) and make ``wells`` a tuple.

        Whole numbers may be any integer type (NumPy's too, not bools); ``image_size`` is a pair of
        them; ``wells`` a string (one well or a comma-separated list) or a sequence of strings.
        """
        def whole(value) -> bool:
            return isinstance(value, numbers.Integral) and not isinstance(value, bool)

        for name, option in (("plate_format", "--format"), ("fields", "--fields"), ("seed", "--seed"),
                             ("vid", "vid")):
            value = getattr(self, name)
            if not whole(value):
                raise bad(f"{option} must be a whole number, got {value!r}")
            object.__setattr__(self, name, int(value))  # NumPy's as Python's: truth.json is JSON
        if self.workers is not None and not whole(self.workers):
            raise bad(f"--workers must be a whole number or None, got {self.workers!r}")
        for name, option in (("hours", "--hours"), ("interval_h", "--interval-h"), ("pixel_size_um", "--pixel-size"),
                             ("density_per_mm2", "--density"), ("defocus_rate", "defocus_rate"),
                             ("empty_rate", "empty_rate")):
            value = getattr(self, name)
            if not isinstance(value, numbers.Real) or isinstance(value, bool):
                raise bad(f"{option} must be a number, got {value!r}")
            if not isinstance(value, (int, float)):
                object.__setattr__(self, name, float(value))
        size = self.image_size
        if isinstance(size, (str, bytes)) or not hasattr(size, "__len__") or len(size) != 2 or not all(
                whole(v) for v in size):
            raise bad(f"--image-size must be (width, height), two whole numbers of pixels, got {size!r}")
        object.__setattr__(self, "image_size", (int(size[0]), int(size[1])))
        wells = self.wells
        if wells is None:
            return
        if isinstance(wells, str):
            wells = wells.split(",")
        elif not isinstance(wells, (list, tuple)) or not all(isinstance(w, str) for w in wells):
            raise bad(f"wells must be well ids (a tuple of strings, or one string 'A01,B02'), got {wells!r}")
        wells = tuple(w.strip() for w in wells if w.strip())
        if not wells:
            raise bad(f"wells names no well (got {self.wells!r}); None simulates the whole plate")
        object.__setattr__(self, "wells", wells)

    @property
    def interval_min(self) -> int:
        """Minutes between scans (``interval_h`` to the whole minute, see the class docstring)."""
        return round(self.interval_h * 60)

    @property
    def times_min(self) -> list[int]:
        """Scan times in whole minutes: ``0, interval_min, ...`` up to ``hours``."""
        n = int(math.floor(self.hours * 60 / self.interval_min + 1e-9))
        return [k * self.interval_min for k in range(n + 1)]

    @property
    def times_h(self) -> list[float]:
        """Scan times in hours: the very values the frame table of the written images holds.

        Each is ``whole hours + minutes / 60`` as the IncuCyte reader computes it from a file name's
        ``..d..h..m``, rounded to 4 decimals as :func:`ferroscreen.io.frames.make_frame_table`
        rounds it (``01h20m``: 1.3333), so the simulation, the truth files, the file names and what
        ``score``/``evaluate`` read hold equal floats.
        """
        return [round(m // 60 + (m % 60) / 60, 4) for m in self.times_min]

    @property
    def plate_id(self) -> str:
        """Plate id as the IncuCyte reader reports it."""
        return f"VID{self.vid}"

    def to_dict(self) -> dict:
        """JSON-ready settings (written to ``truth.json``; ``workers`` is left out)."""
        d = asdict(self)
        d.pop("workers")
        d["image_size"] = list(self.image_size)
        d["wells"] = list(self.wells) if self.wells else None
        return d
