"""Headless Chromium via selenium, for the report's browser test and the README screenshot.

Chromium and chromedriver come from the Debian packages ``chromium`` and ``chromium-driver``
(scripts/test installs them). Missing binaries raise :class:`BrowserUnavailable`: the test turns
that into a failure that says so, never a skip.

    python -m tests.support.browser screenshot REPORT.html OUT.png [--width 1280 --height 900]
"""
from __future__ import annotations

import argparse
import os
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

CHROMIUM = os.environ.get("COHORTPLAN_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("COHORTPLAN_CHROMEDRIVER", "/usr/bin/chromedriver")


class BrowserUnavailable(RuntimeError):
    pass


@contextmanager
def headless_chromium(width: int = 1280, height: int = 900) -> Iterator["object"]:
    missing = [p for p in (CHROMIUM, CHROMEDRIVER) if not Path(p).exists()]
    if missing:
        raise BrowserUnavailable(f"missing {', '.join(missing)}: run scripts/test, which installs the Debian packages "
                                 "'chromium chromium-driver' (as root: apt-get install -y chromium chromium-driver)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     f"--window-size={width},{height}", "--hide-scrollbars", "--force-device-scale-factor=1"):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    try:  # the window size includes browser chrome: fix the page's viewport itself
        driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                               {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False})
        yield driver
    finally:
        driver.quit()


def screenshot(html: Path, png: Path, width: int = 1280, height: int = 900) -> Path:
    """The first screen of ``html`` as a PNG."""
    with headless_chromium(width, height) as driver:
        driver.get(Path(html).resolve().as_uri())
        png.parent.mkdir(parents=True, exist_ok=True)
        driver.save_screenshot(str(png))
    return png


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    shot = sub.add_parser("screenshot", help="save the first screen of an HTML file as PNG")
    shot.add_argument("html", type=Path)
    shot.add_argument("png", type=Path)
    shot.add_argument("--width", type=int, default=1280)
    shot.add_argument("--height", type=int, default=900)
    args = parser.parse_args()
    print(screenshot(args.html, args.png, args.width, args.height))


if __name__ == "__main__":
    main()
