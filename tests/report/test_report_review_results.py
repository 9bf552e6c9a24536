"""A fit of a tidy table gets its curves drawn; a fit whose wells table moved gets one note and its exclusions."""

from __future__ import annotations

import json
import re

import pandas as pd

from ferroscreen.report import build_report
from ferroscreen.report.results import load_results

FIT = {"model": "ll4", "hill": 2.98, "bottom": 0.48, "top": 7.79, "ec50": 3.06, "ec50_lo": 2.69, "ec50_hi": 3.47,
       "dose_min": 0.94, "dose_max": 30.0, "call": "active", "q_value": 1e-6}


def _tidy_fit(folder):
    folder.mkdir()
    pd.DataFrame([{"curve": "ryegrass", "readout": "response", **FIT}]).to_csv(folder / "fits.csv", index=False)
    (folder / "provenance.json").write_text(json.dumps({"input": {"path": "ryegrass.csv"},
                                                        "fit": {"input_kind": "tidy"}}))
    return folder


def test_readout_of_no_death_mode_gets_a_dose_response_figure(tmp_path):
    out = build_report(_tidy_fit(tmp_path / "v"), tmp_path / "r.html")
    html = out.read_text(encoding="utf-8")
    assert re.search(r'<img src="data:image/png;base64,[^"]+" alt="dose-response of ryegrass, readouts response"',
                     html)  # was: no figure (the readout "response" maps to no death mode)
    assert "wells.csv has no QC flag columns" not in html  # there is no wells.csv at all
    assert "No wells table: no flagged wells to show." in html


def test_moved_wells_table_gives_one_note_and_keeps_the_fits_exclusions(tmp_path):
    folder = tmp_path / "fit"
    folder.mkdir()
    pd.DataFrame([{"curve": "FSC-101", "readout": "frac_apoptosis", **FIT}]).to_csv(folder / "fits.csv", index=False)
    pd.DataFrame([{"plate": "P1", "well": "A04", "compound": "FSC-101", "role": "sample",
                   "exclude": '<bubble> & "dust"'},
                  {"plate": "P1", "well": "A05", "compound": "FSC-101", "role": "sample", "exclude": ""}]
                 ).to_csv(folder / "readouts.csv", index=False)
    gone = tmp_path / "moved" / "wells.csv"
    (folder / "provenance.json").write_text(json.dumps({"input": {"path": str(gone), "sha256": "0" * 64},
                                                        "fit": {"input_kind": "wells"}}))
    notes = load_results(folder).notes
    about_wells = [n for n in notes if "time courses and plate maps not shown" in n]
    assert len(about_wells) == 1 and str(gone) in about_wells[0]  # was two notes, the second "No wells.csv"
    excluded = [n for n in notes if "excluded well" in n]
    assert len(excluded) == 1 and 'P1 A04 (<bubble> & "dust")' in excluded[0]  # was gone with wells.csv
    html = build_report(folder, tmp_path / "r.html").read_text(encoding="utf-8")
    assert "P1 A04 (&lt;bubble&gt; &amp; &#34;dust&#34;)" in html and "<bubble>" not in html
