"""SIGTERM (kill, timeout, SLURM) while ``ferroscreen demo`` trains ends it as it ends ``train``: one line, exit 143.

Was: the demo left the interrupted training's exception to the console entry, which took it for a Ctrl-C
(``interrupted``, exit 130). The demo's training is stood in for (the real one needs a simulated plate,
minutes): the interrupt handling ``run_training`` wraps it in, and a SIGTERM sent to this process.
"""

from __future__ import annotations

import os
import signal
import time


def _demo_training_gets(monkeypatch, signum: int) -> None:
    """``run_demo`` reaches its training step, and the training gets ``signum``."""
    import ferroscreen.demo
    from ferroscreen.tasks.training_run import ending_training_on_interrupt

    def run_demo(out, quick=False, seed=0, say=print):
        say("[2/5] training the death-mode classifier on the reference wells (4 epochs)")
        with ending_training_on_interrupt(out / "model.pt"):  # as run_training runs the training CLI
            if signum == signal.SIGINT:  # Ctrl-C as Python meets it (an xdist worker ignores a real SIGINT)
                raise KeyboardInterrupt
            os.kill(os.getpid(), signum)
            time.sleep(5)  # the signal ends it before
        raise AssertionError("the signal did not end the training")

    monkeypatch.setattr(ferroscreen.demo, "run_demo", run_demo)


def test_sigterm_while_the_demo_trains_says_so_and_exits_143(tmp_path, monkeypatch, run_main, sigterm_fails_the_test):
    _demo_training_gets(monkeypatch, signal.SIGTERM)
    code, stdout, err = run_main("demo", "--quick", "--out", tmp_path / "demo")
    assert code == 143, err
    assert err.strip().splitlines() == ["terminated (SIGTERM)"], err
    assert "[2/5] training" in stdout and "report:" not in stdout
    assert signal.getsignal(signal.SIGTERM) is sigterm_fails_the_test  # the command's handler is gone


def test_ctrl_c_while_the_demo_trains_says_interrupted(tmp_path, monkeypatch, run_main, sigterm_fails_the_test):
    _demo_training_gets(monkeypatch, signal.SIGINT)
    code, _, err = run_main("demo", "--quick", "--out", tmp_path / "demo")
    assert code == 130 and err.strip().splitlines() == ["interrupted"], err
