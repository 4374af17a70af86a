"""Caches under a deep data dir put their valkey socket in this user's private, short
directory: per uid, mode 0700, and refused when someone else owns it (/tmp is shared)."""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path

import pytest
from ec_harness import Harness

from cloudlet.core.runtime_dir import SOCKET_PATH_LIMIT, ensure_private_dir, private_socket_dir
from cloudlet.services.elasticache.base import MAX_SOCKET_PATH, ElastiCacheBase

NOBODY = 65534


@pytest.fixture
def deep(tmp_path: Path) -> Path:
    d = tmp_path / ("d" * 90)
    d.mkdir()
    return d


def test_deep_data_dir_cache_runs_on_a_private_socket(deep: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("XDG_RUNTIME_DIR", raising=False)
    h = Harness(deep)
    try:
        h.call("CreateServerlessCache", ServerlessCacheName="deep", Engine="valkey")
        h.wait_status("deep", "available")
        sock = h.cache("deep").socket
        assert len(str(sock)) <= MAX_SOCKET_PATH
        assert sock.parent.name == f"cloudlet-{os.geteuid()}"
        st = os.lstat(sock.parent)
        assert st.st_uid == os.geteuid() and stat.S_IMODE(st.st_mode) == 0o700
        assert h.admin("deep").ping()
        h.call("DeleteServerlessCache", ServerlessCacheName="deep")
        h.wait_status("deep", None)
        assert not sock.exists()
    finally:
        h.close()


def test_shallow_data_dir_keeps_the_socket_in_the_cache_dir(tmp_path: Path) -> None:
    work = tmp_path / "c"
    assert ElastiCacheBase.socket_path(work) == work / "valkey.sock"


def test_xdg_runtime_dir_is_preferred(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))
    assert private_socket_dir(25) == tmp_path / "cloudlet"


def test_a_tmpdir_too_long_for_sockets_falls_back_to_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    long_tmp = tmp_path / ("t" * 100)
    long_tmp.mkdir()
    monkeypatch.delenv("XDG_RUNTIME_DIR", raising=False)
    monkeypatch.setenv("TMPDIR", str(long_tmp))
    monkeypatch.setattr(tempfile, "tempdir", None)  # gettempdir() caches its answer
    chosen = private_socket_dir(25)
    assert chosen == Path("/tmp") / f"cloudlet-{os.geteuid()}"
    assert len(str(chosen / ("x" * 25))) <= SOCKET_PATH_LIMIT


def test_a_loose_directory_of_ours_is_tightened(tmp_path: Path) -> None:
    d = tmp_path / "loose"
    d.mkdir(mode=0o777)
    os.chmod(d, 0o777)
    ensure_private_dir(d)
    assert stat.S_IMODE(os.lstat(d).st_mode) == 0o700


def test_a_symlink_or_file_is_refused(tmp_path: Path) -> None:
    real = tmp_path / "real"
    real.mkdir()
    link = tmp_path / "link"
    link.symlink_to(real)
    with pytest.raises(PermissionError, match="not a directory"):
        ensure_private_dir(link)
    f = tmp_path / "file"
    f.write_text("")
    with pytest.raises(PermissionError, match="not a directory"):
        ensure_private_dir(f)


@pytest.mark.skipif(os.geteuid() != 0, reason="making a directory another user owns needs root")
def test_someone_elses_directory_fails_the_cache_with_the_reason(
    deep: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Another user got there first (here: nobody owns XDG_RUNTIME_DIR/cloudlet).
    runtime = tmp_path / "run"
    (runtime / "cloudlet").mkdir(parents=True)
    os.chown(runtime / "cloudlet", NOBODY, NOBODY)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(runtime))
    with pytest.raises(PermissionError, match=f"belongs to uid {NOBODY}"):
        ensure_private_dir(runtime / "cloudlet")
    h = Harness(deep)
    try:
        h.call("CreateServerlessCache", ServerlessCacheName="hijacked", Engine="valkey")
        h.wait_status("hijacked", "create-failed")
        failure = h.cache("hijacked").failure
        assert f"belongs to uid {NOBODY}" in failure and str(runtime / "cloudlet") in failure
        assert any("reason: " in line and "belongs to uid" in line for line in h.provider.status_lines())
        assert list((runtime / "cloudlet").iterdir()) == []
    finally:
        h.close()


@pytest.mark.skipif(os.geteuid() != 0, reason="making a directory another user owns needs root")
def test_another_users_xdg_runtime_dir_is_not_used(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # `su` without `-` keeps the first user's XDG_RUNTIME_DIR.
    theirs = tmp_path / "run-user"
    theirs.mkdir()
    os.chown(theirs, NOBODY, NOBODY)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(theirs))
    assert private_socket_dir(25).name == f"cloudlet-{os.geteuid()}"
