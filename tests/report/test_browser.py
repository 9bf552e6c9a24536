"""The report in headless Chromium: no console errors, key sections, sortable tables, a screenshot.

Skipped when Debian's ``chromium`` and ``chromium-driver`` (or selenium) are absent.
"""

from __future__ import annotations

import pytest

from .chromium import headless_chromium

KEY_IDS = (
    "summary",
    "top-hits",
    "plates",
    "plate-qc",
    "qc-table",
    "flagged-table",
    "ranking",
    "ranking-table-1",
    "csv-links",
    "compounds",
    "compound-1",
    "provenance",
    "provenance-table",
)


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    driver = headless_chromium(tmp_path_factory, console_log=True)
    yield driver
    driver.quit()


def _column(table, index):
    return [
        row.find_elements("tag name", "td")[index].get_attribute("data-sort")
        for row in table.find_elements("css selector", "tbody tr")
    ]


def _click_header(browser, table_id: str, name: str):
    """Click the header of ``table_id`` whose text starts with ``name``: (table, headers, its column index)."""
    table = browser.find_element("id", table_id)
    headers = table.find_elements("css selector", "thead th")
    index = next(i for i, h in enumerate(headers) if h.text.strip().startswith(name))
    headers[index].click()
    return table, headers, index


def test_report_in_headless_chromium(browser, report_file, tmp_path):
    browser.get(report_file.resolve().as_uri())
    assert browser.title.startswith("Screen report")
    for element_id in KEY_IDS:
        assert browser.find_element("id", element_id).is_displayed(), element_id
    images = browser.find_elements("css selector", "img")
    assert images and all(
        browser.execute_script("return arguments[0].complete && arguments[0].naturalWidth > 0", img) for img in images
    )
    # the hostile compound name is shown as text, and no alert fired
    assert "<script>alert(1)</script>&\"'" in browser.find_element("id", "compounds").text

    table, headers, score = _click_header(browser, "ranking-table-1", "score")
    ascending = [float(v) for v in _column(table, score)]
    assert ascending == sorted(ascending)
    assert headers[score].get_attribute("aria-sort") == "ascending"
    headers[score].click()
    descending = [float(v) for v in _column(table, score)]
    assert descending == sorted(descending, reverse=True)
    compound = next(i for i, h in enumerate(headers) if h.text.strip().startswith("compound"))
    headers[compound].click()
    names = _column(table, compound)
    assert names == sorted(names, key=str.lower)

    severe = [e for e in browser.get_log("browser") if e.get("level") == "SEVERE"]
    assert not severe, severe
    shot = tmp_path / "report.png"
    assert browser.save_screenshot(str(shot)) and shot.stat().st_size > 10_000


def test_knockdown_report_in_headless_chromium(browser, tmp_path):
    """The hits report: no console errors, every image decodes, the gene table sorts."""
    from ferroscreen.analysis.hits_run import run_hits
    from ferroscreen.report import build_report

    from .test_knockdown_report import EVIL, _screen

    _screen(tmp_path)
    run_hits(tmp_path / "wells.csv", tmp_path / "hits", layout_path=tmp_path / "layout.csv", plots=False)
    page = build_report(tmp_path / "hits", tmp_path / "kd.html")
    browser.get(page.resolve().as_uri())
    assert browser.title.startswith("Knockdown screen")
    images = browser.find_elements("css selector", "img")
    assert len(images) == 6 and all(
        browser.execute_script("return arguments[0].complete && arguments[0].naturalWidth > 0", img) for img in images
    )
    assert EVIL in browser.find_element("id", "hits").text
    table, _, fc = _click_header(browser, "genes-table", "fc_count")
    values = [float(v) for v in _column(table, fc)]
    assert values == sorted(values)
    severe = [e for e in browser.get_log("browser") if e.get("level") == "SEVERE"]
    assert not severe, severe
