"""Adding an int8 graph to an existing bundle, calibrated on crops from an acquisition (``ferroscreen quantize``).

Calibration crops are cut exactly as ``score`` cuts them (the bundle's
detector and crop normalisation) from frames drawn at random with a seeded
generator, so the same inputs give the same graph.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ferroscreen.errors import FerroscreenError, ModelBundleError

DEFAULT_FRAMES = 48


def calibration_crops(acquisition: str | Path, bundle, n_frames: int = DEFAULT_FRAMES, seed: int = 0,
                      max_crops: int | None = None) -> np.ndarray:
    """Crops (N, S, S) (next-scan bundles: (N, 1 + k, S, S)) from up to ``n_frames`` frames of ``acquisition``.

    Crops are shuffled with ``seed``.

    Frames are those ``score`` would score by default (its channel and z plane
    choice). Frames that cannot be read or whose detection fails are skipped
    (as ``score`` marks them failed); raises :class:`FerroscreenError` when
    none yields a crop.
    """
    from ferroscreen.crops import detector_config, normalize_frame
    from ferroscreen.datamodules.reference_plate import frame_crops
    from ferroscreen.io import load_image, open_acquisition
    from ferroscreen.io.scans import later_scans
    from ferroscreen.models.int8 import MAX_CALIBRATION_CROPS
    from ferroscreen.score.plan import select_frames

    training_data = bundle.meta.get("training_data") or {}
    frames, _, _ = select_frames(open_acquisition(acquisition).frames, Path(acquisition), None,
                                 training_data.get("channel"), trained_z=training_data.get("z_plane"))
    rng = np.random.default_rng(seed)
    pick = np.sort(rng.choice(len(frames), size=min(n_frames, len(frames)), replace=False))
    config = detector_config(bundle.meta["detector"])
    following = later_scans(frames, bundle.next_scan)
    crops = []
    for k in pick:
        try:
            raw = load_image(frames["path"].iloc[k])
            _, c, _ = frame_crops(raw, normalize_frame(raw), config, bundle.crop_size, bundle.normalization,
                                  False if following is None else following.iloc[k])
        except Exception:  # noqa: BLE001 - an unreadable or odd frame is skipped, as `score` fails it
            continue
        crops.append(c)
    channels = (bundle.channels,) if bundle.next_scan else ()
    crops = np.concatenate(crops) if crops else np.zeros((0, *channels, bundle.crop_size, bundle.crop_size),
                                                          np.float32)
    if len(crops) == 0:
        raise FerroscreenError(f"{acquisition}: no cells detected in {len(pick)} frame(s); nothing to calibrate on")
    crops = crops[rng.permutation(len(crops))]
    return crops[: max_crops or 2 * MAX_CALIBRATION_CROPS]


def quantize_bundle(model: str | Path, acquisition: str | Path, out: str | Path, n_frames: int = DEFAULT_FRAMES,
                    seed: int = 0) -> dict:
    """Write ``out``: the bundle ``model`` plus an int8 graph calibrated on ``acquisition``.

    Half the crops calibrate, the other half check agreement with float32.

    Returns:
        The new bundle's ``meta["int8"]``.

    Raises:
        ModelBundleError: Bundle missing, ONNX Runtime missing, or the bundle cannot be exported.
        FerroscreenError: No acquisition at ``acquisition`` (checked before torch loads), no cells to calibrate on,
            ``n_frames`` below 1, a negative ``seed``, or ``out`` a folder.
    """
    from ferroscreen.io import open_acquisition
    from ferroscreen.models.load_errors import require_bundle_file

    if int(n_frames) < 1:
        raise FerroscreenError(f"--frames {n_frames}: calibration needs at least one frame")
    if int(seed) < 0:
        raise FerroscreenError(f"--seed {seed}: a seed is 0 or more")
    if Path(out).is_dir():
        raise FerroscreenError(f"{out}: is a folder; --out is the bundle file to write, e.g. "
                               f"{Path(out) / (Path(model).stem + '_int8.pt')}")
    require_bundle_file(model)
    open_acquisition(acquisition)  # a mistyped folder fails before torch loads

    from ferroscreen.models.bundle import load_bundle, save_bundle
    from ferroscreen.models.int8 import build_int8, runtime_available

    if not runtime_available():
        raise ModelBundleError(f"{model}: int8 quantisation needs onnxruntime and onnx (pip install them)")
    bundle = load_bundle(model)
    crops = calibration_crops(acquisition, bundle, n_frames, seed)
    half = (len(crops) + 1) // 2
    try:
        graph, info = build_int8(bundle.net, bundle.crop_size, crops[:half], crops[half:] if len(crops) > 1 else None)
    except Exception as exc:  # noqa: BLE001 - exporter/quantiser errors come in many types
        raise ModelBundleError(f"{model}: int8 export failed ({type(exc).__name__}: {str(exc)[:150]})") from None
    info.update(calibration_source=str(Path(acquisition).resolve()), calibration_frames=int(n_frames),
                calibration_seed=int(seed))
    meta = dict(bundle.meta)
    meta["int8"] = info
    save_bundle(out, bundle.net, meta, graph)
    return load_bundle(out).meta["int8"]
