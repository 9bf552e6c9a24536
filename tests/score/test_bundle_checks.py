"""Bundles that contradict themselves, or are cut short, fail on load with one clear line."""

from __future__ import annotations

import pytest
import torch

from ferroscreen.errors import ModelBundleError
from ferroscreen.models.bundle import load_bundle, save_bundle
from ferroscreen.models.load_errors import describe_state_dict_error

from .conftest import CLASSES, make_bundle


def _graph(width: int) -> bytes:
    """A minimal ONNX graph whose output has ``width`` columns (as an int8 graph's logits)."""
    pytest.importorskip("onnx")
    from onnx import TensorProto, helper

    x = helper.make_tensor_value_info("crops", TensorProto.FLOAT, ["n", width])
    y = helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["n", width])
    model = helper.make_model(helper.make_graph([helper.make_node("Identity", ["crops"], ["logits"])], "g", [x], [y]))
    return model.SerializeToString()


def test_int8_graph_with_another_class_count_fails_on_load(tmp_path):
    b = load_bundle(make_bundle(tmp_path / "b.pt"))
    path = save_bundle(tmp_path / "int8.pt", b.net, dict(b.meta), int8_graph=_graph(len(CLASSES) + 1))
    with pytest.raises(ModelBundleError) as err:
        load_bundle(path)
    msg = str(err.value)
    assert "\n" not in msg
    assert msg.startswith(f"{path}: its int8 graph has {len(CLASSES) + 1} outputs for {len(CLASSES)} class names")
    ok = save_bundle(tmp_path / "ok.pt", b.net, dict(b.meta), int8_graph=_graph(len(CLASSES)))
    assert load_bundle(ok).int8_graph is not None


def test_class_names_that_do_not_match_the_head_fail_in_one_line(tmp_path):
    path = make_bundle(tmp_path / "b.pt")
    payload = torch.load(path, weights_only=True)
    payload["meta"]["classes"] = CLASSES[:3]
    torch.save(payload, tmp_path / "mismatch.pt")
    with pytest.raises(ModelBundleError) as err:
        load_bundle(tmp_path / "mismatch.pt")
    msg = str(err.value)
    assert "\n" not in msg
    assert "lists 3 class names (alive, apoptosis, ferroptosis) but its network has 4 outputs" in msg


def test_a_truncated_bundle_is_said_to_be_cut_short(tmp_path):
    data = make_bundle(tmp_path / "b.pt").read_bytes()
    (tmp_path / "trunc.pt").write_bytes(data[:5000])
    with pytest.raises(ModelBundleError) as err:
        load_bundle(tmp_path / "trunc.pt")
    assert "cut short or corrupt" in str(err.value)
    assert "Errno" not in str(err.value)


def test_state_dict_errors_are_one_line():
    net = torch.nn.Sequential(torch.nn.Linear(3, 2))
    try:
        net.load_state_dict({"0.weight": torch.zeros(4, 3), "0.bias": torch.zeros(4)})
    except RuntimeError as exc:
        line = describe_state_dict_error(exc)
    assert line == "0.weight is 4x3 in the file, 2x3 in the network; 1 more tensor(s) differ"
