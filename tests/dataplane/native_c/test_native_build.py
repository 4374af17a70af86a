"""build.py: the shared objects are built once per source and gcc, warning-free, atomically;
without gcc the error says what to install."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from cloudlet.dataplane.native import build


def test_sources_compile_without_warnings(tmp_path: Path) -> None:
    gcc = shutil.which("gcc")
    assert gcc
    for src in build.SOURCES.values():
        got = subprocess.run([gcc, *build.CFLAGS, "-Werror", "-o", str(tmp_path / "x.so"), str(src), *build.LIBS],
                             capture_output=True, text=True, check=False)
        assert got.returncode == 0 and got.stderr == "", got.stderr


def test_built_once_and_reused(tmp_path: Path) -> None:
    first = build.native_artifacts.__wrapped__(tmp_path)
    assert first.module.is_file() and first.handoff.is_file()
    stamp = first.module.stat().st_mtime_ns
    again = build.native_artifacts.__wrapped__(tmp_path)
    assert again == first and again.module.stat().st_mtime_ns == stamp
    # Only the finished build directory is left (no half-written temporary ones).
    assert [p.name for p in tmp_path.iterdir()] == [first.module.parent.name]


def test_no_gcc_is_a_build_error_naming_the_packages(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # a PATH with no gcc on it
    with pytest.raises(build.NativeBuildError, match="gcc and libc6-dev"):
        build.native_artifacts.__wrapped__(tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_the_command_line_prebuilds(tmp_path: Path) -> None:
    env = dict(os.environ, XDG_CACHE_HOME=str(tmp_path))
    got = subprocess.run([sys.executable, "-m", "cloudlet.dataplane.native.build"], env=env,
                         capture_output=True, text=True, check=False)
    assert got.returncode == 0, got.stderr
    out = Path(got.stdout.strip())
    assert out.parent == tmp_path / "cloudlet" / "native" and (out / "cloudlet_module.so").is_file()
