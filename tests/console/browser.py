"""Debian's chromium driven by Playwright (no browser download), for the console's browser tests."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# Where the tests also save their screenshots (make screenshots sets docs/screenshots).
SCREENSHOTS = os.environ.get("CONSOLE_SCREENSHOTS")
# A name a DNS-rebinding attacker controls, resolved by the browser to 127.0.0.1.
REBOUND_NAME = "rebind.attacker.test"


def chromium_args() -> list[str]:
    return ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run",
            f"--host-resolver-rules=MAP {REBOUND_NAME} 127.0.0.1"]


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    playwright = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists():
        pytest.skip("chromium is not installed (make install installs it)")
    with playwright.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=chromium_args())
        yield b
        b.close()


def screenshot(page: object, name: str) -> None:
    if SCREENSHOTS:
        Path(SCREENSHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SCREENSHOTS) / f"{name}.png"), full_page=True)  # type: ignore[attr-defined]
