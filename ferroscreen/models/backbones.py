"""torchvision backbones with a new classification head.

:func:`build_backbone` returns a feature extractor (image -> pooled feature
vector) for one of :data:`BACKBONES`, initialised from ImageNet (offline, see
:mod:`ferroscreen.models.imagenet_weights`), from a local file, or randomly.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torchvision.models as tvm
from torch import nn

from ferroscreen.errors import ModelBundleError
from ferroscreen.models.imagenet_weights import find_imagenet_file, load_state_dict_file


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
        weights: ``"imagenet"`` (torchvision's ImageNet file, found offline),
            ``"none"``/``None`` (random init) or a path to a state dict of the
            full torchvision model (its classifier weights are ignored).

    Returns:
        ``(module, n_features, init)`` where ``module`` maps (B, 3, H, W) to
        (B, n_features) and ``init`` says how it was initialised
        (``imagenet:<file>``, ``file:<path>`` or ``random``).

    Raises:
        ModelBundleError: Unknown name, or weights that cannot be found/loaded.
    """
    if name not in BACKBONES:
        raise ModelBundleError(f"unknown backbone '{name}' (one of {', '.join(BACKBONES)})")
    spec = BACKBONES[name]
    model = spec.builder(weights=None)
    init = "random"
    if weights not in (None, "none", ""):
        if str(weights) == "imagenet":
            fname = imagenet_filename(name)
            path = find_imagenet_file(fname)
            if path is None:
                raise ModelBundleError(
                    f"ImageNet weights for {name} ({fname}) are not in torchvision's cache or "
                    f"FERROSCREEN_WEIGHTS_DIR; put the file there or pass weights: /path/to/{fname}"
                )
        else:
            path = Path(weights)
        state = load_state_dict_file(path)
        missing, unexpected = model.load_state_dict(state, strict=False)
        if missing or unexpected:
            raise ModelBundleError(
                f"{path}: weights do not fit {name} ({len(missing)} missing, {len(unexpected)} unexpected keys)"
            )
        init = f"imagenet:{path.name}" if str(weights) == "imagenet" else f"file:{path}"
    n_features, _ = _strip_classifier(model, spec.classifier_attr)
    return model, n_features, init


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


