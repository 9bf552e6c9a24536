"""Per-class measures with nothing to divide by are undefined, and macro-F1 averages the classes that are there."""

import json

import numpy as np
import pytest

from ferroscreen.analysis.classification import classification_report, confusion_matrix
from ferroscreen.json_output import dumps_strict
from ferroscreen.tasks.evaluation import render_evaluation

CLASSES = ["alive", "apoptosis", "ferroptosis", "necroptosis"]


def _report():
    # alive and apoptosis only among the true items; one apoptosis cell called ferroptosis, none necroptosis
    y_true = np.array([0, 0, 0, 1, 1, 1])
    y_pred = np.array([0, 0, 1, 1, 1, 2])
    return classification_report(confusion_matrix(y_true, y_pred, 4), CLASSES)


def test_classes_without_true_items_have_no_recall_and_leave_the_macro_f1():
    r = _report()
    ferro, necro = r["per_class"]["ferroptosis"], r["per_class"]["necroptosis"]
    assert ferro == {"precision": 0.0, "recall": None, "f1": None, "support": 0}  # predicted once, wrongly
    assert necro == {"precision": None, "recall": None, "f1": None, "support": 0}
    f1_alive, f1_apo = 2 * 1 * (2 / 3) / (1 + 2 / 3), 2 * (2 / 3) * (2 / 3) / (4 / 3)
    assert r["macro_f1"] == pytest.approx((f1_alive + f1_apo) / 2)  # was (f1_alive + f1_apo + 0 + 0) / 4
    assert r["macro_f1_classes"] == ["alive", "apoptosis"]
    assert r["accuracy"] == pytest.approx(4 / 6) and r["n"] == 6


def test_a_class_never_predicted_has_no_precision_and_f1_zero():
    r = classification_report(confusion_matrix(np.array([0, 1, 1]), np.array([0, 0, 0]), 2), ["a", "b"])
    assert r["per_class"]["b"] == {"precision": None, "recall": 0.0, "f1": 0.0, "support": 2}
    assert r["macro_f1"] == pytest.approx((0.5 + 0.0) / 2) and r["macro_f1_classes"] == ["a", "b"]


def test_undefined_measures_are_null_in_json_and_n_a_in_the_table():
    r = {"kind": "crop_folder", "data": "cf_test3", "model": "fx48.pt", **_report()}
    back = json.loads(dumps_strict(r))
    assert back["per_class"]["necroptosis"]["recall"] is None and back["per_class"]["ferroptosis"]["f1"] is None
    assert {"macro_f1", "per_class", "confusion"} <= set(back)
    text = render_evaluation(r)
    row = next(ln for ln in text.splitlines() if ln.startswith("necroptosis"))
    assert row.split() == ["necroptosis", "n/a", "n/a", "n/a", "0"]
    row = next(ln for ln in text.splitlines() if ln.startswith("ferroptosis"))
    assert row.split() == ["ferroptosis", "0.000", "n/a", "n/a", "0"]
    assert (f"macro-F1 {r['macro_f1']:.3f} over alive, apoptosis (ferroptosis, necroptosis: no true items, "
            "recall and F1 n/a)") in text


def test_every_class_present_prints_the_macro_f1_as_before():
    r = classification_report(np.eye(2, dtype=int) * 3, ["a", "b"])
    text = render_evaluation({"kind": "crop_folder", "data": "d", "model": "m", **r})
    assert "macro-F1 1.000, accuracy 1.000, n = 6" in text
