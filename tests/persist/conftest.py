"""`cloudlets(data_dir, **env)` starts a cloudlet on DATA_DIR (again, for restarts); every
one it started is stopped at the test's end, whatever step failed."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from cloudlet_process import CloudletProcess


@pytest.fixture
def cloudlets() -> Iterator[Callable[..., Any]]:
    started: list[Any] = []

    def start(data_dir: Path, **env: str) -> Any:
        server = CloudletProcess(data_dir, extra_env=env or None)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()
