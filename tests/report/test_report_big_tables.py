"""Reports of screens with many compounds: a filter box above long tables, and a left-out count the summary matches."""

from __future__ import annotations

import re

import pandas as pd
import pytest

from ferroscreen.report.build import build_report, left_out_line

from . import conftest
from .chromium import headless_chromium
from .conftest import EVIL

MANY = ("volasertib", "FSC-101", EVIL, *(f"CPD-{i:02d}" for i in range(1, 22)))  # 24: a 96-well plate


@pytest.fixture(scope="module")
def many_results(tmp_path_factory, make_results):
    modes = ("apoptosis", "ferroptosis", "necroptosis")
    library = {**conftest.LIBRARY, **{name: (modes[i % 3], 1e-8 * 1.5 ** i, 1.2, 0.8, 4, 0.1)
                                      for i, name in enumerate(MANY[3:])}}
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(conftest, "LIBRARY", library)
        root = make_results(tmp_path_factory.mktemp("many"), compounds=MANY, replicates=1, n_doses=3)
    # a ranking of every compound in every mode (three doses call few curves active), made-up scores
    rows = [dict(mode=m, rank=k + 1, compound=name, score=round(2 - 0.05 * k, 3), pEC50=7.0, Emax=0.8,
                 selectivity=0.5, T50_h=24.0) for m in modes for k, name in enumerate(MANY)]
    pd.DataFrame(rows).to_csv(root / "ranking.csv", index=False)
    return root


def _summary_count(html: str, label: str) -> int:
    return int(re.search(rf'class="num">(\d+)</span><span class="lbl">{label}<', html).group(1))


def test_the_left_out_line_counts_compounds_as_the_summary_does_and_references_apart(many_results, tmp_path):
    # before: "30 lower-ranked compounds left out" counted the 3 mode references as compounds
    out = build_report(many_results, tmp_path / "report.html", max_compounds=5)
    html = out.read_text()
    n_compounds, n_refs = _summary_count(html, "compounds"), _summary_count(html, "mode references")
    assert (n_compounds, n_refs) == (len(MANY), 3)
    sections = re.findall(r'<article class="compound" id="compound-\d+">\s*<h3>([^<]*)', html)
    assert len(sections) == 5
    shown_refs = sum(name in ("staurosporine", "RSL3", "TNF+SMAC+zVAD") for name in sections)
    line = re.search(r'<p class="muted">(\d+ lower-ranked [^<]*left out[^<]*)</p>', html).group(1)
    left = int(line.split()[0])
    assert left == n_compounds - (5 - shown_refs)  # the compounds without a section, as the summary counts them
    assert line.startswith(f"{left} lower-ranked compounds and {3 - shown_refs} mode references left out")


def test_the_left_out_line_names_each_kind_once():
    by = "lower-ranked"
    assert left_out_line({"compounds": 1, "references": 0, "pos_ctrls": 0}, by).startswith(
        "1 lower-ranked compound left out (see fits.csv")
    assert left_out_line({"compounds": 0, "references": 1, "pos_ctrls": 2}, by).startswith(
        "1 lower-ranked mode reference and 2 positive controls left out")
    assert left_out_line({"compounds": 0, "references": 0, "pos_ctrls": 0}, by) == ""


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    driver = headless_chromium(tmp_path_factory, console_log=True)
    yield driver
    driver.quit()


def _visible_names(table, column: int) -> list[str]:
    return [row.find_elements("tag name", "td")[column].get_attribute("data-sort")
            for row in table.find_elements("css selector", "tbody tr") if row.is_displayed()]


def test_a_long_table_has_a_filter_box_that_keeps_the_sort(browser, many_results, tmp_path):
    # before: a ranking of hundreds of compounds had no way to find one but scrolling
    out = build_report(many_results, tmp_path / "report.html")
    html = out.read_text()
    assert html.count('class="table-filter"') >= 1 and "http" not in html.split("<script>", 1)[-1][:200]
    browser.get(out.resolve().as_uri())
    table = browser.find_element("id", "ranking-table-1")
    box = browser.find_element("css selector", "#ranking-1 .table-filter input")
    headers = table.find_elements("css selector", "thead th")
    column = next(i for i, h in enumerate(headers) if h.text.strip().startswith("compound"))
    everyone = _visible_names(table, column)
    assert len(everyone) > 20
    box.send_keys("cpd-1")  # any case: CPD-10 to CPD-19
    shown = _visible_names(table, column)
    assert sorted(shown) == sorted(n for n in everyone if "cpd-1" in n.lower()) and 0 < len(shown) < len(everyone)
    count = browser.find_element("css selector", "#ranking-1 .filter-count").text
    assert count == f"{len(shown)} of {len(everyone)} rows"
    headers[column].click()  # sorting keeps the filter
    headers[column].click()
    assert _visible_names(table, column) == sorted(shown, key=str.lower, reverse=True)
    box.clear()
    box.send_keys("<script> alert")  # the hostile name is found as text, every word in the row
    assert _visible_names(table, column) == [EVIL]
    box.send_keys(" nothing-like-this")
    assert _visible_names(table, column) == []
    assert browser.find_element("css selector", "#ranking-1 .filter-count").text == f"0 of {len(everyone)} rows"
    for _ in range(len(box.get_attribute("value"))):
        box.send_keys("\b")
    assert len(_visible_names(table, column)) == len(everyone)
    severe = [e for e in browser.get_log("browser") if e.get("level") == "SEVERE"]
    assert not severe, severe
