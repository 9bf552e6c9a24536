"""``export.json`` records the software an export ran on and how it was started, as fit's provenance does."""

from __future__ import annotations

import json
import re

from ferroscreen import __version__

from ..conftest import main_in_process
from .test_export_all_or_nothing import _store


def test_export_json_records_the_environment_and_the_command(tmp_path, monkeypatch, capsys):
    # before: export.json held ferroscreen_version (0.1.0 over hundreds of commits) and nothing of the software
    store = _store(tmp_path, "plate", ["RSL3"])
    code, _, err = main_in_process(["export", store, "--out", tmp_path / "e", "--gallery", "0",
                                    "--compound-gallery", "0"], monkeypatch, capsys)
    assert code == 0, err
    record = json.loads((tmp_path / "e" / "export.json").read_text())
    env = record["environment"]
    assert env["ferroscreen"] == __version__ and env["python"] and env["numpy"] and env["platform"]
    assert isinstance(record["command"]["argv"], list) and record["command"]["cwd"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00", record["created"])
