"""After a SIGTERM, DataLoader workers the signal ended are not reported as errors (a group kill printed a
RuntimeError traceback under the run's one-line "terminated (SIGTERM)"); other unraisable errors still are."""

from __future__ import annotations

from types import SimpleNamespace

from ferroscreen.score import terminate


def test_a_worker_ended_by_sigterm_is_not_printed_and_other_errors_are(monkeypatch):
    seen = []
    monkeypatch.setattr(terminate, "_previous_hook", seen.append)
    ended = SimpleNamespace(exc_value=RuntimeError("DataLoader worker (pid 1492) is killed by signal: Terminated. "))
    terminate._quiet_worker_teardown(ended)
    assert seen == []
    other = SimpleNamespace(exc_value=RuntimeError("DataLoader worker (pid 7) is killed by signal: Segmentation fault"))
    terminate._quiet_worker_teardown(other)
    assert seen == [other]
