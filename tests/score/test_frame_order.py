"""How scoring orders and shares frames: site order, contiguous shares, each file decoded once."""

from __future__ import annotations

import numpy as np
import pytest
import tifffile

from ferroscreen.errors import FerroscreenError
from ferroscreen.score.dataset import FrameCropStream, RecentFrames, site_order


def _jobs(sites: int, times: int) -> list[tuple]:
    """Time-major jobs (as `score` builds them) whose next path is the same site's next time."""
    path = {(s, t): f"/p/s{s}_t{t}.tif" for s in range(sites) for t in range(times)}
    return [(t * sites + s, path[s, t], path.get((s, t + 1))) for t in range(times) for s in range(sites)]


def test_site_order_follows_each_sites_next_scans():
    jobs = _jobs(3, 4)
    order = site_order(jobs)
    assert sorted(order) == sorted(jobs)
    assert [j[1] for j in order[:4]] == [f"/p/s0_t{t}.tif" for t in range(4)]
    for a, b in zip(order, order[1:], strict=False):
        assert a[2] == b[1] or a[2] is None  # each job is followed by its next scan, or its site ends
    # a resumed run: some frames done, so chains start mid-way; every job is still there once
    partial = [j for j in jobs if j[0] not in (1, 4, 7)]
    assert sorted(site_order(partial)) == sorted(partial)
    single = [(i, f"/p/{i}.tif") for i in (2, 0, 1)]  # single-scan bundles: order kept
    assert site_order(single) == single


@pytest.mark.parametrize(("world", "workers"), [(1, 1), (1, 3), (2, 2), (3, 1)])
def test_workers_and_ranks_share_the_jobs_exactly_once(world, workers, monkeypatch):
    import ferroscreen.score.dataset as ds

    jobs = _jobs(5, 7)
    got = []
    for rank in range(world):
        for wid in range(workers):
            info = type("Info", (), {"id": wid, "num_workers": workers})
            monkeypatch.setattr(ds, "get_worker_info", lambda info=info: info)
            share = FrameCropStream(jobs, None, 16, rank=rank, world_size=world).my_jobs()
            assert abs(len(share) - len(jobs) / (world * workers)) < 1
            got += share
    assert sorted(got) == sorted(jobs)


def test_recent_frames_decode_once_and_notice_a_rewritten_file(tmp_path):
    a, b = tmp_path / "a.tif", tmp_path / "b.tif"
    tifffile.imwrite(a, np.full((8, 8), 3, np.uint16))
    tifffile.imwrite(b, np.full((8, 8), 5, np.uint16))
    recent = RecentFrames(keep=1)
    first = recent.load(str(a))
    assert recent.load(str(a)) is first and recent.hits == 1
    assert not first.flags.writeable  # shared between callers: nobody may change it
    assert int(recent.load(str(b))[0, 0]) == 5 and recent.load(str(a)) is not first  # keep=1: a was dropped
    tifffile.imwrite(a, np.full((8, 9), 7, np.uint16))  # rewritten: another size
    assert recent.load(str(a)).shape == (8, 9)
    with pytest.raises(FerroscreenError, match="not found"):
        recent.load(str(tmp_path / "missing.tif"))
