"""``segment`` counts images it could not read apart from fields QC flagged."""

import json

import pandas as pd
import tifffile
from typer.testing import CliRunner

from ferroscreen.cli import app

from .conftest import make_nuclei

runner = CliRunner()


def test_failed_images_are_not_counted_as_flagged_by_qc(tmp_path, tiny_model_file):
    folder = tmp_path / "imgs"
    folder.mkdir()
    tifffile.imwrite(folder / "good.tif", make_nuclei(seed=1)[0])
    for name in ("bad1.tif", "bad2.tif", "bad3.tif"):
        (folder / name).write_bytes(b"II*\0 cut short")  # unreadable: failed, not flagged
    out = tmp_path / "out"
    res = runner.invoke(app, ["segment", str(folder), "--model", str(tiny_model_file), "--out", str(out),
                              "--diameter", "model"])
    assert res.exit_code == 0, res.output
    fields = pd.read_csv(out / "fields.csv", keep_default_na=False)
    summary = json.loads((out / "segment.json").read_text())
    flagged = int(((fields["status"] == "done") & (fields["qc_flags"] != "")).sum())
    assert summary["n_failed"] == 3 and summary["n_flagged_fields"] == flagged <= 1
    assert list(fields.loc[fields["status"] == "failed", "qc_flags"]) == ["failed"] * 3  # the column still says it
    word = "field" if flagged == 1 else "fields"
    assert "4 images, 3 could not be read, " in res.output and f", {flagged} {word} flagged by QC" in res.output
