"""A fit and report of a plate still being imaged say so, and the fit's notes reach provenance.json and the report.

The reported cases: ``fit`` took the newest scan as its endpoint though export's wells.csv marks it
provisional (classified without the later scans the model reads: it changes when they land), and
said nothing; its notes ("176 well(s) have no reading at the endpoint scan ...") were printed but
recorded nowhere, so a report made mid-scan silently dropped half the plate; the report never said
the data end with provisional scans.
"""

from __future__ import annotations

import html
import json
import re

import pandas as pd

from ferroscreen.hashing import file_sha256
from ferroscreen.report import build_report

from ..conftest import main_in_process
from .conftest import make_results_dir

TIMES = (0, 12, 24, 36)


def _wells(tmp_path, provisional_from: float | None = 36.0):
    """A wells.csv with its layout columns (one compound, references, vehicles) at 0-36 h.

    Its scans from ``provisional_from`` on are marked provisional; A01 has no reading at 36 h.
    """
    made = make_results_dir(tmp_path / "made", compounds=("volasertib",), n_doses=5, times=TIMES)
    wells = pd.read_csv(made / "wells.csv")
    if provisional_from is not None:
        wells["provisional"] = (wells["time_h"] >= provisional_from).astype(int)
    unread = (wells["well"] == wells["well"].iloc[0]) & (wells["time_h"] == 36)
    wells.loc[unread, [c for c in wells.columns if c == "n_cells" or c.startswith("frac_")]] = float("nan")
    (tmp_path / "in").mkdir()
    wells.to_csv(tmp_path / "in" / "wells.csv", index=False)
    return tmp_path / "in" / "wells.csv"


def _summary(page: str) -> str:
    """The text of the report's summary section, tags and entities resolved."""
    part = page[page.index('<section id="summary"'):page.index('<section id="plate-qc"')]
    return html.unescape(re.sub(r"<[^>]+>", " ", part))


def _fit(args, monkeypatch, capsys) -> str:
    code, out, err = main_in_process(["fit", *args], monkeypatch, capsys)
    assert code == 0, err
    return out


def test_a_provisional_endpoint_is_noted_recorded_and_shown(tmp_path, monkeypatch, capsys):
    out = _fit([_wells(tmp_path), "--out", tmp_path / "fit"], monkeypatch, capsys)
    said = [line for line in out.splitlines() if " provisional (" in line]
    assert len(said) == 1 and "the endpoint scan (36 h) is provisional" in said[0], out
    assert "--endpoint-h 24 takes the newest scan read in full" in said[0]
    unread = next(line for line in out.splitlines() if "no reading at the endpoint scan" in line)
    notes = json.loads((tmp_path / "fit" / "provenance.json").read_text())["notes"]
    assert said[0].removeprefix("note: ") in notes and unread.removeprefix("note: ") in notes
    page = build_report(tmp_path / "fit", tmp_path / "report.html").read_text(encoding="utf-8")
    summary = _summary(page)
    assert "the data end with provisional scans (36 h" in summary
    assert "the fit's endpoint (36 h) is one of them" in summary
    assert f"Fit: {unread.removeprefix('note: ')}" in summary  # the wells the endpoint lacks, in the report too


def test_an_earlier_endpoint_is_not_provisional_but_the_courses_include_those_scans(tmp_path, monkeypatch, capsys):
    out = _fit([_wells(tmp_path), "--out", tmp_path / "fit", "--endpoint-h", "24"], monkeypatch, capsys)
    said = [line for line in out.splitlines() if " provisional (" in line]
    assert len(said) == 1 and "scan(s) 36 h are provisional" in said[0], out
    assert "the endpoint (24 h) is not, but peaks and AUCs include them" in said[0]


def test_a_table_without_provisional_scans_gets_no_such_note(tmp_path, monkeypatch, capsys):
    for name, start in (("none", None), ("zero", 99.0)):  # no column; a finished plate's column of 0s
        out = _fit([_wells(tmp_path / name, start), "--out", tmp_path / name / "fit"], monkeypatch, capsys)
        assert " provisional (" not in out
        page = build_report(tmp_path / name / "fit", tmp_path / name / "r.html").read_text(encoding="utf-8")
        assert "provisional scans" not in _summary(page) and "is provisional" not in _summary(page)


def test_the_exports_notes_reach_provenance_and_the_report_escaped(tmp_path, monkeypatch, capsys):
    csv = _wells(tmp_path, None)
    note = "s.h5: 2 of its 80 frames failed, e.g. A01 f1 at 12 h (<b>unreadable</b> image)"
    (csv.parent / "export.json").write_text(json.dumps({"wells_csv_sha256": file_sha256(csv), "notes": [note],
                                                        "scoring": {}, "store": "s.h5"}))
    _fit([csv, "--out", tmp_path / "fit"], monkeypatch, capsys)
    notes = json.loads((tmp_path / "fit" / "provenance.json").read_text())["notes"]
    assert f"export: {note}" in notes
    page = build_report(tmp_path / "fit", tmp_path / "report.html").read_text(encoding="utf-8")
    assert "<b>unreadable</b>" not in page and "&lt;b&gt;unreadable&lt;/b&gt;" in page
    assert f"Fit: export: {note}" in _summary(page)


def test_a_long_list_of_notes_is_collapsed(tmp_path):
    root = make_results_dir(tmp_path / "r", compounds=("volasertib",), n_doses=5)
    prov = json.loads((root / "provenance.json").read_text())
    prov["notes"] = [f"note number {i}" for i in range(12)]
    (root / "provenance.json").write_text(json.dumps(prov))
    page = build_report(root, tmp_path / "report.html").read_text(encoding="utf-8")
    shown, _, folded = page[page.index('<section id="summary"'):].partition('<details class="more-notes">')
    assert "Fit: note number 0" in shown and "Fit: note number 7" in shown
    assert "Fit: note number 11" in folded and "Fit: note number 11" not in shown
    assert re.search(r"<summary>\d+ more notes</summary>", folded)
