"""Fixtures of the native data plane's C tests (see native_harness.py)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from cloudlet.dataplane.native.build import NativeArtifacts, native_artifacts

from .native_harness import NativeValkey


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    if shutil.which("gcc") is None:
        for item in items:
            if "native_c" in str(item.fspath):
                item.add_marker(pytest.mark.skip(reason="the native data plane is built with gcc"))


@pytest.fixture(scope="session")
def artifacts(tmp_path_factory: pytest.TempPathFactory) -> NativeArtifacts:
    return native_artifacts(tmp_path_factory.mktemp("native-build"))


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory, artifacts: NativeArtifacts) -> Iterator[NativeValkey]:
    c = NativeValkey(tmp_path_factory.mktemp("native"), artifacts)
    try:
        c.wait_ready()
        yield c
    finally:
        c.stop()


@pytest.fixture
def own_cache(tmp_path: Path, artifacts: NativeArtifacts) -> Iterator[NativeValkey]:
    """A cache of the test's own, for tests that break it."""
    c = NativeValkey(tmp_path, artifacts)
    try:
        c.wait_ready()
        yield c
    finally:
        c.stop()
