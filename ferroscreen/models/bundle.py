"""The model bundle: one file holding everything ``score`` needs.

A bundle is a ``torch.save`` file of a plain dictionary::

    {"format": "ferroscreen-bundle", "format_version": 1,
     "meta": {...}, "state_dict": {name: tensor}}

``meta`` is JSON-compatible and holds at least: ``classes`` (list of names),
``crop_size`` (px), ``input_size``, ``backbone``, ``normalization`` (how crops
are normalised: :meth:`ferroscreen.crops.CropNormalization.to_meta`; absent or
without ``method`` in older bundles, which used percentile scaling),
``source_crop_px`` (bundles trained on crop images: the side in px the crop
images were cut at, their median, each resized to ``crop_size`` in training;
``score`` cuts that many frame pixels around each cell and resizes them alike;
absent or ``None`` for plate-trained and older bundles: crops are cut at ``crop_size``),
``detector`` (the :class:`ferroscreen.crops.DetectorConfig` as a dict),
``next_scan`` (optional, default 0 / false: the number k of later scans the
network also reads, crops (N, 1 + k, S, S); ``true`` in older bundles means 1),
``temperature``, ``training_data`` (summary: sources, wells, crops per class, and the sha256 of
the layout and of the image files trained on), ``validation`` (macro-F1,
per-class metrics, confusion matrix with rows = true class), ``init``
(ImageNet file or random), ``ferroscreen_version``, ``created``, ``environment``
(the software it was trained with: :func:`ferroscreen.provenance.environment`),
``config`` (the training configuration), ``content_sha256``
(:func:`ferroscreen.hashing.bundle_content_sha256` of the bundle: the same for two
bundles trained alike, ``created`` and ``environment`` left out; written by
``train`` and ``quantize``, absent in older bundles; ``score`` computes it from the
file, records it in the store and continues a store with any bundle of that digest),
and optionally ``int8`` (metadata of the int8 graph, see :mod:`ferroscreen.models.int8`).

The payload may also hold ``int8_graph``: the statically quantised ONNX graph
as a uint8 tensor, whose sha256 ``meta["int8"]["sha256"]`` records. Bundles
are loaded with ``torch.load(weights_only=True)``: no code is executed on load.
"""

from __future__ import annotations

import hashlib
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

import torch

from ferroscreen.crops import CropNormalization
from ferroscreen.errors import ModelBundleError
from ferroscreen.hashing import file_sha256
from ferroscreen.models.death_mode_net import DeathModeNet
from ferroscreen.models.load_errors import describe_load_error, describe_state_dict_error, require_bundle_file

FORMAT = "ferroscreen-bundle"
FORMAT_VERSION = 1
REQUIRED_META = ("classes", "crop_size", "input_size", "backbone", "detector", "temperature")


