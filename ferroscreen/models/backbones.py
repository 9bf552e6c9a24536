"""torchvision backbones with a new classification head.

:func:`build_backbone` returns a feature extractor (image -> pooled feature
vector) for one of :data:`BACKBONES`, initialised from ImageNet (offline, see
:mod:`ferroscreen.models.imagenet_weights`), from a local file, or randomly.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
import torchvision.models as tvm
from torch import nn

from ferroscreen.errors import ModelBundleError
from ferroscreen.models.imagenet_weights import (
    imagenet_files,
    imagenet_not_found,
    load_state_dict_file,
)


def _resnet_stem(m: nn.Module) -> list[nn.Module]:
    return [m.conv1, m.bn1, m.layer1]


@dataclass(frozen=True)
class BackboneSpec:
    """How to build one torchvision model and strip its classifier."""

    builder: Callable[..., nn.Module]
    weights: object  # a torchvision WeightsEnum member
    classifier_attr: str  # attribute replaced by Identity to expose features
    last_block: Callable[[nn.Module], nn.Module]  # the block left trainable by freeze="all_but_last"
    stem: Callable[[nn.Module], list[nn.Module]]  # the layers frozen by freeze="stem"


BACKBONES: dict[str, BackboneSpec] = {
    "resnet18": BackboneSpec(tvm.resnet18, tvm.ResNet18_Weights.IMAGENET1K_V1, "fc", lambda m: m.layer4, _resnet_stem),
    "resnet34": BackboneSpec(tvm.resnet34, tvm.ResNet34_Weights.IMAGENET1K_V1, "fc", lambda m: m.layer4, _resnet_stem),
    "resnet50": BackboneSpec(tvm.resnet50, tvm.ResNet50_Weights.IMAGENET1K_V2, "fc", lambda m: m.layer4, _resnet_stem),
    "mobilenet_v2": BackboneSpec(
        tvm.mobilenet_v2, tvm.MobileNet_V2_Weights.IMAGENET1K_V1, "classifier", lambda m: m.features[-3:],
        lambda m: [m.features[:4]],
    ),
    "mobilenet_v3_small": BackboneSpec(
        tvm.mobilenet_v3_small,
        tvm.MobileNet_V3_Small_Weights.IMAGENET1K_V1,
        "classifier",
        lambda m: m.features[-3:],
        lambda m: [m.features[:4]],
    ),
    "mobilenet_v3_large": BackboneSpec(
        tvm.mobilenet_v3_large,
        tvm.MobileNet_V3_Large_Weights.IMAGENET1K_V1,
        "classifier",
        lambda m: m.features[-3:],
        lambda m: [m.features[:4]],
    ),
    "efficientnet_b0": BackboneSpec(
        tvm.efficientnet_b0, tvm.EfficientNet_B0_Weights.IMAGENET1K_V1, "classifier", lambda m: m.features[-2:],
        lambda m: [m.features[:3]],
    ),
    "convnext_tiny": BackboneSpec(
        tvm.convnext_tiny, tvm.ConvNeXt_Tiny_Weights.IMAGENET1K_V1, "classifier", lambda m: m.features[-2:],
        lambda m: [m.features[:2]],
    ),
}


def imagenet_filename(name: str) -> str:
    """Torchvision's file name of the ImageNet weights of backbone ``name``."""
    return BACKBONES[name].weights.url.rsplit("/", 1)[-1]


def _strip_classifier(model: nn.Module, attr: str) -> tuple[int, str]:
    """Drop the final Linear of the classifier (keeping e.g. ConvNeXt's norm + flatten).

    Returns the feature size and the state-dict prefix of the removed layer.
    """
    head = getattr(model, attr)
    if isinstance(head, nn.Linear):
        setattr(model, attr, nn.Identity())
        return head.in_features, f"{attr}."
    idx = max(i for i, m in enumerate(head) if isinstance(m, nn.Linear))
    n_features = head[idx].in_features
    head[idx] = nn.Identity()
    return n_features, f"{attr}.{idx}."


