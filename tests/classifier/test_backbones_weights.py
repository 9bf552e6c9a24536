"""Loading weights into a backbone: another classifier head, files that do not fit, the ImageNet search path."""

import warnings

import pytest
import torch
import torchvision.models as tvm

from ferroscreen.errors import FerroscreenError, ModelBundleError
from ferroscreen.models import imagenet_weights
from ferroscreen.models.backbones import build_backbone, imagenet_filename
from ferroscreen.models.imagenet_weights import ImageNetWeightsNotFound


@pytest.mark.parametrize(("name", "head"), [
    ("mobilenet_v2", lambda m: m.classifier.__setitem__(1, torch.nn.Linear(1280, 4))),
    ("resnet18", lambda m: setattr(m, "fc", torch.nn.Linear(512, 3))),
    ("mobilenet_v3_small", lambda m: m.classifier.__setitem__(3, torch.nn.Linear(1024, 2))),
])
def test_a_model_fine_tuned_with_another_head_loads_without_it(tmp_path, name, head):
    torch.manual_seed(0)
    full = getattr(tvm, name)(weights=None)
    head(full)  # e.g. a 4-class torchvision model: classifier.1.weight is (4, 1280), not (1000, 1280)
    path = tmp_path / "finetuned.pth"
    torch.save(full.state_dict(), path)
    feats, _, init = build_backbone(name, path)
    assert init == f"file:{path}"
    first = next(k for k in full.state_dict() if k.endswith("weight"))
    assert torch.equal(feats.state_dict()[first], full.state_dict()[first])


def test_weights_of_another_shape_are_one_line_naming_the_file(tmp_path):
    state = tvm.mobilenet_v2(weights=None, width_mult=0.5).state_dict()
    path = tmp_path / "narrow.pth"
    torch.save(state, path)
    with pytest.raises(ModelBundleError) as err:
        build_backbone("mobilenet_v2", path)
    msg = str(err.value)
    assert isinstance(err.value, FerroscreenError) and "\n" not in msg
    assert msg.startswith(f"{path}: weights do not fit mobilenet_v2: features.0.0.weight has shape (16, 3, 3, 3), "
                          "mobilenet_v2 needs (32, 3, 3, 3) (and ")


def _search(monkeypatch, *dirs):
    monkeypatch.setattr(imagenet_weights, "weights_search_dirs", lambda: list(dirs))


def test_a_damaged_copy_on_the_search_path_is_passed_over_for_a_good_one(tmp_path, monkeypatch):
    fname = imagenet_filename("mobilenet_v3_small")
    bad, good = tmp_path / "bad", tmp_path / "good"
    bad.mkdir()
    good.mkdir()
    torch.manual_seed(1)
    full = tvm.mobilenet_v3_small(weights=None)
    torch.save(full.state_dict(), good / fname)
    (bad / fname).write_bytes((good / fname).read_bytes()[:5000])  # a download cut short
    _search(monkeypatch, bad, good)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        feats, _, init = build_backbone("mobilenet_v3_small", "imagenet")
    assert init == f"imagenet:{fname}"
    assert torch.equal(feats.features[0][0].weight, full.features[0][0].weight)
    said = [str(w.message) for w in caught if "passed over" in str(w.message)]
    assert len(said) == 1 and str(bad / fname) in said[0] and f"using {good / fname}" in said[0]


def test_imagenet_asked_and_no_copy_usable_is_one_line_naming_each(tmp_path, monkeypatch):
    fname = imagenet_filename("mobilenet_v3_small")
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    (a / fname).write_bytes(b"\x80\x02truncated")
    torch.save(tvm.resnet18(weights=None).state_dict(), b / fname)  # another network under the name
    _search(monkeypatch, a, b)
    with pytest.raises(ModelBundleError) as err:
        build_backbone("mobilenet_v3_small", "imagenet")
    msg = str(err.value)
    assert not isinstance(err.value, ImageNetWeightsNotFound) and "\n" not in msg
    assert f"{a / fname}: not a loadable weights file" in msg and f"{b / fname}: weights do not fit" in msg


def test_no_copy_at_all_is_not_found(tmp_path, monkeypatch):
    _search(monkeypatch, tmp_path)
    with pytest.raises(ImageNetWeightsNotFound) as err:
        build_backbone("resnet18", "imagenet")
    assert err.value.filename == "resnet18-f37072fd.pth" and err.value.searched == [tmp_path]
