"""The nuclei model file: U-Net weights plus what inference needs (torch, no Lightning).

A model file is a ``torch.save``'d dict readable with ``weights_only=True``:

``format``
    ``"ferroscreen-nuclei-unet/1"``.
``arch``
    :meth:`UNet.config` (``in_channels``, ``out_channels``, ``widths``).
``state_dict``
    The U-Net's tensors.
``normalize``
    Keyword arguments of :func:`~ferroscreen.segment.targets.normalize_image`.
``postprocess``
    Keyword arguments of :class:`~ferroscreen.segment.postprocess.PostprocessParams`.
``meta``
    Provenance: training data, validation metrics, ferroscreen version; and
    ``nucleus_diameter_px``, the training nuclei's median equivalent diameter,
    which ``segment`` compares with the images' (:mod:`ferroscreen.segment.scale`).
"""

from __future__ import annotations

from pathlib import Path

import torch

from ferroscreen.errors import ModelBundleError
from ferroscreen.models.checkpoints import load_lightning_checkpoint
from ferroscreen.models.load_errors import describe_load_error
from ferroscreen.models.unet import UNet

__all__ = ["FORMAT", "export_checkpoint", "load_model_file", "save_model_file"]

FORMAT = "ferroscreen-nuclei-unet/1"


def save_model_file(
    path: str | Path,
    net: UNet,
    normalize: dict | None = None,
    postprocess: dict | None = None,
    meta: dict | None = None,
) -> Path:
    """Write ``net`` and its inference settings to ``path``."""
    from ferroscreen import __version__

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().cpu().clone() for k, v in net.state_dict().items()}
    torch.save(
        {
            "format": FORMAT,
            "arch": net.config(),
            "state_dict": state,
            "normalize": dict(normalize or {}),
            "postprocess": dict(postprocess or {}),
            "meta": {"ferroscreen_version": __version__, **(meta or {})},
        },
        path,
    )
    return path


def load_model_file(path: str | Path) -> tuple[UNet, dict]:
    """Rebuild the U-Net (in eval mode) and return it with the file's dict (minus tensors).

    Raises:
        ModelBundleError: Not a ferroscreen nuclei model file, or weights that
            do not fit the stated architecture.
    """
    path = Path(path)
    try:
        blob = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise ModelBundleError(f"{path}: not a readable model file: {describe_load_error(exc)}") from None
    if not isinstance(blob, dict) or blob.get("format") != FORMAT:
        raise ModelBundleError(f"{path}: not a ferroscreen nuclei model file (format {FORMAT})")
    arch = blob["arch"]
    net = UNet(arch["in_channels"], arch["out_channels"], tuple(arch["widths"]))
    try:
        net.load_state_dict({k: v.float() for k, v in blob["state_dict"].items()})
    except RuntimeError as exc:
        raise ModelBundleError(f"{path}: weights do not fit architecture {arch}") from exc
    net.eval()
    info = {k: v for k, v in blob.items() if k != "state_dict"}
    return net, info


def export_checkpoint(
    ckpt: str | Path | list[str | Path],
    out: str | Path,
    postprocess: dict | None = None,
    meta: dict | None = None,
) -> Path:
    """Turn one ``NucleiSegmenter`` Lightning checkpoint, or the average of several, into a model file.

    Only the U-Net tensors (``net.*``) and hyper-parameters are kept; checkpoints
    are loaded with ``weights_only=True``. Several checkpoints (of one
    architecture, e.g. the last steps of fine-tunes from the same weights with
    different seeds) are averaged tensor by tensor -- a uniform "weight soup";
    integer buffers (batch-norm step counts) are taken from the first. The
    hyper-parameters and ``nucleus_diameter_px`` are the first checkpoint's.

    Raises:
        ModelBundleError: Checkpoints of different architectures.
    """
    paths = [ckpt] if isinstance(ckpt, (str, Path)) else list(ckpt)
    blobs = [load_lightning_checkpoint(p) for p in paths]
    blob = blobs[0]
    hp = dict(blob.get("hyper_parameters", {}))
    widths = tuple(hp.get("widths") or (8, 16, 32, 64, 128))
    net = UNet(1, 3, widths)
    states = [{k[4:]: v for k, v in b["state_dict"].items() if k.startswith("net.")} for b in blobs]
    for path, state in zip(paths[1:], states[1:], strict=True):
        if state.keys() != states[0].keys() or any(state[k].shape != states[0][k].shape for k in state):
            raise ModelBundleError(f"{path}: not the architecture of {paths[0]}; only like checkpoints average")
    averaged = {
        k: (sum(st[k].double() for st in states) / len(states)).to(v.dtype) if v.is_floating_point() else v
        for k, v in states[0].items()
    }
    net.load_state_dict(averaged)
    pp = dict(hp.get("postprocess") or {})
    pp.update(postprocess or {})
    if len(paths) == 1:
        recorded = {"checkpoint": Path(paths[0]).name, "global_step": blob.get("global_step")}
    else:
        # <run dir>/lightning_logs/version_N/checkpoints/<name>.ckpt -> "<run dir>/<name>.ckpt"
        runs = [Path(p).resolve().parents for p in paths]
        recorded = {
            "averaged_checkpoints": [
                f"{(up[3] if len(up) > 3 else up[0]).name}/{Path(p).name}" for p, up in zip(paths, runs, strict=True)
            ]
        }
    if blob.get("nucleus_diameter_px"):
        recorded["nucleus_diameter_px"] = round(float(blob["nucleus_diameter_px"]), 2)
    return save_model_file(out, net, normalize={}, postprocess=pp, meta={**recorded, **(meta or {})})