@dataclass
class Bundle:
    """A loaded bundle: the network (eval mode, temperature set) and its metadata."""

    net: DeathModeNet
    meta: dict
    path: Path
    sha256: str
    int8_graph: bytes | None = None
    _runners: dict = field(default_factory=dict, repr=False, compare=False)

    @property
    def classes(self) -> list[str]:
        """Class names in output order."""
        return list(self.meta["classes"])

    @property
    def crop_size(self) -> int:
        """Crop side length in pixels, as trained."""
        return int(self.meta["crop_size"])

    @property
    def next_scan(self) -> int:
        """Later scans the network reads (0: none): crops (N, 1 + k, S, S), each cell then its box in the next k scans.

        Bundles written before k could be 2 store ``true`` (1) or ``false`` (0).
        """
        return int(self.meta.get("next_scan", 0))

    @property
    def channels(self) -> int:
        """Crop channels the network expects: 1 + :attr:`next_scan`."""
        return 1 + self.next_scan

    @property
    def source_crop_px(self) -> int | None:
        """The side (px) of the crop images it was trained on, each resized to :attr:`crop_size` (``None``: none).

        Plate-trained bundles and bundles written before it was recorded have none: their crops are cut
        at :attr:`crop_size`.
        """
        value = self.meta.get("source_crop_px")
        return None if value is None else int(value)

    @property
    def normalization(self) -> CropNormalization:
        """How crops are normalised, as trained (checked by :func:`load_bundle`), with :attr:`source_crop_px`.

        ``score``, ``quantize`` and ``evaluate`` hand it to :func:`ferroscreen.score.dataset.cut_crops`,
        which cuts each cell's box at its ``source_px`` and resizes it to :attr:`crop_size`.
        """
        return _normalization(self.meta)

    @property
    def trained_on_crop_images(self) -> bool:
        """Whether it learned from crop images each scaled by its own percentiles (an ImageFolder), not frames."""
        return (self.meta.get("normalization") or {}).get("scope") == "per crop image"

    def interval_mismatch(self, frames) -> str:
        """A warning when this next-scan bundle reads a plate imaged at a very different interval ('' if none).

        The network learned how much a dying cell changes in one training interval (``training_data``
        ``scan_interval_h``); at an interval outside 2/3-1.5x of it, it sees less or more change.
        ``frames`` is the plate's frame table (``time_h``).
        """
        from ferroscreen.io.scans import scan_interval_h

        trained = (self.meta.get("training_data") or {}).get("scan_interval_h")
        here = scan_interval_h(frames)
        if not self.next_scan or not trained or not here or 2 / 3 <= here / float(trained) <= 1.5:
            return ""
        return (f"this next-scan model was trained on scans every {float(trained):g} h and this plate is "
                f"imaged every {here:g} h; its calls may be less reliable (retrain on a plate imaged like this one)")

    @property
    def frame_note(self) -> str:
        """What ``score``, ``quantize`` and ``evaluate`` of a plate do otherwise for this bundle ('' when nothing).

        A bundle trained on crop images (an ImageFolder) scaled each crop by its own levels; on a
        plate each detected cell's box is cut from the raw frame and scaled by its own levels the
        same way (:func:`ferroscreen.score.dataset.cut_crops`), not the whole frame first.
        """
        if not self.trained_on_crop_images:
            return ""
        how = ("normalised to its own median as the background" if self.normalization.method == "background"
               else "scaled by its own percentiles")
        source = self.source_crop_px
        if source is not None and source != self.crop_size:
            how = f"cut at {source} px, {how} and resized to {self.crop_size} px"
        return f"trained on crop images: each cell's crop is {how}, as its training crops were"

    @property
    def int8_runnable(self) -> bool:
        """Whether int8 inference can run: the bundle has a graph and ONNX Runtime is installed (not imported)."""
        from ferroscreen.models.int8 import runtime_available

        return self.int8_graph is not None and runtime_available()

    def int8_forward(self):
        """The int8 graph's :class:`ferroscreen.models.int8.Int8Forward` (one per bundle, sessions opened once).

        Raises:
            ModelBundleError: The bundle holds no int8 graph, or ONNX Runtime is not installed.
        """
        from ferroscreen.models.int8 import Int8Forward, runtime_available

        if self.int8_graph is None:
            raise ModelBundleError(f"{self.path}: bundle has no int8 graph; add one with `ferroscreen quantize`")
        if not runtime_available():
            raise ModelBundleError(f"{self.path}: int8 inference needs onnxruntime and onnx (pip install them)")
        if "int8" not in self._runners:
            self._runners["int8"] = Int8Forward(self.int8_graph, float(self.meta.get("temperature", 1.0)))
        return self._runners["int8"]

    def inference_net(self) -> DeathModeNet:
        """:meth:`DeathModeNet.for_inference` of the network, folded once per bundle."""
        if "folded" not in self._runners:
            self._runners["folded"] = self.net.for_inference()
        return self._runners["folded"]


