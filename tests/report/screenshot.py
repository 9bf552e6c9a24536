"""Render a report and save a browser screenshot of it (for the README's docs/report_screenshot.png).

Usage::

    .venv/bin/python tests/report/screenshot.py docs/report_screenshot.png              # synthetic screen
    .venv/bin/python tests/report/screenshot.py docs/report_screenshot.png demo_out     # a real results folder

Needs selenium and Debian's chromium + chromium-driver.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import tempfile
from pathlib import Path

from ferroscreen.report import build_report

HERE = Path(__file__).resolve().parent


def synthetic_results(root: Path) -> Path:
    """A realistic one-plate screen from the test fixture builder (no hostile names)."""
    spec = importlib.util.spec_from_file_location("report_fixtures", HERE / "conftest.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.make_results_dir(
        root,
        compounds=("volasertib", "FSC-101", "FSC-103", "FSC-104"),
        replicates=2,
        n_doses=8,
        times=tuple(range(0, 73, 4)),
        seed=3,
    )


def _driver(width: int, height: int):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--hide-scrollbars",
        f"--user-data-dir={tempfile.mkdtemp(prefix='chromium-')}",
        f"--window-size={width},{height}",
        "--force-device-scale-factor=1",
    ):
        options.add_argument(arg)
    options.binary_location = "/usr/bin/chromium"
    return webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)


def screenshot(html: Path, png: Path, width: int = 1400, height: int = 1900, stitch: bool = True) -> Path:
    """Save a screenshot of ``html`` to ``png``.

    With ``stitch`` the image is the page's header and summary followed by the
    first compound's section (the README view); else the top ``height`` pixels.
    """
    from PIL import Image

    driver = _driver(width, height)
    try:
        driver.get(html.resolve().as_uri())
        if not stitch:
            driver.save_screenshot(str(png))
            return png
        full = driver.execute_script("return document.documentElement.scrollHeight")
        driver.set_window_size(width, full + 200)
        rect = "var r = document.getElementById(arguments[0]).getBoundingClientRect(); return [r.top, r.bottom];"
        summary_bottom = driver.execute_script(rect, "summary")[1]
        compounds_top = driver.execute_script(rect, "compounds")[0]
        first_bottom = driver.execute_script(rect, "compound-1")[1]
        with tempfile.TemporaryDirectory() as tmp:
            whole = Path(tmp) / "whole.png"
            driver.save_screenshot(str(whole))
            page = Image.open(whole).convert("RGB")
            top = page.crop((0, 0, page.width, int(summary_bottom) + 16))
            part = page.crop((0, int(compounds_top), page.width, int(first_bottom) + 24))
            out = Image.new("RGB", (page.width, top.height + part.height), "#f4f5f8")
            out.paste(top, (0, 0))
            out.paste(part, (0, top.height))
            png.parent.mkdir(parents=True, exist_ok=True)
            out.save(png, optimize=True)
    finally:
        driver.quit()
    return png


def main() -> None:
    """Command-line entry."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("png", type=Path)
    parser.add_argument("results", type=Path, nargs="?")
    parser.add_argument("--height", type=int, default=1900)
    parser.add_argument("--top-only", action="store_true", help="the top of the page, not summary + first compound")
    args = parser.parse_args()
    png = args.png.resolve()
    with tempfile.TemporaryDirectory() as tmp:
        if args.results:
            results, title = args.results.resolve(), None
        else:  # a short relative folder name, as a user would type it
            os.chdir(tmp)
            results, title = synthetic_results(Path("demo_out")), "Screen report: demo plate"
        html = build_report(results, Path(tmp) / "report.html", title=title)
        print(screenshot(html, png, height=args.height, stitch=not args.top_only))


if __name__ == "__main__":
    main()
