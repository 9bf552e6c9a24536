"""A resumed store keeps its channel: another --channel is refused, as another --z-plane is.

Was: `score --resume --channel "Alexa 488"` on a store scored on Brightfield kept the Brightfield rows and
added the other channel's: every well held twice its frames and cells, exit 0.
"""

from __future__ import annotations

import pytest

from ferroscreen.score.runner import score_plate
from ferroscreen.score.store import StoreError, read_store


def test_a_resume_on_another_channel_is_refused(plate_dir, bundle_path, tmp_path):
    out = tmp_path / "p.h5"
    score_plate(plate_dir, bundle_path, out, workers=0, batch_size=8, precision="32", log=lambda m: None)
    stored = read_store(out)
    channel = stored.attrs["channel"]
    with pytest.raises(StoreError) as exc:
        score_plate(plate_dir, bundle_path, out, resume=True, channel="green", workers=0, batch_size=8,
                    precision="32", log=lambda m: None)
    assert str(exc.value) == (f"{out}: was scored on channel '{channel}'; resume it with the same --channel (or "
                              "without one), or score channel 'green' into another store")
    assert len(read_store(out).frames) == len(stored.frames)  # nothing added
    s = score_plate(plate_dir, bundle_path, out, resume=True, channel=channel.upper(), workers=0, batch_size=8,
                    precision="32", log=lambda m: None)  # the same channel, spelt in another case
    assert s["done"] == len(stored.frames)
