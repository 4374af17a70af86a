"""Cold starts on pre-started launchers (launcher_pool.py), seen from inside the functions:
the launcher was up before the invoke, yet the function sees only its own code, variables and
credentials, exactly what a launcher started for it sees; what only a fresh interpreter can honour
(its startup variables, a module of its code shadowing the runtime's) starts one afresh."""

from __future__ import annotations

import json
import os
import re
import time
import uuid
from typing import Any

import boto3
import pytest
from botocore.config import Config as BotoConfig
from lambda_helpers import make_zip

TRUST = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]})

# AGE: how long the runtime process had been up when the function's code was loaded.
INSPECT = r'''
import json, os, sys, time
def _age():
    with open("/proc/self/stat") as f:
        started = int(f.read().rsplit(")", 1)[1].split()[19])
    with open("/proc/uptime") as f:
        return float(f.read().split()[0]) - started / os.sysconf("SC_CLK_TCK")
AGE = _age()

def handler(event, context):
    import boto3
    with open("/proc/self/environ", "rb") as f:
        exec_env = dict(kv.split(b"=", 1) for kv in f.read().split(b"\0") if b"=" in kv)
    simplejson = sys.modules.get("simplejson")
    try:  # the code is hard-linked to the stored copy every environment of it shares
        open("/var/task/app.py", "a").close()
        write = "written"
    except OSError as e:
        write = __import__("errno").errorcode[e.errno]
    return {
        "age": AGE,
        "environ": dict(os.environ),
        "exec_environ": {k.decode(): v.decode() for k, v in exec_env.items()},
        "task": sorted(os.listdir("/var/task")),
        "cwd": os.getcwd(),
        "arn": boto3.client("sts").get_caller_identity()["Arn"],
        "flags": {"optimize": sys.flags.optimize, "hash_randomization": sys.flags.hash_randomization},
        "path": sys.path,
        "modules": sorted(m for m in sys.modules if not m.startswith(("boto", "urllib3", "s3transfer"))),
        "simplejson_from_task": getattr(simplejson, "FROM_TASK_ROOT", False),
        "write": write,
    }
'''

# A module named like one awslambdaric loads before the handler: on a fresh start the runtime
# itself imports this one (it comes before site-packages), which loads the real one and marks it.
SHADOW = r'''
import importlib.machinery, importlib.util, sys
_spec = importlib.machinery.PathFinder.find_spec("simplejson", [p for p in sys.path if p != "/var/task"])
_real = importlib.util.module_from_spec(_spec)
sys.modules["simplejson"] = _real
_spec.loader.exec_module(_real)
_real.FROM_TASK_ROOT = True
'''

# Differ per environment or per server by nature.
PER_ENVIRONMENT = {"AWS_LAMBDA_LOG_STREAM_NAME", "AWS_ACCESS_KEY_ID", "AWS_ACCESS_KEY", "AWS_SECRET_ACCESS_KEY",
                   "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL", "_X_AMZN_TRACE_ID"}


class Account:
    def __init__(self, server: Any) -> None:
        kw = {"endpoint_url": server.endpoint_url, "region_name": "us-east-1",
              "aws_access_key_id": server.env["AWS_ACCESS_KEY_ID"],
              "aws_secret_access_key": server.env["AWS_SECRET_ACCESS_KEY"]}
        self.server = server
        self.iam = boto3.client("iam", **kw)
        self.lam = boto3.client("lambda", config=BotoConfig(read_timeout=120, retries={"max_attempts": 0}), **kw)

    def role(self, name: str) -> str:
        return str(self.iam.create_role(RoleName=name, AssumeRolePolicyDocument=TRUST)["Role"]["Arn"])

    def create(self, name: str, role: str, files: dict[str, str] | None = None, **kw: Any) -> None:
        self.lam.create_function(FunctionName=name, Role=role, Runtime="python3.12", Handler="app.handler",
                                 Code={"ZipFile": make_zip(files or {"app.py": INSPECT})}, Timeout=30, **kw)
        self.lam.get_waiter("function_active_v2").wait(FunctionName=name,
                                                       WaiterConfig={"Delay": 0.2, "MaxAttempts": 300})

    def invoke(self, name: str) -> tuple[dict[str, Any], float]:
        """The function's answer and the Init Duration its REPORT line gives (ms)."""
        r = self.lam.invoke(FunctionName=name, Payload=b"{}", LogType="Tail")
        body = json.loads(r["Payload"].read())
        assert "FunctionError" not in r, body
        import base64
        tail = base64.b64decode(r["LogResult"]).decode()
        found = re.search(r"Init Duration: ([0-9.]+) ms", tail)
        assert found, tail
        return body, float(found.group(1))


