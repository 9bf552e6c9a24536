"""Detector settings: one serialisable dataclass plus named presets."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields
from typing import Any

__all__ = ["PRESETS", "DetectorConfig"]

_MODES = ("cells", "tiles")
_METHODS = ("radial", "phase", "halo", "texture")


@dataclass(frozen=True)
class DetectorConfig:
    """Settings of :func:`ferroscreen.crops.detect_cells` and :func:`ferroscreen.crops.tile_frame`.

    Every field is a plain ``int``/``float``/``bool``/``str`` (or ``None``), so
    ``dataclasses.asdict(cfg)`` is JSON-serialisable and ``DetectorConfig(**d)``
    rebuilds the same config; a model bundle stores it so that scoring detects
    exactly as training did. Lengths are in pixels of the *input* frame; the
    relative settings (``*_sigma``, ``peak_distance``, ``background_scale``) are
    multiples of a radius so one preset adapts when only the radii change.

    Attributes:
        mode: ``"cells"`` (cell-centred detections) or ``"tiles"`` (a fixed grid
            of ``tile_size`` tiles, as in the reference study).
        method: ``"radial"`` (default): round cells are centres of radial
            symmetry of their rim edges (suspension cells in phase contrast /
            brightfield, every death stage incl. pale ghosts; touching cells
            each keep their own centre). ``"phase"``: spread adherent cells in
            phase contrast, one seed per dark cell body plus phase-bright round
            cells. ``"halo"``: cells are interiors enclosed by a bright halo or
            rim (the earlier suspension detector, kept so saved configs still
            run). ``"texture"``: cells are regions of local contrast (any polarity).
        min_radius: Smallest cell radius of interest (px). Sets the working
            scale: frames are block-averaged by ``downsample`` (auto:
            ``max(1, floor(min_radius / 4))``) before detection.
        max_radius: Largest cell radius (px); radii are clipped to
            ``[min_radius, max_radius]`` and it sets the background scale.
        threshold: Sensitivity, in robust noise SDs (lower finds fainter cells
            and more debris). ``"texture"``/``"phase"``: a pixel is textured when its local
            mean absolute deviation from the flattened background exceeds it;
            ``"halo"``: a pixel is halo when the smoothed flattened frame
            exceeds the background median by it.
        contrast_sigma: Gaussian sigma, in units of ``min_radius``, of the
            local mean absolute deviation (``"texture"``/``"phase"``) or of the smoothing
            before halo thresholding (``"halo"``).
        occupancy_sigma: Gaussian sigma, in units of ``min_radius``, that
            turns the textured-pixel mask into a local occupancy in [0, 1].
        min_occupancy: A detection needs at least this occupancy at its
            centre; also the level at which occupancy defines the foreground.
        background_scale: Background-flattening Gaussian sigma in units of
            ``max_radius`` (uneven illumination, vignetting, well edges).
        split_touching: ``"texture"``: seed cells at distance-transform maxima of
            the textured mask (splits touching round cells) instead of at
            occupancy maxima. ``"halo"``: when False, enclosures joined without
            a neck (see ``neck_ratio``) are merged into one cell.
        neck_ratio: Two seeds are merged into one cell when the seed map
            along the segment joining them never drops below ``neck_ratio``
            times the weaker seed (no neck between them). 0 disables merging.
        peak_distance: Minimum distance between seeds, in units of
            ``min_radius`` (``"radial"``: half of it; vote peaks are sharp).
        min_area: Foreground components smaller than
            ``min_area * pi * min_radius**2`` are debris and are dropped.
        fill_holes: Fill enclosed holes of the textured mask up to
            ``pi * (2 * max_radius)**2`` (pale swollen "ghost" cells have a
            thin rim around a featureless interior).
        downsample: Integer block-averaging factor for detection (0 = auto).
        min_enclosure: ``"halo"``: fraction of 16 rays from a seed that must meet
            the halo within 1.5x the seed's inscribed radius.
        ring_contrast: ``"halo"``: the ring (median over rays of the brightest
            halo sample) must exceed the seed's centre by this many noise SDs
            (rejects gaps between cells and background noise).
        overlap: ``"halo"``: a seed within ``overlap * (r + 2)`` of a stronger
            seed of inscribed radius ``r`` is a duplicate (non-maximum suppression).
        radial_steps: ``"radial"``: number of candidate radii, geometrically
            spaced from ``min_radius`` to ``max_radius``.
        edge_threshold: ``"radial"``: a pixel votes when its gradient magnitude
            exceeds the background's median by this many of its robust SDs
            (estimated from the quiet pixels, so crowded frames keep the bar).
        vote_sigma: ``"radial"``: votes for radius ``r`` are pooled over a
            Gaussian of ``vote_sigma * r``.
        min_score: ``"radial"``: smallest detection score kept (score = pooled
            votes / 2 per rim pixel, clipped to [0, 1]; ~1 for a crisp full rim).
            Non-maximum suppression then uses ``overlap`` times the radius.
        body_sigma: ``"phase"``: Gaussian sigma, in units of ``min_radius``, of
            the darkness map whose maxima seed cell bodies.
        min_darkness: ``"phase"``: a body seed must be this many noise SDs
            darker than the background (smoothed).
        neck_barrier: ``"phase"``: two body seeds are never merged when the
            frame, lightly smoothed, is brighter than the background by more
            than this many noise SDs somewhere between them (the bright halo
            line between touching cells). 0 disables the test.
        barrier_sigma: ``"phase"``: Gaussian sigma of that smoothing, in units
            of ``min_radius``.
        bright_threshold: ``"phase"``: compact phase-bright blobs (rounded
            cells) stronger than this many noise SDs are seeds too (0 disables).
        bright_sigma: ``"phase"``: blob scale, in units of ``min_radius``.
        bright_separation: ``"phase"``: a bright seed within this many
            ``min_radius`` of a body seed is dropped (it is that cell's halo).
        rescue_min_area: ``"phase"``: a foreground component of at least
            ``rescue_min_area * pi * min_radius**2`` px holding no seed (a thin
            spread cell that failed the occupancy test) gets one seed at its
            innermost pixel (0 disables).
        border_margin: Detections whose centre lies closer than this many
            pixels to the frame's edge are dropped (cells cut by the edge: their
            centre is a guess and their crop mostly padding). 0 keeps them all.
        tile_size: Tile edge (px) in ``"tiles"`` mode.
        tile_stride: Tile step (px); ``None`` means ``tile_size`` (no overlap).
        crop_mask: Crops, not detection: when set, pixels farther than
            ``crop_mask * radius`` (plus a 3 px cosine edge) from a detection's
            centre are replaced by the frame's median, so a crop shows its cell
            and not its neighbours (whose state is a well-level shortcut).
            ``None``: plain square crops.
    """

    mode: str = "cells"
    method: str = "radial"
    min_radius: float = 4.0
    max_radius: float = 16.0
    threshold: float = 1.5
    contrast_sigma: float = 0.25
    occupancy_sigma: float = 1.0
    min_occupancy: float = 0.4
    background_scale: float = 3.0
    split_touching: bool = True
    neck_ratio: float = 0.9
    peak_distance: float = 1.5
    min_area: float = 0.5
    fill_holes: bool = True
    min_enclosure: float = 0.75
    ring_contrast: float = 4.0
    overlap: float = 1.5
    downsample: int = 0
    radial_steps: int = 7
    edge_threshold: float = 2.0
    vote_sigma: float = 0.3
    min_score: float = 0.5
    body_sigma: float = 0.75
    min_darkness: float = 1.0
    neck_barrier: float = 0.0
    barrier_sigma: float = 0.3
    bright_threshold: float = 8.0
    bright_sigma: float = 0.75
    bright_separation: float = 1.75
    border_margin: float = 0.0
    tile_size: int = 224
    tile_stride: int | None = None
    rescue_min_area: float = 0.0
    crop_mask: float | None = None

    def __post_init__(self) -> None:
        if self.mode not in _MODES:
            raise ValueError(f"DetectorConfig.mode must be one of {_MODES}, got {self.mode!r}")
        if self.method not in _METHODS:
            raise ValueError(f"DetectorConfig.method must be one of {_METHODS}, got {self.method!r}")
        if not (0 < self.min_radius <= self.max_radius):
            raise ValueError(
                f"DetectorConfig needs 0 < min_radius <= max_radius, got {self.min_radius} and {self.max_radius}"
            )
        positive = ("threshold", "contrast_sigma", "occupancy_sigma", "background_scale", "peak_distance", "overlap")
        positive += ("vote_sigma", "body_sigma", "bright_sigma", "barrier_sigma")
        for name in positive:
            if not getattr(self, name) > 0:
                raise ValueError(f"DetectorConfig.{name} must be > 0, got {getattr(self, name)}")
        if not (0 <= self.min_occupancy < 1):
            raise ValueError(f"DetectorConfig.min_occupancy must be in [0, 1), got {self.min_occupancy}")
        if not (0 <= self.neck_ratio <= 1):
            raise ValueError(f"DetectorConfig.neck_ratio must be in [0, 1], got {self.neck_ratio}")
        if self.radial_steps < 1 or self.bright_threshold < 0 or self.min_score < 0 or self.neck_barrier < 0:
            raise ValueError(
                "DetectorConfig: radial_steps must be >= 1, bright_threshold, min_score and neck_barrier >= 0"
            )
        if self.downsample < 0 or self.tile_size < 1 or (self.tile_stride is not None and self.tile_stride < 1):
            raise ValueError("DetectorConfig: downsample must be >= 0, tile_size and tile_stride >= 1")
        if not self.border_margin >= 0:
            raise ValueError(f"DetectorConfig.border_margin must be >= 0, got {self.border_margin}")
        if self.crop_mask is not None and not self.crop_mask > 0:
            raise ValueError(f"DetectorConfig.crop_mask must be > 0 or None, got {self.crop_mask}")

    @property
    def factor(self) -> int:
        """The block-averaging factor actually used (``downsample`` or the automatic one)."""
        return int(self.downsample) if self.downsample else max(1, math.floor(self.min_radius / 4))

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-serialisable dict (same as ``dataclasses.asdict``)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DetectorConfig:
        """Rebuild a config from :meth:`to_dict` output.

        Raises:
            ValueError: When ``data`` holds keys this version does not know
                (the message lists them), e.g. a bundle from a newer ferroscreen.
        """
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown detector setting(s) {unknown}; known: {sorted(known)}")
        return cls(**data)

    @classmethod
    def preset(cls, name: str, **overrides: Any) -> DetectorConfig:
        """A named preset, optionally with some fields replaced.

        Presets (see :data:`PRESETS`):

        * ``"suspension"``: round suspension cells (leukemia lines) at 10x in an
          incubator imager, radius 4-16 px; radial-symmetry votes; the defaults.
          ``min_score`` tuned on ``ferroscreen simulate`` wells (seeds 1, 3-5, 7;
          300-4000 cells/mm², 0-72 h).
        * ``"adherent_10x"``: spread adherent cells in 10x phase contrast, radius
          12-45 px; ``"phase"`` method (dark-body and bright-blob seeds). Tuned
          on the odd-numbered Usiigaci T98G glioblastoma images (sets 1, 3, ..., 19).
        * ``"tiles"``: fixed 224 px tiles, no detection.

        Raises:
            ValueError: For an unknown preset name (the message lists them).
        """
        if name not in PRESETS:
            raise ValueError(f"unknown detector preset {name!r}; choose one of {sorted(PRESETS)}")
        return cls(**{**PRESETS[name], **overrides})



def detector_config(detector: str | dict | None) -> DetectorConfig:
    """A :class:`DetectorConfig` from a preset name, a dict of settings (``preset`` plus overrides) or ``None``.

    ``None`` gives the ``suspension`` preset; a dict without ``preset`` gives the defaults with its fields.

    Raises:
        ValueError: Unknown preset name, a numeric setting that is not a number, or a value
            :class:`DetectorConfig` refuses.
        TypeError: Unknown setting names.
    """
    if detector is None:
        return DetectorConfig.preset("suspension")
    if isinstance(detector, str):
        return DetectorConfig.preset(detector)
    d = dict(detector)
    preset = d.pop("preset", None)
    defaults = asdict(DetectorConfig())
    unknown = sorted(k for k in d if k not in defaults)
    if unknown:
        raise TypeError(f"unknown setting(s) {', '.join(map(str, unknown))} (known: {', '.join(defaults)})")
    for key, value in d.items():
        number = isinstance(defaults[key], int | float) and not isinstance(defaults[key], bool)
        if number and (isinstance(value, bool) or not isinstance(value, int | float)):
            raise ValueError(f"setting '{key}': {value!r} is not a number")
    if preset:
        base = DetectorConfig.preset(preset)
        return DetectorConfig(**{**asdict(base), **d})
    return DetectorConfig(**d)

#: Named presets: field overrides of the :class:`DetectorConfig` defaults.
PRESETS: dict[str, dict[str, Any]] = {
    "suspension": {},
    "adherent_10x": {
        "method": "phase",
        "min_radius": 12.0,
        "max_radius": 45.0,
        "threshold": 2.5,
        "contrast_sigma": 0.35,
        "occupancy_sigma": 1.5,
        "min_occupancy": 0.65,
        "neck_ratio": 0.6,
        "neck_barrier": 8.0,
        "barrier_sigma": 0.3,
        "peak_distance": 1.5,
        "min_area": 1.2,
        "fill_holes": True,
        "rescue_min_area": 5.0,
        "border_margin": 2.0,
    },
    "tiles": {"mode": "tiles"},
}
