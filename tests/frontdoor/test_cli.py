"""The `cloudlet` command: start -d, status, env, hosts, ca, stop (leaving nothing behind)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from cloudlet.cli import descendants, pid_alive, terminate_tree

SRC = Path(__file__).resolve().parents[2] / "src"


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def cloudlet(*args: str, data_dir: Path, timeout: float = 60,
             settings: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "CLOUDLET_"))}
    env["PYTHONPATH"] = str(SRC)
    env.update(settings or {})
    return subprocess.run([sys.executable, "-m", "cloudlet", *args, "--data-dir", str(data_dir)],
                          check=False, env=env, capture_output=True, text=True, timeout=timeout)


def test_start_status_env_stop(tmp_path: Path) -> None:
    data = tmp_path / "data"
    port, console_port = free_port(), free_port()
    r = cloudlet("start", "-d", "--port", str(port), data_dir=data,
                 settings={"CLOUDLET_CONSOLE_PORT": str(console_port)})
    assert r.returncode == 0, r.stderr
    assert f"http://127.0.0.1:{port}" in r.stdout and "healthy in" in r.stdout
    info = json.loads((data / "cloudlet.pid").read_text())
    pid = info["pid"]
    try:
        assert pid_alive(pid)
        assert os.getpgid(pid) == pid  # it leads its own process group
        # A second start on the same data dir refuses.
        again = cloudlet("start", "-d", "--port", str(free_port()), data_dir=data)
        assert again.returncode == 1 and "already running" in again.stderr

        st = cloudlet("status", data_dir=data)
        assert st.returncode == 0, st.stdout + st.stderr
        assert f"endpoint: http://127.0.0.1:{port}" in st.stdout
        assert f"console:  http://127.0.0.1:{console_port}/" in st.stdout
        for name in ("iam", "sts", "ec2", "elasticache", "lambda", "logs"):
            assert f"  {name}: " in st.stdout

        env = cloudlet("env", data_dir=data).stdout.splitlines()
        assert f"export AWS_ENDPOINT_URL=http://127.0.0.1:{port}" in env
        assert "export AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE" in env
        assert "export AWS_DEFAULT_REGION=us-east-1" in env
        assert any(line.startswith("export AWS_SECRET_ACCESS_KEY=") for line in env)

        # The env output works for the stock CLI as is.
        shell = f'eval "$({sys.executable} -m cloudlet env --data-dir {data})" && aws sts get-caller-identity'
        cp = subprocess.run(["bash", "-c", shell], check=False, capture_output=True, text=True, timeout=60,
                            env={**os.environ, "PYTHONPATH": str(SRC)})
        assert "InvalidClientTokenId" not in cp.stderr and "SignatureDoesNotMatch" not in cp.stderr

        assert cloudlet("hosts", data_dir=data).returncode == 0
        ca = cloudlet("ca", data_dir=data)
        assert ca.stdout.strip() == str(data / "ca" / "ca.pem")
        tree = [pid, *descendants(pid)]
    finally:
        stop = cloudlet("stop", data_dir=data)
    assert stop.returncode == 0 and "stopped" in stop.stdout
    for p in tree:
        assert not pid_alive(p), f"process {p} survived cloudlet stop"
    assert not (data / "cloudlet.pid").exists()
    st = cloudlet("status", data_dir=data)
    assert st.returncode == 3 and "not running" in st.stdout


def test_start_fails_cleanly_on_busy_port(tmp_path: Path, cloudlet_server) -> None:
    r = cloudlet("start", "-d", "--port", str(cloudlet_server.port), data_dir=tmp_path / "d", timeout=60)
    assert r.returncode == 1
    assert "failed to start" in r.stderr


def test_terminate_tree_kills_stubborn_descendants(tmp_path: Path) -> None:
    # A parent whose child ignores SIGTERM and whose grandchild left its process group.
    script = (
        "import os, subprocess, sys, time\n"
        "subprocess.Popen(['bash', '-c', 'trap \"\" TERM; sleep 300 & wait'])\n"
        "subprocess.Popen(['sleep', '300'], start_new_session=True)\n"
        "time.sleep(300)\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", script], start_new_session=True)
    deadline = time.monotonic() + 10
    while len(descendants(proc.pid)) < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    tree = descendants(proc.pid)
    assert len(tree) >= 3
    terminate_tree(proc.pid, timeout=2)
    proc.wait(timeout=5)
    for p in tree:
        assert not pid_alive(p), f"descendant {p} survived"


@pytest.mark.parametrize("args", [["bogus"], []])
def test_bad_command_line(args: list[str], tmp_path: Path) -> None:
    r = cloudlet(*args, data_dir=tmp_path) if args else subprocess.run(
        [sys.executable, "-m", "cloudlet"], check=False, capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(SRC)})
    assert r.returncode == 2
    assert "usage: cloudlet" in r.stderr


def test_stop_takes_caches_valkey_servers_down(tmp_path: Path) -> None:
    import boto3

    data = tmp_path / "data"
    port = free_port()
    r = cloudlet("start", "-d", "--port", str(port), data_dir=data)
    assert r.returncode == 0, r.stderr
    pid = json.loads((data / "cloudlet.pid").read_text())["pid"]
    try:
        ec = boto3.client("elasticache", endpoint_url=f"http://127.0.0.1:{port}", region_name="us-east-1",
                          aws_access_key_id="AKIAIOSFODNN7EXAMPLE",
                          aws_secret_access_key="wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
        ec.create_serverless_cache(ServerlessCacheName="cli-stop", Engine="valkey")
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            cache = ec.describe_serverless_caches(ServerlessCacheName="cli-stop")["ServerlessCaches"][0]
            if cache["Status"] == "available":
                break
            time.sleep(0.2)
        assert cache["Status"] == "available"
        st = cloudlet("status", data_dir=data)
        assert cache["Endpoint"]["Address"] in st.stdout or "cli-stop" in st.stdout, st.stdout
        tree = descendants(pid)
        cmdlines = []
        for p in tree:
            try:
                cmdlines.append(Path(f"/proc/{p}/cmdline").read_bytes().replace(b"\0", b" ").decode())
            except OSError:
                pass
        assert any("valkey-server" in c for c in cmdlines), cmdlines
        ca = cloudlet("ca", data_dir=data)
        assert ca.returncode == 0 and Path(ca.stdout.strip()).is_file()
    finally:
        stop = cloudlet("stop", data_dir=data)
    assert stop.returncode == 0
    for p in [pid, *tree]:
        assert not pid_alive(p), f"process {p} survived cloudlet stop"
