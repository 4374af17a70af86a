"""A real cloudlet server in a subprocess (CloudletProcess), for the fixtures in conftest.py and for
tests that start and restart their own servers."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
SRC = REPO / "src"
if str(SRC) not in sys.path:
    sys.path.insert(0, str(SRC))

from cloudlet.cli import terminate_tree  # noqa: E402
from cloudlet.config import Config  # noqa: E402

ROOT_KEY = Config.access_key_id
ROOT_SECRET = Config.secret_access_key
REGION = "us-east-1"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class AwsCliError(Exception):
    def __init__(self, args: list[str], returncode: int, stdout: str, stderr: str) -> None:
        super().__init__(f"aws {' '.join(args)} exited {returncode}: {stderr.strip()}")
        self.returncode = returncode
        self.stdout = stdout
        self.stderr = stderr


class CloudletProcess:
    """A running `python -m cloudlet start` subprocess."""

    def __init__(self, data_dir: Path, extra_env: dict[str, str] | None = None, timeout: float = 30.0) -> None:
        self.port = free_port()
        self.data_dir = data_dir
        self.endpoint_url = f"http://127.0.0.1:{self.port}"
        self.log_path = data_dir / "logs" / "cloudlet.log"
        self.env = {
            "AWS_ENDPOINT_URL": self.endpoint_url,
            "AWS_ACCESS_KEY_ID": ROOT_KEY,
            "AWS_SECRET_ACCESS_KEY": ROOT_SECRET,
            "AWS_DEFAULT_REGION": REGION,
        }
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env["PYTHONPATH"] = os.pathsep.join([str(SRC), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
        # Each test server its own console port, never the default every server would want.
        env["CLOUDLET_CONSOLE_PORT"] = str(free_port())
        # A test run killed from outside (SIGKILLed pytest) leaves no server behind.
        env["CLOUDLET_EXIT_WITH_PARENT"] = "1"
        env.update(extra_env or {})
        self.console_port = int(env["CLOUDLET_CONSOLE_PORT"])
        self.console_url = f"http://127.0.0.1:{self.console_port}/"
        data_dir.mkdir(parents=True, exist_ok=True)
        self._out = open(data_dir / "server.out", "wb")
        t0 = time.monotonic()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "cloudlet", "start", "--host", "127.0.0.1", "--port", str(self.port),
             "--data-dir", str(data_dir)],
            env=env, stdin=subprocess.DEVNULL, stdout=self._out, stderr=subprocess.STDOUT, start_new_session=True,
        )
        self.pid = self.proc.pid
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"cloudlet exited {self.proc.returncode}:\n{self.output_tail()}")
            if self.healthy():
                break
            if time.monotonic() - t0 > timeout:
                self.stop()
                raise RuntimeError(f"cloudlet not healthy after {timeout} s:\n{self.output_tail()}")
            time.sleep(0.02)
        self.start_seconds = time.monotonic() - t0

    def healthy(self) -> bool:
        try:
            with urllib.request.urlopen(self.endpoint_url + "/_cloudlet/health", timeout=1) as r:
                return r.status == 200
        except OSError:
            return False

    def health(self) -> dict[str, Any]:
        with urllib.request.urlopen(self.endpoint_url + "/_cloudlet/health", timeout=5) as r:
            data: dict[str, Any] = json.loads(r.read())
            return data

    def output_tail(self, n: int = 60) -> str:
        try:
            return "\n".join((self.data_dir / "server.out").read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return ""

    def log_tail(self, n: int = 60) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return self.output_tail(n)

    def stop(self) -> None:
        if self.proc.poll() is None:
            terminate_tree(self.proc.pid, timeout=15)
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self._out.close()
