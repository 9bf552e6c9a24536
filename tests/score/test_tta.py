"""Test-time augmentation: the 8 dihedral views of each crop, probabilities averaged (score/evaluate --tta)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from ferroscreen.models.tta import VIEWS, dihedral_view, tta_proba
from ferroscreen.score import read_store

from ..cli_process import run_command
from .test_score_cli import run, score_cmd


def test_the_eight_views_are_the_dihedral_group_on_the_last_two_axes():
    x = np.arange(2 * 3 * 4 * 4, dtype=np.float32).reshape(2, 3, 4, 4)  # (N, C, S, S), no symmetry
    views = [dihedral_view(x, k) for k in range(VIEWS)]
    assert np.array_equal(views[0], x)
    assert len({v.tobytes() for v in views}) == VIEWS  # all different
    assert np.array_equal(views[2], np.rot90(x, 1, axes=(-2, -1))) and np.array_equal(views[1], x[..., ::-1])
    assert all(v.shape == x.shape for v in views)
    for k in range(VIEWS):  # torch and numpy give the same views, channels turned together
        t = dihedral_view(torch.from_numpy(x), k)
        assert t.is_contiguous() and np.array_equal(t.numpy(), views[k])
        assert np.array_equal(views[k][:, 1], dihedral_view(x[:, 1], k))


def test_tta_proba_is_the_mean_over_views():
    x = np.zeros((1, 4, 4), np.float32)
    x[0, 0, 1] = 1.0  # where the bright pixel lands tells the view
    seen = []

    def predict(v):
        r, c = np.unravel_index(int(v[0].argmax()), (4, 4))
        seen.append((int(r), int(c)))
        p = np.zeros((1, 16), np.float32)
        p[0, r * 4 + c] = 1.0
        return p

    p = tta_proba(predict, x)
    assert len(set(seen)) == VIEWS and p.sum() == pytest.approx(1.0) and p.max() == pytest.approx(1 / VIEWS)
    invariant = tta_proba(lambda v: np.full((len(v), 3), v.sum(axis=(-2, -1))[:, None] / 3), x)
    assert np.allclose(invariant, 1 / 3)


def test_scoring_module_tta_averages_the_network_over_views(bundle_path):
    from ferroscreen.models.bundle import load_bundle
    from ferroscreen.score.module import ScoringModule

    bundle = load_bundle(bundle_path)
    crops = torch.from_numpy(np.random.default_rng(0).random((5, bundle.crop_size, bundle.crop_size), np.float32))
    module = ScoringModule(bundle.net, tta=True, defer=True)
    assert not module.defer  # tta runs the views in the step
    got = module.predict_step({"crops": crops}, 0)
    net = bundle.net.for_inference()
    want = sum(net.predict_proba(dihedral_view(crops, k)) for k in range(VIEWS)) / VIEWS
    torch.testing.assert_close(got, want, atol=1e-5, rtol=1e-5)
    plain = ScoringModule(bundle.net).predict_step({"crops": crops}, 0)
    assert not torch.allclose(got, plain, atol=1e-4)  # an untrained net is not rotation invariant


@pytest.mark.slow  # ~32 s: two whole scores; the views and averaging are unit-tested above
def test_score_tta_is_recorded_and_kept_on_resume(plate_dir, bundle_path, tmp_path, user_error, cli):
    out, plain = tmp_path / "tta.h5", tmp_path / "plain.h5"
    run(score_cmd(plate_dir, bundle_path, out, "--tta"))
    run(score_cmd(plate_dir, bundle_path, plain))
    store, ref = read_store(out), read_store(plain)
    assert store.attrs["tta"] is True or store.attrs["tta"] == 1
    assert not ref.attrs["tta"]
    assert len(store.wells) == len(ref.wells) and (store.wells["n_cells"].to_numpy() == ref.wells["n_cells"]).all()
    proc = run_command(score_cmd(plate_dir, bundle_path, out, "--resume"), capture_output=True, text=True,
                          timeout=120)
    user_error(proc, str(out), "resume it with --tta")
    proc = cli("evaluate", str(plate_dir), "--model", str(bundle_path), "--tta", "--json", "--precision", "32")
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert result["tta"] is True

    from ferroscreen.tasks.evaluation import render_evaluation

    assert "8 views averaged (--tta)" in render_evaluation(result).splitlines()[0]