def save_bundle(path: str | Path, net: DeathModeNet, meta: dict, int8_graph: bytes | None = None) -> Path:
    """Write ``net``, ``meta`` and the optional int8 graph atomically to ``path`` (temp file + rename).

    ``meta["int8"]`` describes ``int8_graph`` when one is given (its
    ``sha256`` is set here); without a graph it may only say why none was built.

    Raises:
        ModelBundleError: If ``meta`` lacks a required key or the class count
            does not match the network's head.
    """
    path = Path(path)
    missing = [k for k in REQUIRED_META if k not in meta]
    if missing:
        raise ModelBundleError(f"{path}: bundle metadata lacks {', '.join(missing)}")
    if len(meta["classes"]) != net.head[-1].out_features:
        raise ModelBundleError(f"{path}: {len(meta['classes'])} class names for a {net.head[-1].out_features}-way head")
    _check_source_crop_px(path, meta)
    meta = dict(meta)
    if int8_graph is None:
        if "sha256" in (meta.get("int8") or {}):
            meta.pop("int8")  # describes a graph that is not written
    else:
        meta["int8"] = {**meta.get("int8", {}), "sha256": hashlib.sha256(int8_graph).hexdigest()}
    payload = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "meta": meta,
        "state_dict": {k: v.detach().cpu() for k, v in net.state_dict().items()},
    }
    if int8_graph is not None:
        payload["int8_graph"] = torch.frombuffer(bytearray(int8_graph), dtype=torch.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.parent / f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp"
    try:
        with open(tmp, "xb") as f:  # created with the umask's mode, as any output (mkstemp's is owner-only)
            torch.save(payload, f)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


def load_bundle(path: str | Path, expected_classes: list[str] | None = None) -> Bundle:
    """Load a bundle for inference (CPU, eval mode).

    Args:
        path: The bundle file.
        expected_classes: If given, the bundle's classes must equal these.

    Raises:
        ModelBundleError: One line naming the file when it is missing, corrupt,
            not a ferroscreen bundle, or built for other classes.
    """
    path = require_bundle_file(path)
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types for corrupt files
        raise ModelBundleError(f"{path}: not a readable model bundle: {describe_load_error(exc, path)}") from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise ModelBundleError(f"{path}: not a ferroscreen model bundle (was it written by `ferroscreen train`?)")
    if payload.get("format_version", 0) > FORMAT_VERSION:
        raise ModelBundleError(f"{path}: bundle format {payload['format_version']} is newer than this ferroscreen")
    meta = payload["meta"]
    missing = [k for k in REQUIRED_META if k not in meta]
    if missing:
        raise ModelBundleError(f"{path}: bundle metadata lacks {', '.join(missing)}")
    classes = list(meta["classes"])
    if expected_classes is not None and classes != list(expected_classes):
        raise ModelBundleError(
            f"{path}: model is for classes {classes}, expected {list(expected_classes)}"
        )
    try:
        CropNormalization.from_meta(meta.get("normalization"))
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelBundleError(f"{path}: bad crop normalisation in the bundle ({exc})") from None
    _check_source_crop_px(path, meta)
    state = payload.get("state_dict")
    if not isinstance(state, dict):
        raise ModelBundleError(f"{path}: the bundle holds no weights (state_dict); it is damaged")
    width = _head_width(state)
    if width is not None and width != len(classes):
        raise ModelBundleError(f"{path}: lists {len(classes)} class names ({', '.join(map(str, classes))}) but its "
                               f"network has {width} outputs; the bundle is inconsistent (retrain or rewrite it)")
    net = DeathModeNet(
        backbone=meta["backbone"],
        n_classes=len(classes),
        weights="none",
        input_size=int(meta["input_size"]),
        channels=1 + int(meta.get("next_scan", 0)),  # other crops are refused, not misread
    )
    try:
        net.load_state_dict(state)
    except RuntimeError as exc:
        raise ModelBundleError(f"{path}: weights do not match the recorded architecture "
                               f"({describe_state_dict_error(exc)})") from None
    net.temperature.fill_(float(meta["temperature"]))
    net.eval()
    graph = payload.get("int8_graph")
    if graph is not None:
        graph = graph.numpy().tobytes() if isinstance(graph, torch.Tensor) else None
        if graph is None or hashlib.sha256(graph).hexdigest() != (meta.get("int8") or {}).get("sha256"):
            raise ModelBundleError(f"{path}: the int8 graph does not match its recorded sha256 (damaged bundle)")
        from ferroscreen.models.int8 import graph_output_width

        width = graph_output_width(graph)
        if width is not None and width != len(classes):
            raise ModelBundleError(f"{path}: its int8 graph has {width} outputs for {len(classes)} class names "
                                   f"({', '.join(map(str, classes))}); the bundle is inconsistent (run "
                                   f"`ferroscreen quantize` on it again)")
    return Bundle(net, meta, path, file_sha256(path), graph)


def _normalization(meta: dict) -> CropNormalization:
    """The bundle's crop normalisation with its ``source_crop_px`` (raises ValueError/KeyError/TypeError)."""
    norm = dict(meta.get("normalization") or {})
    if meta.get("source_crop_px") is not None:
        norm["source_crop_px"] = meta["source_crop_px"]
    return CropNormalization.from_meta(norm)


def _check_source_crop_px(path: Path, meta: dict) -> None:
    """Raise :class:`ModelBundleError` for a ``source_crop_px`` that is not a side in px of crop images.

    (A bad ``normalization`` itself is left to the caller's check.)
    """
    value = meta.get("source_crop_px")
    if value is None:
        return
    try:
        CropNormalization.from_meta(meta.get("normalization"))
    except (KeyError, TypeError, ValueError):
        return
    try:
        _normalization(meta)
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelBundleError(f"{path}: bad source_crop_px {value!r} in the bundle ({exc})") from None


def _head_width(state: dict) -> int | None:
    """Outputs of the classifier head in ``state`` (rows of the last ``head.*.weight``); ``None`` when not found."""
    heads = [(k, v) for k, v in state.items()
             if k.startswith("head.") and k.endswith(".weight") and getattr(v, "ndim", 0) == 2]
    if not heads:
        return None
    key, weight = max(heads, key=lambda kv: [int(p) if p.isdigit() else -1 for p in kv[0].split(".")])
    return int(weight.shape[0])