def pooled_launchers(server_pid: int) -> list[int]:
    """Pre-started launchers' bwrap processes under this cloudlet (taken ones included)."""
    parent: dict[int, int] = {}
    cmdlines: dict[int, bytes] = {}
    for entry in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            if fields[0] == "Z":
                continue
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                cmdlines[int(entry)] = f.read()
        except (OSError, IndexError):
            continue
        parent[int(entry)] = int(fields[1])
    found = []
    for pid, cmd in cmdlines.items():
        if parent.get(pid) == server_pid and b"\0--pooled" in cmd and b"bwrap" in cmd.split(b"\0")[0]:
            found.append(pid)
    return found


def wait_for(predicate: Any, timeout: float = 15.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return bool(predicate())


@pytest.fixture(scope="module")
def pooled(cloudlet_server: Any) -> Account:
    return Account(cloudlet_server)


def test_a_cold_start_runs_on_a_launcher_started_before_it(pooled: Account) -> None:
    name = f"warm-{uuid.uuid4().hex[:8]}"
    pooled.create(name, pooled.role(f"r-{name}"))
    try:
        time.sleep(1.5)
        body, init_ms = pooled.invoke(name)
        # The process was up well before the invoke; its warm-up is not the function's init.
        assert body["age"] > 1.2, body["age"]
        assert init_ms < 1000, init_ms
        assert body["task"] == ["app.py"] and body["cwd"] == "/var/task"
    finally:
        pooled.lam.delete_function(FunctionName=name)


def test_a_pooled_environment_is_the_functions_own(pooled: Account, cloudlet_factory: Any) -> None:
    """Two functions, each with its own role, variables and code, on pre-started launchers; and
    the same function on a cloudlet that starts each launcher for its function (PREWARM=0)."""
    names = [f"own-{uuid.uuid4().hex[:8]}" for _ in range(2)]
    markers = {n: f"marker-{uuid.uuid4().hex}" for n in names}
    for n in names:
        pooled.create(n, pooled.role(f"r-{n}"), files={"app.py": INSPECT, f"{n}.txt": n},
                      Environment={"Variables": {"OWN_MARKER": markers[n], f"ONLY_{n[4:]}": "1"}})
    fresh = Account(cloudlet_factory(CLOUDLET_LAMBDA_PREWARM="0"))
    fresh.create(names[0], fresh.role(f"r-{names[0]}"), files={"app.py": INSPECT, f"{names[0]}.txt": names[0]},
                 Environment={"Variables": {"OWN_MARKER": markers[names[0]], f"ONLY_{names[0][4:]}": "1"}})
    try:
        answers = {}
        for n in names:
            time.sleep(1.5)  # the pool (one launcher) refills after each cold start
            answers[n] = pooled.invoke(n)[0]
        reference = fresh.invoke(names[0])[0]
        for n, body in answers.items():
            other = names[1 - names.index(n)]
            assert body["age"] > 1.2  # pre-started
            assert body["task"] == sorted(["app.py", f"{n}.txt"])
            assert body["write"] == "EROFS"
            assert body["environ"]["OWN_MARKER"] == markers[n]
            assert f"ONLY_{n[4:]}" in body["environ"] and f"ONLY_{other[4:]}" not in body["environ"]
            assert body["environ"]["AWS_LAMBDA_FUNCTION_NAME"] == n
            assert body["arn"].split(":", 5)[5] == f"assumed-role/r-{n}/{n}", body["arn"]
            # Nothing secret or cloudlet's in what the process was started with.
            exec_env = json.dumps(body["exec_environ"])
            assert "CLOUDLET" not in exec_env and "AWS_SECRET" not in exec_env and markers[n] not in exec_env
        # The pooled environment is the one a launcher started for the function would be.
        assert reference["age"] < 1.0  # started for it
        mine = answers[names[0]]
        assert {k: v for k, v in mine["environ"].items() if k not in PER_ENVIRONMENT} == \
            {k: v for k, v in reference["environ"].items() if k not in PER_ENVIRONMENT}
        assert mine["exec_environ"] == reference["exec_environ"]
        for key in ("task", "cwd", "flags", "path", "modules", "write"):
            assert mine[key] == reference[key], key
        assert pooled_launchers(fresh.server.pid) == []  # PREWARM=0: none
    finally:
        for n in names:
            pooled.lam.delete_function(FunctionName=n)


def test_what_only_a_fresh_interpreter_honours_starts_afresh(pooled: Account) -> None:
    startup = f"startup-{uuid.uuid4().hex[:8]}"
    shadow = f"shadow-{uuid.uuid4().hex[:8]}"
    pooled.create(startup, pooled.role(f"r-{startup}"),
                  Environment={"Variables": {"PYTHONHASHSEED": "0", "PYTHONOPTIMIZE": "1"}})
    pooled.create(shadow, pooled.role(f"r-{shadow}"), files={"app.py": INSPECT, "simplejson.py": SHADOW})
    # Python imports a usercustomize module it finds on its path as it starts (as it does sitecustomize).
    hook = f"hook-{uuid.uuid4().hex[:8]}"
    pooled.create(hook, pooled.role(f"r-{hook}"), files={"app.py": INSPECT, "usercustomize.py": "HOOKED = True\n"})
    try:
        time.sleep(1.5)
        body, _ = pooled.invoke(startup)
        assert body["flags"] == {"optimize": 1, "hash_randomization": 0}
        assert body["age"] < 1.0
        body, _ = pooled.invoke(shadow)
        assert body["simplejson_from_task"] is True
        assert body["age"] < 1.0
        body, _ = pooled.invoke(hook)
        assert "usercustomize" in body["modules"]
        assert body["age"] < 1.0
    finally:
        pooled.lam.delete_function(FunctionName=hook)
        pooled.lam.delete_function(FunctionName=startup)
        pooled.lam.delete_function(FunctionName=shadow)


def test_launchers_exist_only_for_functions_that_exist(cloudlet_factory: Any) -> None:
    account = Account(cloudlet_factory(CLOUDLET_LAMBDA_PREWARM="1"))
    pid = account.server.pid
    time.sleep(1.0)
    assert pooled_launchers(pid) == []  # no function, no launcher: idle cost unchanged
    account.create("one", account.role("r-one"))
    assert wait_for(lambda: len(pooled_launchers(pid)) == 1)
    account.create("two", account.role("r-two"))  # same shape: still one
    time.sleep(1.0)
    assert len(pooled_launchers(pid)) == 1
    account.create("big-tmp", account.role("r-big"), EphemeralStorage={"Size": 1024})  # another shape
    assert wait_for(lambda: len(pooled_launchers(pid)) == 2)
    for name in ("one", "two", "big-tmp"):
        account.lam.delete_function(FunctionName=name)
    assert wait_for(lambda: pooled_launchers(pid) == [])


def test_a_launcher_that_dies_while_waiting_is_replaced(cloudlet_factory: Any) -> None:
    import signal

    account = Account(cloudlet_factory())
    pid = account.server.pid
    account.create("victim", account.role("r-victim"))
    assert wait_for(lambda: len(pooled_launchers(pid)) == 1)
    time.sleep(0.5)  # warm, waiting
    [first] = pooled_launchers(pid)
    os.kill(first, signal.SIGKILL)
    assert wait_for(lambda: len(pooled_launchers(pid)) == 1 and pooled_launchers(pid) != [first])
    assert wait_for(lambda: "exited (status" in account.server.log_tail(200), 5), account.server.log_tail(20)
    time.sleep(1.5)
    body, init_ms = account.invoke("victim")
    assert body["age"] > 1.2 and init_ms < 1000


def test_after_a_restart_launchers_are_started_for_the_functions_there_are(tmp_path: Any) -> None:
    from cloudlet_process import CloudletProcess

    first = CloudletProcess(tmp_path / "data")
    try:
        account = Account(first)
        account.create("kept", account.role("r-kept"))
    finally:
        first.stop()
    second = CloudletProcess(tmp_path / "data")
    try:
        assert wait_for(lambda: len(pooled_launchers(second.pid)) == 1)
        time.sleep(1.5)
        body, _ = Account(second).invoke("kept")
        assert body["age"] > 1.2
    finally:
        second.stop()
