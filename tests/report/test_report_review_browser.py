"""The report in headless Chromium, as a reviewer read it: names as typed, no page pushed sideways, printing whole.

Skipped when Debian's ``chromium`` and ``chromium-driver`` (or selenium) are absent.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from ferroscreen.report import build_report

from .chromium import headless_chromium

SPACED, SINGLE = "Cmp  A", "Cmp A"  # differ only in spacing
LONG = "Long-compound-" + "x" * 286  # 300 characters, nowhere to break


@pytest.fixture(scope="module")
def page(tmp_path_factory, make_results) -> Path:
    """A report whose compounds are "Cmp  A", "Cmp A" and a 300-character name."""
    root = make_results(tmp_path_factory.mktemp("names") / "res", compounds=("volasertib", "FSC-101", "FSC-103"))
    for path in root.iterdir():
        if path.suffix in (".csv", ".json"):
            text = path.read_text(encoding="utf-8")
            text = text.replace("volasertib", SPACED).replace("FSC-103", SINGLE).replace("FSC-101", LONG)
            path.write_text(text, encoding="utf-8")
    return build_report(root, root / "report.html")


@pytest.fixture(scope="module")
def screen(tmp_path_factory, page):
    driver = headless_chromium(tmp_path_factory, 1400)
    driver.get(page.resolve().as_uri())
    yield driver
    driver.quit()


def test_names_differing_only_in_spacing_look_different(screen):
    pills = screen.execute_script(
        "return Array.from(document.querySelectorAll('.compound-index a')).map(a => a.innerText)")
    assert SPACED in pills and SINGLE in pills  # was "Cmp A" twice: HTML collapsed the spaces
    headings = screen.execute_script(
        "return Array.from(document.querySelectorAll('article.compound h3')).map(h => h.firstChild.textContent)")
    headings = [h.rstrip() for h in headings]  # the space before a badge
    assert SPACED in headings and SINGLE in headings
    shown = screen.execute_script(
        "return Array.from(document.querySelectorAll('article.compound h3')).map(h => h.innerText)")
    assert any(h.startswith(SPACED) for h in shown) and any(h.startswith(SINGLE + " ") or h == SINGLE for h in shown)
    cells = screen.execute_script(
        "return Array.from(document.querySelectorAll('table[id^=ranking-table] td a')).map(a => a.innerText)")
    assert SPACED in cells and SINGLE in cells


def test_a_long_name_does_not_push_the_page_sideways(screen):
    sizes = screen.execute_script(
        "var d = document.documentElement; return [d.scrollWidth, d.clientWidth];")
    assert sizes[0] <= sizes[1]  # was: the pill and the section heading ran 2000 px past the window
    wide = screen.execute_script("""
        var w = document.documentElement.clientWidth, out = [];
        document.querySelectorAll('body *').forEach(function (e) {
          if (e.getBoundingClientRect().right > w + 1 && !e.closest('.table-wrap')) { out.push(e.tagName); }
        });
        return out;""")
    assert wide == []
    clipped = screen.execute_script("""
        return Array.from(document.querySelectorAll('#ranking-table-1 .clip')).map(function (s) {
          return [s.getAttribute('title'), s.getBoundingClientRect().width]; });""")
    assert clipped and clipped[0][0] == LONG and clipped[0][1] < 400  # clipped, the whole name in its title
    assert screen.execute_script("return document.getElementById('top-hits').closest('.table-wrap') !== null")


def test_print_fits_tables_to_the_page_and_opens_the_provenance(tmp_path_factory, page):
    driver = headless_chromium(tmp_path_factory, 650)
    try:
        driver.get(page.resolve().as_uri())
        driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": "print"})
        time.sleep(0.3)
        cut = driver.execute_script("""
            var out = [];
            document.querySelectorAll('.table-wrap, pre').forEach(function (e) {
              if (e.scrollWidth > e.clientWidth + 2 || e.scrollHeight > e.clientHeight + 2) {
                var t = e.querySelector('table'); out.push((t ? t.id : 'pre') + ' ' + e.scrollWidth + '>' + e.clientWidth);
              }
            });
            return out;""")
        assert cut == []  # was: ranking and fits tables cut at the page edge, pre capped at 24rem
        closed = driver.execute_script(
            "window.dispatchEvent(new Event('beforeprint'));"
            "return document.querySelectorAll('details:not([open])').length;")
        assert closed == 0  # was: the provenance printed collapsed
        reopened = driver.execute_script(
            "window.dispatchEvent(new Event('afterprint'));"
            "return document.querySelectorAll('details:not([open])').length;")
        assert reopened > 0  # closed again after printing, as they were
    finally:
        driver.quit()
