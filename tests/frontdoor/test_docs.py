"""docs/CONFIGURATION.md lists every CLOUDLET_* variable config.py reads."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_every_setting_is_documented() -> None:
    read = set(re.findall(r'"(CLOUDLET_[A-Z0-9_]+)"', (REPO / "src/cloudlet/config.py").read_text()))
    documented = set(re.findall(r"`(CLOUDLET_[A-Z0-9_]+)`", (REPO / "docs/CONFIGURATION.md").read_text()))
    assert read, "config.py reads no CLOUDLET_* variable?"
    assert read - documented == set(), "undocumented settings"
    assert documented - read == set(), "documented settings config.py does not read"
