"""``score --devices N`` on a CPU divides the cores among its N processes.

Was: every rank ran a worker per core and a torch thread per core (2 ranks on 2 cores: int8 scoring
25 s -> 46 s, the machine oversubscribed four times).
"""

from __future__ import annotations

from types import SimpleNamespace

import torch

from ferroscreen.score import module as module_mod
from ferroscreen.score import runner


def test_default_workers_count_each_process_share(monkeypatch):
    import ferroscreen.models.int8 as int8

    monkeypatch.setattr(int8, "usable_cores", lambda: 16)
    assert runner.default_workers("32") == 8
    assert runner.default_workers("32", 4) == 4
    assert runner.default_workers("int8") == 5
    assert runner.default_workers("int8", 2) == 2
    assert runner.default_workers("32", 32) == 1  # never none


def test_a_rank_of_a_multi_process_cpu_run_takes_its_share_of_threads(monkeypatch):
    from ferroscreen.models.death_mode_net import DeathModeNet

    monkeypatch.setattr(module_mod, "usable_cores", lambda: 8)
    net = DeathModeNet("mobilenet_v2", n_classes=2, weights="none", input_size=32)
    m = module_mod.ScoringModule(net)
    before = torch.get_num_threads()
    try:
        m._trainer = SimpleNamespace(world_size=4)
        m.on_predict_start()
        assert torch.get_num_threads() == 2
        torch.set_num_threads(before)
        m._trainer = SimpleNamespace(world_size=1)
        m.on_predict_start()
        assert torch.get_num_threads() == before  # one process keeps every core
    finally:
        torch.set_num_threads(before)
