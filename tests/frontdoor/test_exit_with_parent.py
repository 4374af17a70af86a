"""CLOUDLET_EXIT_WITH_PARENT: a server started by a harness that is then SIGKILLed (no cleanup
runs) stops by itself, as on `cloudlet stop`; without the option it outlives the harness."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from cloudlet_process import SRC, free_port, terminate_tree
from process_helpers import wait_gone

# The harness: starts `cloudlet start` in a session of its own, as the fixtures do, says the
# server's pid and then waits to be killed.
HARNESS = r"""
import subprocess, sys
proc = subprocess.Popen([sys.executable, "-m", "cloudlet", "start", "--port", sys.argv[1], "--data-dir", sys.argv[2]],
                        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=open(sys.argv[3], "wb"),
                        start_new_session=True)
print(proc.pid, flush=True)
proc.wait()
"""


def _healthy(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/_cloudlet/health", timeout=1) as r:
            return r.status == 200
    except OSError:
        return False


def _harness(tmp_path: Path, exit_with_parent: bool) -> tuple[subprocess.Popen[str], int, int, Path]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "CLOUDLET_"))}
    env["PYTHONPATH"] = str(SRC)
    env["CLOUDLET_CONSOLE_PORT"] = "0"
    if exit_with_parent:
        env["CLOUDLET_EXIT_WITH_PARENT"] = "1"
    port, data = free_port(), tmp_path / "data"
    harness = subprocess.Popen([sys.executable, "-c", HARNESS, str(port), str(data), str(tmp_path / "server.err")],
                               env=env, stdout=subprocess.PIPE, text=True)
    assert harness.stdout is not None
    server = int(harness.stdout.readline())
    deadline = time.monotonic() + 30
    while not _healthy(port):
        assert time.monotonic() < deadline, (tmp_path / "server.err").read_text()
        time.sleep(0.05)
    return harness, server, port, data


def test_server_stops_when_its_harness_is_killed(tmp_path: Path) -> None:
    harness, server, _, data = _harness(tmp_path, exit_with_parent=True)
    assert json.loads((data / "cloudlet.pid").read_text())["pid"] == server
    harness.send_signal(signal.SIGKILL)
    harness.wait()
    try:
        assert wait_gone(server, timeout=15), "the server outlived its SIGKILLed harness"
    finally:
        terminate_tree(server)
    # Stopped as on SIGTERM, not killed: it cleaned up after itself.
    assert not (data / "cloudlet.pid").exists()
    assert "Traceback" not in (tmp_path / "server.err").read_text()


def test_without_the_option_the_server_outlives_its_harness(tmp_path: Path) -> None:
    # The case the option is for: the same harness, killed the same way, leaves its server running.
    harness, server, port, _ = _harness(tmp_path, exit_with_parent=False)
    harness.send_signal(signal.SIGKILL)
    harness.wait()
    try:
        assert not wait_gone(server, timeout=2)
        assert _healthy(port)
    finally:
        terminate_tree(server)
        wait_gone(server)


def test_detached_start_refuses_the_option(tmp_path: Path) -> None:
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("CLOUDLET_")},
           "PYTHONPATH": str(SRC), "CLOUDLET_EXIT_WITH_PARENT": "1"}
    out = subprocess.run([sys.executable, "-m", "cloudlet", "start", "-d", "--port", str(free_port()),
                          "--data-dir", str(tmp_path / "data")], env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode != 0
    assert "foreground" in out.stderr and "Traceback" not in out.stderr
