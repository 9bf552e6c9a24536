"""Shared batch slots: crops from forked DataLoader workers arrive unchanged, slots come back, no deadlock."""

from __future__ import annotations

import multiprocessing
import pickle

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from ferroscreen.crops import DetectorConfig
from ferroscreen.score.dataset import FrameCropStream, as_is, batch_tensors, worker_init
from ferroscreen.score.slots import BatchSlots, slot_count

pytestmark = pytest.mark.skipif("fork" not in multiprocessing.get_all_start_methods(), reason="needs fork")


def _fill_in_child(slots: BatchSlots, value: float, done) -> None:
    slot = slots.acquire(timeout=5)
    n = slots.fill(slot, [np.full((2, 3), value, np.float32), np.full((1, 3), value + 1, np.float32)])
    done.put((slot, n))


def test_a_forked_child_writes_what_the_parent_reads():
    slots = BatchSlots(2, (4, 3))
    ctx = multiprocessing.get_context("fork")
    done = ctx.Queue()
    child = ctx.Process(target=_fill_in_child, args=(slots, 7.0, done))
    child.start()
    slot, n = done.get(timeout=30)
    child.join(30)
    assert child.exitcode == 0 and n == 3
    np.testing.assert_array_equal(slots.view(slot, n), [[7, 7, 7], [7, 7, 7], [8, 8, 8]])
    other = slots.acquire(timeout=5)  # the parent's queue still holds the other slot
    assert other != slot and slots.acquire(timeout=0.2) is None  # both taken: a wait times out
    slots.release(slot)
    assert slots.acquire(timeout=5) == slot


def test_slots_refuse_pickling_and_oversized_batches():
    slots = BatchSlots(1, (2, 3))
    with pytest.raises(TypeError, match="fork"):
        pickle.dumps(slots)
    with pytest.raises(ValueError, match="do not fit"):
        slots.fill(0, [np.zeros((3, 3), np.float32)])
    assert not BatchSlots.usable(10, (1 << 20, 64))  # 2.5 GB of slots: not used
    assert slot_count(2, 2) == 9


def _batches(stream: FrameCropStream, workers: int, slots: BatchSlots | None, hold: bool = False) -> list[dict]:
    """The stream's batches as tensors; slots released at once, or only at the end (``hold``)."""
    import cv2

    kw = {"prefetch_factor": 2, "multiprocessing_context": "fork"} if workers else {}
    loader = DataLoader(stream, batch_size=None, num_workers=workers, worker_init_fn=worker_init,
                        collate_fn=as_is, **kw)
    out, held = [], []
    threads = cv2.getNumThreads()
    cv2.setNumThreads(1)  # as the data module does before its workers fork (see worker_init)
    try:
        for raw in loader:
            batch = batch_tensors(raw, slots)
            out.append({"slotted": "slot" in raw, **{k: (v.clone() if isinstance(v, torch.Tensor) else v)
                                                     for k, v in batch.items() if k != "release"}})
            if "release" in batch:
                held.append(batch["release"])
            if not hold:
                while held:
                    held.pop()()
    finally:
        cv2.setNumThreads(threads)
    for release in held:
        release()
    return out


@pytest.mark.parametrize("hold", [False, True])
def test_worker_batches_through_slots_equal_in_process_ones(plate_dir, hold, monkeypatch):
    """Through slots, or with every slot held by the consumer (the rest go the ordinary way): as without slots."""
    from ferroscreen.io import open_acquisition

    monkeypatch.setattr("ferroscreen.score.slots.WAIT_S", 0.05)
    paths = list(open_acquisition(plate_dir).frames["path"])
    jobs = [(i, p) for i, p in enumerate(paths)]
    cfg = DetectorConfig(min_radius=3, max_radius=9)
    plain = _batches(FrameCropStream(jobs, cfg, 16, batch_size=7), 2, None)
    slots = BatchSlots(2 if hold else slot_count(2, 2), (7, 16, 16))
    shared = _batches(FrameCropStream(jobs, cfg, 16, batch_size=7, slots=slots), 2, slots, hold)
    assert sum(len(b["crops"]) for b in plain) > 20
    for a, b in zip(plain, shared, strict=True):
        for k in ("crops", "frame", "xyrs"):
            torch.testing.assert_close(a[k], b[k], rtol=0, atol=0)
        assert a["records"] == b["records"]
    slotted = sum(b["slotted"] for b in shared)
    assert slotted == 2 if hold else slotted == sum(len(b["crops"]) > 0 for b in shared)
    assert sorted(slots.acquire(timeout=1) for _ in range(slots.n_slots)) == list(range(slots.n_slots))


def test_scoring_after_opencv_ran_its_thread_pool_does_not_hang(plate_dir, bundle_path, tmp_path):
    """A process that ran OpenCV on several threads, then scores with DataLoader workers, finishes.

    A child forked while OpenCV's thread pool runs would wait forever in
    ``cv2.setNumThreads`` for threads it does not have (seen with the radial
    detector's bicubic resize in the same process, e.g. the benchmark's).
    """
    import os
    import signal
    import subprocess
    import sys

    code = (
        "import cv2, numpy as np\n"
        "from ferroscreen.score.runner import score_plate\n"
        "cv2.setNumThreads(2)\n"
        "x = np.random.default_rng(0).random((2048, 2048), dtype=np.float32)\n"
        "cv2.resize(x, (4096, 4096), interpolation=cv2.INTER_CUBIC); cv2.dilate(x, np.ones((5, 5), np.uint8))\n"
        f"s = score_plate({str(plate_dir)!r}, {str(bundle_path)!r}, {str(tmp_path / 'p.h5')!r}, workers=1)\n"
        "assert s['done'] == s['store_frames'] > 0, s\n"
        "assert cv2.getNumThreads() == 2\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, start_new_session=True)
    try:
        _, err = proc.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)  # the hung worker too
        proc.communicate()
        pytest.fail("scoring hung after OpenCV had run its thread pool")
    assert proc.returncode == 0, err[-2000:]
