"""Adding an int8 graph to an existing bundle, calibrated on crops from an acquisition (``ferroscreen quantize``).

Calibration crops are cut exactly as ``score`` cuts them (the bundle's
detector and crop normalisation, per frame or, for a bundle trained on crop
images, per crop) from frames drawn at random with a seeded generator, so the
same inputs give the same graph. A bundle trained on crop images can also be
calibrated on a crop folder (ImageFolder: ``<class>/*.png``), whose images are
normalised as its training crops were.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

from ferroscreen.errors import FerroscreenError, ModelBundleError
from ferroscreen.hashing import payload_content_sha256

DEFAULT_FRAMES = 48


def calibration_crops(acquisition: str | Path, bundle, n_frames: int = DEFAULT_FRAMES, seed: int = 0,
                      max_crops: int | None = None) -> np.ndarray:
    """Crops (N, S, S) (next-scan bundles: (N, 1 + k, S, S)) from up to ``n_frames`` frames of ``acquisition``.

    Crops are shuffled with ``seed``.

    Frames are those ``score`` would score by default (its channel and z plane
    choice), cut as ``score`` cuts them (:func:`ferroscreen.score.dataset.cut_crops`).
    Frames that cannot be read or whose detection fails are skipped
    (as ``score`` marks them failed); raises :class:`FerroscreenError` when
    none yields a crop.
    """
    from ferroscreen.crops import detector_config, normalize_frame
    from ferroscreen.io import load_image, open_acquisition
    from ferroscreen.io.scans import later_scans
    from ferroscreen.models.int8 import MAX_CALIBRATION_CROPS
    from ferroscreen.score.dataset import cut_crops
    from ferroscreen.score.plan import select_frames

    training_data = bundle.meta.get("training_data") or {}
    # calibration reads crops, not times: unstamped scans keep their order at the training interval (or 1 h)
    interval = training_data.get("scan_interval_h") or 1.0
    frames, _, _ = select_frames(open_acquisition(acquisition, interval_h=interval).frames, Path(acquisition), None,
                                 training_data.get("channel"), trained_z=training_data.get("z_plane"))
    rng = np.random.default_rng(seed)
    pick = np.sort(rng.choice(len(frames), size=min(n_frames, len(frames)), replace=False))
    config = detector_config(bundle.meta["detector"])
    following = later_scans(frames, bundle.next_scan)
    crops = []
    for k in pick:
        try:
            raw = load_image(frames["path"].iloc[k])
            _, c, _ = cut_crops(raw, normalize_frame(raw), config, bundle.crop_size, bundle.normalization,
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


def crop_folder_images(folder: str | Path) -> list[Path]:
    """The crop images of an ImageFolder crop tree (``<class>/*``, or ``train/<class>/*`` and ``val/<class>/*``).

    Empty when ``folder`` is not such a tree (no class sub-folder holds an image).
    """
    from ferroscreen.datamodules.crop_folders import class_folders, crop_images

    root = Path(folder)
    if not root.is_dir():
        return []
    trees = [t for t in (root / "train", root / "val") if t.is_dir()] or [root]
    try:
        return [p for t in trees for d in class_folders(t, None).values() for p in crop_images(d)]
    except (FerroscreenError, OSError):
        return []


#: A crop image wider or taller than this many crop sides is a frame, not a crop (a plate in an unknown layout).
CROP_IMAGE_MAX_SIDES = 4


def crop_folder_calibration_crops(folder: str | Path, bundle, images: list[Path], seed: int = 0,
                                  max_crops: int | None = None) -> np.ndarray:
    """Calibration crops (N, S, S) from a crop folder's ``images``, as a bundle trained on crop images saw them.

    Up to ``max_crops`` (default 2 x :data:`~ferroscreen.models.int8.MAX_CALIBRATION_CROPS`)
    images are drawn with ``seed`` and loaded with
    :func:`ferroscreen.datamodules.crop_folders.load_crop` (each scaled by its own levels with the
    bundle's recorded normalisation and resized to its crop size, as ``train`` loads them);
    unreadable images are skipped.

    Raises:
        FerroscreenError: The bundle was not trained on crop images (plate-trained bundles see
            crops cut from normalised frames, which crop images cannot reproduce), reads later
            scans, an image is larger than :data:`CROP_IMAGE_MAX_SIDES` crop sides (frames, not
            crops), or no image is readable.
    """
    from ferroscreen.datamodules.crop_folders import load_crop
    from ferroscreen.io import load_image
    from ferroscreen.models.int8 import MAX_CALIBRATION_CROPS

    if not bundle.trained_on_crop_images:
        raise FerroscreenError(
            f"{folder}: a crop folder ({len(images)} crop images); {bundle.path} was trained on crops cut from "
            f"plate frames ({bundle.normalization.method} normalisation per frame), which crop images cannot "
            "reproduce: give --data a plate acquisition")
    rng = np.random.default_rng(seed)
    n = min(len(images), max_crops or 2 * MAX_CALIBRATION_CROPS)
    pick = [images[i] for i in np.sort(rng.choice(len(images), size=n, replace=False))]
    limit = CROP_IMAGE_MAX_SIDES * bundle.crop_size
    crops = []
    for p in pick:
        try:
            raw = load_image(p)
        except FerroscreenError:
            continue  # an unreadable image is skipped
        if max(raw.shape[:2]) > limit:
            raise FerroscreenError(f"{p}: a {raw.shape[0]}x{raw.shape[1]} image is no crop for a {bundle.crop_size} "
                                   "px model; --data takes a plate acquisition or a crop folder of crop images")
        try:
            crops.append(load_crop(p, bundle.crop_size, bundle.normalization, raw=raw).astype(np.float32))
        except FerroscreenError:
            continue  # nor is one that cannot be a crop (several pages, no background level)
    if not crops:
        raise FerroscreenError(f"{folder}: none of {len(pick)} crop image(s) could be read; nothing to calibrate on")
    crops = np.stack(crops)
    return crops[rng.permutation(len(crops))]


def quantize_bundle(model: str | Path, acquisition: str | Path, out: str | Path, n_frames: int = DEFAULT_FRAMES,
                    seed: int = 0) -> dict:
    """Write ``out``: the bundle ``model`` plus an int8 graph calibrated on ``acquisition``.

    Half the crops calibrate, the other half check agreement with float32. ``acquisition``
    is a plate acquisition (frames drawn as ``n_frames``), or for a bundle trained on crop
    images a crop folder (ImageFolder; ``n_frames`` unused: up to 2,048 images drawn with ``seed``,
    recorded as ``calibration_images``). The new bundle's ``meta["content_sha256"]`` is
    :func:`ferroscreen.hashing.bundle_content_sha256` of ``out`` (the source's covers its own graph).

    Returns:
        The new bundle's ``meta["int8"]``.

    Raises:
        ModelBundleError: Bundle missing, ONNX Runtime missing, or the bundle cannot be exported.
        FerroscreenError: No acquisition at ``acquisition`` (checked before torch loads; a folder that is
            neither an acquisition nor a crop folder says so in one line), a crop folder for a bundle
            trained on plates, no cells to calibrate on, ``n_frames`` below 1, a negative ``seed``, or
            ``out`` a folder.
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
    images: list[Path] = []
    try:
        open_acquisition(acquisition, interval_h=1.0)  # a mistyped folder fails before torch loads (times unused)
    except FerroscreenError as exc:
        images = crop_folder_images(acquisition)
        if not images:
            if not Path(acquisition).exists():
                raise
            got = "folder" if Path(acquisition).is_dir() else "file"
            said = str(exc).removeprefix(f"{acquisition}: ")
            raise FerroscreenError(
                f"{acquisition}: --data takes a plate acquisition or a crop folder (<class>/*.png crop images, "
                f"for a model trained on crop images); this {got} is neither: {said}") from None

    from ferroscreen.models.bundle import load_bundle, save_bundle
    from ferroscreen.models.int8 import build_int8, runtime_available

    if not runtime_available():
        raise ModelBundleError(f"{model}: int8 quantisation needs onnxruntime and onnx (pip install them)")
    bundle = load_bundle(model)
    if images:
        crops = crop_folder_calibration_crops(acquisition, bundle, images, seed)
    else:
        crops = calibration_crops(acquisition, bundle, n_frames, seed)
    half = (len(crops) + 1) // 2
    try:
        graph, info = build_int8(bundle.net, bundle.crop_size, crops[:half], crops[half:] if len(crops) > 1 else None)
    except Exception as exc:  # noqa: BLE001 - exporter/quantiser errors come in many types
        raise ModelBundleError(f"{model}: int8 export failed ({type(exc).__name__}: {str(exc)[:150]})") from None
    source = {"calibration_images": len(crops)} if images else {"calibration_frames": int(n_frames)}
    info.update(calibration_source=str(Path(acquisition).resolve()), **source, calibration_seed=int(seed))
    meta = dict(bundle.meta)
    meta["int8"] = {**info, "sha256": hashlib.sha256(graph).hexdigest()}  # as save_bundle records it
    state = {k: v.detach().cpu() for k, v in bundle.net.state_dict().items()}
    meta["content_sha256"] = payload_content_sha256(state, meta, graph)  # the source's names another graph
    save_bundle(out, bundle.net, meta, graph)
    return load_bundle(out).meta["int8"]
