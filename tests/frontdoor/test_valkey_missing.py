"""A machine without valkey-server 8: `cloudlet start` says so (with the command to run
as root) and still serves every other service; a cache then goes create-failed and
`cloudlet status` shows why."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import boto3

from cloudlet.services.elasticache.valkey_binary import INSTALL_AS_ROOT, valkey_problem

SRC = Path(__file__).resolve().parents[2] / "src"


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _cloudlet(*args: str, data_dir: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "CLOUDLET_"))}
    base.update(env, PYTHONPATH=str(SRC))
    return subprocess.run([sys.executable, "-m", "cloudlet", *args, "--data-dir", str(data_dir)],
                          env=base, capture_output=True, text=True, timeout=60)


def _fake_valkey(tmp_path: Path, version_line: str) -> Path:
    exe = tmp_path / "fake-valkey-server"
    exe.write_text(f"#!/bin/sh\necho '{version_line}'\n")
    exe.chmod(0o755)
    return exe


def test_installed_valkey_passes_the_check() -> None:
    assert valkey_problem("valkey-server") is None


def test_problems_are_named(tmp_path: Path) -> None:
    assert "is not on PATH" in (valkey_problem("no-such-valkey-server") or "")
    assert "does not exist" in (valkey_problem(str(tmp_path / "nope")) or "")
    old = _fake_valkey(tmp_path, "Valkey server v=7.2.5 sha=00000000:0 malloc=libc bits=64")
    assert "is valkey 7, cloudlet needs valkey 8" in (valkey_problem(str(old)) or "")
    assert "does not report a valkey version: hello" in (valkey_problem(str(_fake_valkey(tmp_path, "hello"))) or "")
    new = _fake_valkey(tmp_path, "Valkey server v=9.0.0 sha=00000000:0")
    assert valkey_problem(str(new)) is None


def test_start_without_valkey_warns_and_caches_fail_with_the_reason(tmp_path: Path) -> None:
    data = tmp_path / "data"
    port = _free_port()
    missing = str(tmp_path / "bin" / "valkey-server")
    env = {"CLOUDLET_VALKEY_SERVER": missing}
    r = _cloudlet("start", "-d", "--port", str(port), data_dir=data, env=env)
    try:
        assert r.returncode == 0, r.stderr
        assert "Traceback" not in r.stderr
        assert f"cloudlet: {missing} does not exist" in r.stderr
        assert f"Run as root: {INSTALL_AS_ROOT}" in r.stderr
        ec = boto3.client("elasticache", endpoint_url=f"http://127.0.0.1:{port}", region_name="us-east-1",
                          aws_access_key_id="AKIAIOSFODNN7EXAMPLE",
                          aws_secret_access_key="wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
        created = ec.create_serverless_cache(ServerlessCacheName="novalkey", Engine="valkey")
        assert created["ServerlessCache"]["Status"] == "creating"
        deadline = time.monotonic() + 20
        status = "creating"
        while status == "creating" and time.monotonic() < deadline:
            status = ec.describe_serverless_caches(ServerlessCacheName="novalkey")["ServerlessCaches"][0]["Status"]
            time.sleep(0.1)
        assert status == "create-failed"
        st = _cloudlet("status", data_dir=data, env=env)
        line = next(x for x in st.stdout.splitlines() if " novalkey " in x)
        assert "create-failed" in line and f"reason: cannot run {missing}" in line
        # Every other service answers as usual.
        sts = boto3.client("sts", endpoint_url=f"http://127.0.0.1:{port}", region_name="us-east-1",
                           aws_access_key_id="AKIAIOSFODNN7EXAMPLE",
                           aws_secret_access_key="wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
        assert sts.get_caller_identity()["Account"] == "123456789012"
        ec.delete_serverless_cache(ServerlessCacheName="novalkey")
    finally:
        stop = _cloudlet("stop", data_dir=data, env=env)
        assert stop.returncode == 0, stop.stderr