def build_backbone(name: str, weights: str | Path | None = "none") -> tuple[nn.Module, int, str]:
    """Build backbone ``name`` without its classifier.

    Args:
        name: One of :data:`BACKBONES`.
        weights: ``"imagenet"`` (torchvision's ImageNet file, found offline: the first copy
            on the search path that loads and fits, see
            :mod:`ferroscreen.models.imagenet_weights`), ``"none"``/``None`` (random init)
            or a path to a state dict of the torchvision model (a full model's, or one
            without its classifier). The weights of the classifier layer the new head
            replaces (ResNets' ``fc``, the last Linear of the others' ``classifier``:
            ``classifier.1`` of MobileNetV2 and EfficientNet, ``classifier.3`` of
            MobileNetV3, ``classifier.2`` of ConvNeXt) are left out, so a model
            fine-tuned for another number of classes loads too.

    Returns:
        ``(module, n_features, init)`` where ``module`` maps (B, 3, H, W) to
        (B, n_features) and ``init`` says how it was initialised
        (``imagenet:<file>``, ``file:<path>`` or ``random``).

    Raises:
        ImageNetWeightsNotFound: ``"imagenet"`` and no copy of the file on the search path.
        ModelBundleError: Unknown name; a weights file that cannot be loaded or does not fit
            the backbone (keys or shapes), naming the file; for ``"imagenet"``, every copy
            found failing (each named with why).
    """
    if name not in BACKBONES:
        raise ModelBundleError(f"unknown backbone '{name}' (one of {', '.join(BACKBONES)})")
    spec = BACKBONES[name]
    model = spec.builder(weights=None)
    n_features, head = _strip_classifier(model, spec.classifier_attr)
    init = "random"
    if weights in (None, "none", ""):
        return model, n_features, init
    if str(weights) != "imagenet":
        path = Path(weights)
        _load_backbone_weights(model, load_state_dict_file(path), path, name, head)
        return model, n_features, f"file:{path}"
    fname = imagenet_filename(name)
    files = imagenet_files(fname)
    if not files:
        raise imagenet_not_found(name, fname)
    problems = []
    for path in files:
        try:
            _load_backbone_weights(model, load_state_dict_file(path), path, name, head)
        except ModelBundleError as exc:
            problems.append(str(exc))
            continue
        if problems:
            warnings.warn(f"ImageNet weights: passed over {'; '.join(problems)}; using {path}", stacklevel=2)
        return model, n_features, f"imagenet:{path.name}"
    raise ModelBundleError(f"ImageNet weights for {name}: no copy of {fname} on the search path can be used "
                           f"({'; '.join(problems)}); replace the file(s) with torchvision's {fname} or pass "
                           f"weights: /path/to/{fname}")


def _load_backbone_weights(model: nn.Module, state: dict[str, torch.Tensor], path: Path, name: str,
                           head: str) -> None:
    """Load ``state`` (a torchvision model's, its ``head`` layer left out) into the stripped ``model``.

    Raises:
        ModelBundleError: Naming ``path``: a tensor of another shape (checked before anything
            is loaded), or keys missing or unexpected.
    """
    state = {k: v for k, v in state.items() if not k.startswith(head)}
    expected = model.state_dict()
    wrong = [k for k, v in state.items() if k in expected and tuple(v.shape) != tuple(expected[k].shape)]
    if wrong:
        k = wrong[0]
        more = f" (and {len(wrong) - 1} more)" if len(wrong) > 1 else ""
        raise ModelBundleError(f"{path}: weights do not fit {name}: {k} has shape {tuple(state[k].shape)}, "
                               f"{name} needs {tuple(expected[k].shape)}{more}")
    missing, unexpected = model.load_state_dict(state, strict=False)
    if missing or unexpected:
        example = f"e.g. missing {missing[0]}" if missing else f"e.g. unexpected {unexpected[0]}"
        raise ModelBundleError(f"{path}: weights do not fit {name} ({len(missing)} missing, {len(unexpected)} "
                               f"unexpected keys, {example})")


def last_block(model: nn.Module, name: str) -> nn.Module:
    """The final feature block of backbone ``name`` (kept trainable by partial freezing)."""
    return BACKBONES[name].last_block(model)


def stem_layers(model: nn.Module, name: str) -> list[nn.Module]:
    """The stem and first stage of backbone ``name``: the full-resolution, low-level layers (``freeze="stem"``).

    The layers up to stride 4 (MobileNetV3-Small: 8): MobileNetV2/V3 ``features[:4]``,
    EfficientNet-B0 ``features[:3]``, ConvNeXt-Tiny stem and stage 1, ResNets ``conv1``,
    ``bn1``, ``layer1``.
    """
    return BACKBONES[name].stem(model)


def count_parameters(module: nn.Module, trainable_only: bool = False) -> int:
    """Number of (trainable) parameters."""
    return sum(p.numel() for p in module.parameters() if p.requires_grad or not trainable_only)


