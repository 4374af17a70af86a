"""Shared pytest fixtures: a REAL cloudlet and stock clients bound to it.

Fixtures (stable; other test packages rely on them):

``cloudlet_server`` (session)
    One cloudlet started as ``python -m cloudlet start`` in a subprocess on a
    free port with a temporary data dir. Attributes:
      .endpoint_url  "http://127.0.0.1:PORT"
      .data_dir      Path of its data dir (hosts file, ca/, logs/)
      .env           dict: AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
                     AWS_DEFAULT_REGION (root credentials) to pass to CLI subprocesses
      .log_path      Path of cloudlet's log file
      .pid           server pid
      .log_tail(n)   last n lines of the log
    Stopped at session end, with every child process it started.

``cloudlet_factory`` (function)
    ``start(**env)`` starts an extra, private cloudlet (same object type) with
    extra CLOUDLET_* settings, e.g. ``cloudlet_factory(CLOUDLET_ENFORCE_IAM="0")``;
    stopped at the test's end.

``boto3_client`` (session)
    ``boto3_client("iam", **kw)`` -> a boto3 client for the session server with
    root credentials and region us-east-1; kw overrides any client argument
    (aws_access_key_id, aws_secret_access_key, aws_session_token, region_name, config...).

``aws_cli`` (session)
    ``aws_cli("iam", "list-roles", env=None, check=True)`` runs the stock `aws` CLI
    (awscli v1) against the session server and returns its parsed JSON output
    (None when it printed nothing, the text when it is not JSON). A nonzero exit
    raises AwsCliError (.returncode, .stdout, .stderr) unless check=False, which
    returns a CompletedProcess instead.

On a test failure, the tail of the session cloudlet's log is added to the report.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from cloudlet_process import (  # noqa: E402  (it puts src/ on sys.path first)
    REGION,
    REPO,
    ROOT_KEY,
    ROOT_SECRET,
    SRC,
    AwsCliError,
    CloudletProcess,
    free_port,
)

_session_server: CloudletProcess | None = None


@pytest.fixture(scope="session")
def cloudlet_server() -> Iterator[CloudletProcess]:
    global _session_server
    tmp = Path(tempfile.mkdtemp(prefix="cloudlet-test-"))
    server = CloudletProcess(tmp / "data")
    _session_server = server
    try:
        yield server
    finally:
        _session_server = None
        server.stop()
        shutil.rmtree(tmp, ignore_errors=True)


@pytest.fixture
def cloudlet_factory(tmp_path: Path) -> Iterator[Callable[..., CloudletProcess]]:
    started: list[CloudletProcess] = []

    def start(**env: str) -> CloudletProcess:
        p = CloudletProcess(tmp_path / f"cloudlet{len(started)}", extra_env=env)
        started.append(p)
        return p

    yield start
    for p in started:
        p.stop()


@pytest.fixture(scope="session")
def boto3_client(cloudlet_server: CloudletProcess) -> Callable[..., Any]:
    import boto3

    def make(service: str, **kw: Any) -> Any:
        args: dict[str, Any] = {
            "endpoint_url": cloudlet_server.endpoint_url,
            "region_name": REGION,
            "aws_access_key_id": ROOT_KEY,
            "aws_secret_access_key": ROOT_SECRET,
        }
        args.update(kw)
        return boto3.session.Session().client(service, **args)

    return make


def _aws_command() -> list[str]:
    exe = shutil.which("aws")
    return [exe] if exe else [sys.executable, "-m", "awscli"]


@pytest.fixture(scope="session")
def aws_cli(cloudlet_server: CloudletProcess) -> Callable[..., Any]:
    base_env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    base_env.update(cloudlet_server.env)
    base_env["AWS_PAGER"] = ""
    base_env["AWS_CONFIG_FILE"] = os.devnull
    base_env["AWS_SHARED_CREDENTIALS_FILE"] = os.devnull

    def run(*args: str, env: dict[str, str] | None = None, check: bool = True, timeout: float = 120) -> Any:
        full_env = dict(base_env)
        full_env.update(env or {})
        argv = [*_aws_command(), *args]
        if "--output" not in args:
            argv += ["--output", "json"]
        cp = subprocess.run(argv, env=full_env, capture_output=True, text=True, timeout=timeout)
        if not check:
            return cp
        if cp.returncode != 0:
            raise AwsCliError(list(args), cp.returncode, cp.stdout, cp.stderr)
        out = cp.stdout.strip()
        if not out:
            return None
        try:
            return json.loads(out)
        except ValueError:
            return out

    return run


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    if report.failed and _session_server is not None and "cloudlet_server" in getattr(item, "fixturenames", ()):
        report.sections.append(("cloudlet log (tail)", _session_server.log_tail(40)))
