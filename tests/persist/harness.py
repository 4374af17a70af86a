"""The root conftest's CloudletProcess, for tests that restart a cloudlet on the same data dir.

Loaded from its file: several test packages have a conftest.py, so `import conftest`
names whichever was imported first.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

_spec = importlib.util.spec_from_file_location("_cloudlet_root_conftest", Path(__file__).parents[1] / "conftest.py")
assert _spec is not None and _spec.loader is not None
_root = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_root)

CloudletProcess = _root.CloudletProcess
SRC: Path = _root.SRC
