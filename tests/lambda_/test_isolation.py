"""Execution environments isolated as on AWS: each attack of issue 12, run from a real function
(whose role allows only logs:*) through a real cloudlet, must be refused."""

from __future__ import annotations

import base64
import json
import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from lambda_helpers import make_zip
from process_helpers import environment_processes, namespace_pids, wait_environment_gone

from cloudlet.config import Config

# Not imported from tests/conftest.py: pytest loads several modules named conftest.
SRC = Path(__file__).resolve().parents[2] / "src"
ROOT_KEY, ROOT_SECRET = Config.access_key_id, Config.secret_access_key
CloudletProcess = Any  # tests/conftest.py's server fixture object


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


LOGS_ONLY = json.dumps({"Version": "2012-10-17",
                        "Statement": [{"Effect": "Allow", "Action": "logs:*", "Resource": "*"}]})
TRUST = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]})

# What the attacker does; each step returns what it managed (empty when refused).
ATTACKER = r'''
import json, os, signal, socket, threading, time, urllib.request

def _environs():
    for pid in os.listdir("/proc"):
        if pid.isdigit() and int(pid) != os.getpid():
            try:
                with open(f"/proc/{pid}/environ", "rb") as f:
                    yield int(pid), dict(kv.split(b"=", 1) for kv in f.read().split(b"\0") if b"=" in kv)
            except OSError:
                pass

def steal_credentials(event):
    """Other processes' environments: a victim's variables, other roles' keys."""
    stolen = []
    own = os.environ.get("AWS_SECRET_ACCESS_KEY", "").encode()
    for pid, env in _environs():
        if event["marker"].encode() in b"".join(env.values()):
            stolen.append(f"marker in /proc/{pid}/environ")
        secret = env.get(b"AWS_SECRET_ACCESS_KEY")
        if secret and secret != own and b"AWS_ACCESS_KEY_ID" in env:
            import boto3
            who = boto3.client("sts", aws_access_key_id=env[b"AWS_ACCESS_KEY_ID"].decode(),
                               aws_secret_access_key=secret.decode(),
                               aws_session_token=env.get(b"AWS_SESSION_TOKEN", b"").decode() or None)
            try:
                stolen.append(who.get_caller_identity()["Arn"])
            except Exception as e:
                stolen.append(f"keys of pid {pid} ({type(e).__name__})")
    return stolen

def _listening_ports():
    ports = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = open(table).read().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if fields[3] == "0A":
                ports.add(int(fields[1].rsplit(":", 1)[1], 16))
    return ports

def hijack_runtime_api(event):
    """Long-poll every other Runtime API on this host and answer the invocation it hands out."""
    own = int(os.environ["AWS_LAMBDA_RUNTIME_API"].rsplit(":", 1)[1])
    api_port = int(os.environ["AWS_ENDPOINT_URL"].rsplit(":", 1)[1])
    hijacked = []
    def poll(port):
        base = f"http://127.0.0.1:{port}/2018-06-01/runtime/invocation"
        try:
            with urllib.request.urlopen(base + "/next", timeout=event["poll_s"]) as r:
                rid = r.headers.get("Lambda-Runtime-Aws-Request-Id")
            if rid:
                urllib.request.urlopen(urllib.request.Request(base + f"/{rid}/response", data=b'"hijacked"'),
                                       timeout=5).read()
                hijacked.append(port)
        except Exception:
            pass
    threads = [threading.Thread(target=poll, args=(p,)) for p in _listening_ports() - {own, api_port}]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return hijacked

def host_files(event):
    """cloudlet's data dir: the CA key, other functions' code, a cache's ACL file, AOF and socket."""
    got = []
    for path in event["read"]:
        try:
            with open(path, "rb") as f:
                f.read(1)
            got.append(f"read {path}")
        except OSError:
            pass
    for path in event["write"]:
        try:
            with open(path, "a") as f:
                f.write("\n")
            got.append(f"wrote {path}")
        except OSError:
            pass
    for path in event["list"]:
        try:
            got.append(f"listed {path}: {len(os.listdir(path))}")
        except OSError:
            pass
    for path in event["connect"]:
        s = socket.socket(socket.AF_UNIX)
        try:
            s.connect(path)
            got.append(f"connected {path}")
        except OSError:
            pass
        finally:
            s.close()
    return got

def host_processes(event):
    """cloudlet and its valkey-servers: their environment, and whether they can be signalled."""
    got = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            cmd = open(f"/proc/{pid}/cmdline", "rb").read().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if "valkey-server" in cmd or "cloudlet start" in cmd:
            try:
                os.kill(int(pid), 0)  # the permission check of a SIGKILL, without the damage
                got.append(f"may signal {cmd.split()[0]}")
            except OSError:
                pass
            try:
                if b"CLOUDLET" in open(f"/proc/{pid}/environ", "rb").read() or "valkey" in cmd:
                    got.append(f"read environ of {cmd.split()[0]}")
            except OSError:
                pass
    return got

def handler(event, context):
    return {name: globals()[name](event) for name in event["steps"]}
'''


@pytest.fixture(scope="module")
def logs_only_role(boto3_client: Any) -> str:
    iam = boto3_client("iam")
    try:
        return str(iam.get_role(RoleName="logs-only")["Role"]["Arn"])
    except iam.exceptions.NoSuchEntityException:
        pass
    arn = str(iam.create_role(RoleName="logs-only", AssumeRolePolicyDocument=TRUST)["Role"]["Arn"])
    iam.put_role_policy(RoleName="logs-only", PolicyName="logs", PolicyDocument=LOGS_ONLY)
    return arn


@pytest.fixture(scope="module")
def lam(boto3_client: Any) -> Any:
    return boto3_client("lambda", config=__import__("botocore.config").config.Config(
        read_timeout=120, retries={"max_attempts": 0}))


def _create(lam: Any, name: str, role: str, src: str, runtime: str = "python3.12", **kw: Any) -> None:
    files = {"app.py": src} if runtime.startswith("python") else {"app.js": src}
    lam.create_function(FunctionName=name, Role=role, Runtime=runtime, Handler="app.handler",
                        Code={"ZipFile": make_zip(files)}, **kw)
    lam.get_waiter("function_active_v2").wait(FunctionName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 120})


def _invoke(lam: Any, name: str, event: Any = None, **kw: Any) -> tuple[dict[str, Any], Any]:
    r = lam.invoke(FunctionName=name, Payload=json.dumps(event or {}).encode(), **kw)
    return r, json.loads(r["Payload"].read())


VICTIM = {"python3.12": '''
import os
def handler(event, context):
    return {"who": "victim", "secret": os.environ["VICTIM_SECRET"]}
''', "nodejs20.x": '''
exports.handler = async () => ({who: "victim", secret: process.env.VICTIM_SECRET});
'''}


@pytest.mark.parametrize("victim_runtime", sorted(VICTIM))
def test_other_environments_variables_and_credentials_cannot_be_read(lam: Any, logs_only_role: str,
                                                                      boto3_client: Any, victim_runtime: str) -> None:
    marker = f"victim-secret-{uuid.uuid4().hex}"
    iam = boto3_client("iam")
    admin_name = f"victim-admin-{victim_runtime.replace('.', '-')}"
    admin = iam.create_role(RoleName=admin_name, AssumeRolePolicyDocument=TRUST)["Role"]["Arn"]
    _create(lam, "iso-victim", admin, VICTIM[victim_runtime], runtime=victim_runtime,
            Environment={"Variables": {"VICTIM_SECRET": marker}})
    _create(lam, "iso-thief", logs_only_role, ATTACKER, Timeout=30)
    try:
        assert _invoke(lam, "iso-victim")[1]["secret"] == marker  # warm, waiting for work
        r, out = _invoke(lam, "iso-thief", {"steps": ["steal_credentials"], "marker": marker})
        assert "FunctionError" not in r, out
        assert out["steal_credentials"] == []
        # Nor from outside: no process on this machine has them in its environment.
        holders = []
        for pid in filter(str.isdigit, os.listdir("/proc")):
            try:
                if marker.encode() in Path(f"/proc/{pid}/environ").read_bytes():
                    holders.append(pid)
            except OSError:
                continue
        assert holders == []
    finally:
        lam.delete_function(FunctionName="iso-victim")
        lam.delete_function(FunctionName="iso-thief")


@pytest.mark.parametrize("victim_runtime", sorted(VICTIM))
def test_another_environments_runtime_api_cannot_be_taken(lam: Any, logs_only_role: str, victim_runtime: str) -> None:
    _create(lam, "iso-rt-victim", logs_only_role, VICTIM[victim_runtime], runtime=victim_runtime,
            Environment={"Variables": {"VICTIM_SECRET": "v"}})
    _create(lam, "iso-rt-thief", logs_only_role, ATTACKER, Timeout=30)
    try:
        assert _invoke(lam, "iso-rt-victim")[1]["who"] == "victim"
        result: dict[str, Any] = {}

        def attack() -> None:
            result["r"] = _invoke(lam, "iso-rt-thief", {"steps": ["hijack_runtime_api"], "poll_s": 8})

        t = threading.Thread(target=attack)
        t.start()
        time.sleep(3)  # the thief is long-polling every port it found
        answers = [_invoke(lam, "iso-rt-victim")[1] for _ in range(3)]
        t.join(60)
        assert answers == [{"who": "victim", "secret": "v"}] * 3
        r, out = result["r"]
        assert "FunctionError" not in r, out
        assert out["hijack_runtime_api"] == []
    finally:
        lam.delete_function(FunctionName="iso-rt-victim")
        lam.delete_function(FunctionName="iso-rt-thief")


def _cache(boto3_client: Any, name: str) -> None:
    ec = boto3_client("elasticache")
    ec.create_serverless_cache(ServerlessCacheName=name, Engine="valkey")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        status = ec.describe_serverless_caches(ServerlessCacheName=name)["ServerlessCaches"][0]["Status"]
        if status == "available":
            return
        time.sleep(0.2)
    raise AssertionError(f"cache {name} never became available")


def test_host_files_caches_and_processes_are_out_of_reach(lam: Any, logs_only_role: str, boto3_client: Any,
                                                          cloudlet_server: CloudletProcess) -> None:
    _cache(boto3_client, "iso-cache")
    _create(lam, "iso-other", logs_only_role, VICTIM["python3.12"], Environment={"Variables": {"VICTIM_SECRET": "x"}})
    _create(lam, "iso-files", logs_only_role, ATTACKER, Timeout=30)
    data = cloudlet_server.data_dir
    try:
        _invoke(lam, "iso-other")
        caches = list((data / "elasticache" / "caches").glob("*/users.acl"))
        assert caches, "the cache's valkey has an ACL file"
        cache_dir = caches[0].parent
        other_code = next((data / "lambda").rglob("app.py"))
        sockets = [str(p) for p in (data / "elasticache" / "caches").rglob("*.sock")]
        for conf in cache_dir.glob("*.conf"):
            sockets += [ln.split()[1] for ln in conf.read_text().splitlines() if ln.startswith("unixsocket ")]
        assert sockets, "the cache's valkey listens on a unix socket"
        event = {
            "steps": ["host_files", "host_processes"],
            "read": [str(data / "ca" / "ca.key"), str(other_code), str(cache_dir / "users.acl"),
                     str(data / "logs" / "cloudlet.log")],
            "write": [str(cache_dir / "users.acl")],
            "list": [str(data), str(cache_dir / "appendonlydir"), str(data / "lambda"),
                     str(Path.home() / ".cloudlet")],
            "connect": sockets,
        }
        r, out = _invoke(lam, "iso-files", event)
        assert "FunctionError" not in r, out
        assert out == {"host_files": [], "host_processes": []}
    finally:
        lam.delete_function(FunctionName="iso-other")
        lam.delete_function(FunctionName="iso-files")
        boto3_client("elasticache").delete_serverless_cache(ServerlessCacheName="iso-cache")


FILESYSTEM = r'''
import ctypes, os, subprocess, traceback
def handler(event, context):
    got = {}
    # What a root function would try first: make the read-only mounts writable again,
    # directly and from a user namespace of its own.
    libc = ctypes.CDLL(None, use_errno=True)
    MS_REMOUNT, MS_BIND = 32, 4096
    for target in ("/var/task", "/var/runtime", "/usr"):
        libc.mount(None, target.encode(), None, MS_REMOUNT | MS_BIND, None)
        subprocess.run(["unshare", "-Urm", "mount", "-o", "remount,rw,bind", target], capture_output=True)
    for path in (os.environ["LAMBDA_TASK_ROOT"] + "/planted.py", "/var/runtime/planted", "/usr/planted", "/planted"):
        try:
            open(path, "w").write("x")
            got[path] = "written"
        except OSError as e:
            got[path] = e.strerror
    with open(event["tmp_file"], "w") as f:
        f.write("left behind")
    st = os.statvfs("/tmp")
    got["tmp_bytes"] = st.f_blocks * st.f_frsize
    if event.get("fill"):
        written, chunk = 0, b"\0" * (1 << 20)
        try:
            with open("/tmp/fill", "wb") as f:
                while written < 2 * got["tmp_bytes"]:
                    f.write(chunk)
                    f.flush()
                    written += len(chunk)
        except OSError as e:
            got["fill_error"] = e.strerror
        got["filled"] = written
        os.unlink("/tmp/fill")
    got["cwd"] = os.getcwd()
    got["env"] = {k: os.environ.get(k) for k in ("LAMBDA_TASK_ROOT", "LAMBDA_RUNTIME_DIR", "AWS_LAMBDA_RUNTIME_API",
                                                  "LD_LIBRARY_PATH")}
    if event.get("boom"):
        raise ValueError("where am I")
    return got
'''


def test_filesystem_is_the_functions_own(lam: Any, logs_only_role: str) -> None:
    _create(lam, "iso-fs", logs_only_role, FILESYSTEM, EphemeralStorage={"Size": 600})
    tmp_file = f"/tmp/cloudlet-planted-{uuid.uuid4().hex}"
    try:
        r, out = _invoke(lam, "iso-fs", {"tmp_file": tmp_file})
        assert "FunctionError" not in r, out
        # Read-only code and runtime, as on AWS; nothing of the host to write to.
        assert out["/var/task/planted.py"] == "Read-only file system"
        assert out["/var/runtime/planted"] == "Read-only file system"
        assert out["/usr/planted"] == "Read-only file system"
        assert out["/planted"] == "Read-only file system"
        assert out["tmp_bytes"] == 600 * 1024 * 1024  # a private /tmp of EphemeralStorage
        assert not os.path.exists(tmp_file), "the function wrote into the host's /tmp"
        assert out["cwd"] == "/var/task"
        assert out["env"] == {
            "LAMBDA_TASK_ROOT": "/var/task", "LAMBDA_RUNTIME_DIR": "/var/runtime",
            "AWS_LAMBDA_RUNTIME_API": "127.0.0.1:9001",
            "LD_LIBRARY_PATH": "/var/lang/lib:/lib64:/usr/lib64:/var/runtime:/var/runtime/lib:/var/task:"
                               "/var/task/lib:/opt/lib",
        }
        r, out = _invoke(lam, "iso-fs", {"tmp_file": tmp_file + "-2", "fill": True})
        assert out["fill_error"] == "No space left on device" and out["filled"] <= 600 * 1024 * 1024
        r, out = _invoke(lam, "iso-fs", {"tmp_file": tmp_file, "boom": True})
        assert out["errorType"] == "ValueError"
        assert any(line.startswith('  File "/var/task/app.py"') for line in out["stackTrace"]), out["stackTrace"]
    finally:
        lam.delete_function(FunctionName="iso-fs")
        for leftover in (tmp_file, tmp_file + "-2"):
            if os.path.exists(leftover):
                os.unlink(leftover)


DAEMON = r'''
import os, time
def handler(event, context):
    r, w = os.pipe()
    if os.fork() == 0:
        os.setsid()
        pid = os.fork()
        if pid == 0:
            os.closerange(0, 1024)  # a proper daemon: no stdout, no pipe back to the runtime
            while True:
                time.sleep(1)
        os.write(w, str(pid).encode())
        os._exit(0)
    os.close(w)
    daemon = int(os.read(r, 32))
    os.wait()
    if event.get("crash"):
        os._exit(3)
    return {"pid": os.getpid(), "daemon": daemon, "pidns": os.readlink("/proc/self/ns/pid")}
'''


def _daemon_processes(body: dict[str, Any]) -> set[tuple[int, int]]:
    """The environment's processes, its daemon among them (checked while they run)."""
    processes = environment_processes(body)
    if body["pidns"] != os.readlink("/proc/self/ns/pid"):
        in_ns = {pid for pid, _ in processes}
        assert len(in_ns) >= 3, f"runtime, its sandbox's init and the daemon run: {in_ns}"
    else:
        assert {body["pid"], body["daemon"]} <= {pid for pid, _ in processes}
    return processes


def _daemon_gone(processes: set[tuple[int, int]]) -> bool:
    return wait_environment_gone(processes, timeout=5)


def test_daemons_die_with_their_environment(lam: Any, logs_only_role: str, boto3_client: Any) -> None:
    _create(lam, "iso-daemon", logs_only_role, DAEMON, Timeout=10)
    try:
        # DeleteFunction
        processes = _daemon_processes(_invoke(lam, "iso-daemon")[1])
        lam.delete_function(FunctionName="iso-daemon")
        assert _daemon_gone(processes), "a daemon outlived DeleteFunction"
        # UpdateFunctionCode
        _create(lam, "iso-daemon", logs_only_role, DAEMON, Timeout=10)
        processes = _daemon_processes(_invoke(lam, "iso-daemon")[1])
        lam.update_function_code(FunctionName="iso-daemon", ZipFile=make_zip({"app.py": DAEMON + "\n# v2\n"}))
        lam.get_waiter("function_updated_v2").wait(FunctionName="iso-daemon", WaiterConfig={"Delay": 1})
        assert _daemon_gone(processes), "a daemon outlived UpdateFunctionCode"
        # The runtime crashing (its environment had started a daemon)
        processes = _daemon_processes(_invoke(lam, "iso-daemon")[1])
        r = lam.invoke(FunctionName="iso-daemon", Payload=b'{"crash": true}')
        assert json.loads(r["Payload"].read())["errorType"] == "Runtime.ExitError"
        assert _daemon_gone(processes), "a daemon outlived its crashed runtime"
    finally:
        try:
            lam.delete_function(FunctionName="iso-daemon")
        except lam.exceptions.ResourceNotFoundException:
            pass


def _daemon_server(cloudlet_factory: Any, **env: str) -> tuple[CloudletProcess, Any]:
    import boto3

    server = cloudlet_factory(**env)
    kw = {"endpoint_url": server.endpoint_url, "region_name": "us-east-1",
          "aws_access_key_id": server.env["AWS_ACCESS_KEY_ID"],
          "aws_secret_access_key": server.env["AWS_SECRET_ACCESS_KEY"]}
    iam, lam = boto3.client("iam", **kw), boto3.client("lambda", **kw)
    role = iam.create_role(RoleName="r", AssumeRolePolicyDocument=TRUST)["Role"]["Arn"]
    _create(lam, "daemon", role, DAEMON)
    return server, lam


def test_daemons_die_with_idle_reaping(cloudlet_factory: Any) -> None:
    _server, lam = _daemon_server(cloudlet_factory, CLOUDLET_LAMBDA_IDLE_S="1")
    processes = _daemon_processes(json.loads(lam.invoke(FunctionName="daemon")["Payload"].read()))
    assert _daemon_gone(processes), "a daemon outlived its idle environment's reaping"


def test_daemons_die_with_cloudlet_stop(cloudlet_factory: Any) -> None:
    server, lam = _daemon_server(cloudlet_factory)
    processes = _daemon_processes(json.loads(lam.invoke(FunctionName="daemon")["Payload"].read()))
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    out = subprocess.run([sys.executable, "-m", "cloudlet", "stop", "--data-dir", str(server.data_dir)],
                         env=env, capture_output=True, text=True, timeout=60, check=False)
    assert out.returncode == 0, out.stderr
    assert _daemon_gone(processes), "a daemon outlived cloudlet stop"


def test_daemons_die_with_a_killed_cloudlet(cloudlet_factory: Any) -> None:
    import signal

    server, lam = _daemon_server(cloudlet_factory)
    processes = _daemon_processes(json.loads(lam.invoke(FunctionName="daemon")["Payload"].read()))
    os.kill(server.pid, signal.SIGKILL)
    assert _daemon_gone(processes), "a daemon outlived its cloudlet killed with -9"


NETWORK = r'''
import os, socket, urllib.request
def handler(event, context):
    got = {}
    for host, port in event["targets"]:
        s = socket.socket()
        s.settimeout(3)
        try:
            s.connect((host, port))
            s.sendall(b"PING\r\n")
            got[f"{host}:{port}"] = s.recv(64).decode(errors="replace") or "connected"
        except OSError as e:
            got[f"{host}:{port}"] = type(e).__name__
        finally:
            s.close()
    with urllib.request.urlopen(os.environ["AWS_ENDPOINT_URL"] + "/_cloudlet/health", timeout=5) as r:
        got["api"] = r.status
    return got
'''


def test_network_reaches_cloudlet_and_nothing_else_of_the_host(lam: Any, logs_only_role: str) -> None:
    """A service of the host on loopback (here: one this test runs) is out of the function's reach,
    on its own port and on a cache port of an address that is no cache's; cloudlet's API is not."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    port = server.getsockname()[1]
    accepted: list[bytes] = []
    done = threading.Event()

    def serve() -> None:
        server.settimeout(0.1)
        while not done.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                continue
            accepted.append(conn.recv(64))
            conn.sendall(b"+host service\r\n")
            conn.close()

    t = threading.Thread(target=serve)
    t.start()
    _create(lam, "iso-net", logs_only_role, NETWORK, Timeout=20)
    try:
        r, out = _invoke(lam, "iso-net", {"targets": [["127.0.0.1", port], ["127.0.0.1", 22], ["127.77.254.254", 6379]]})
        assert "FunctionError" not in r, out
        assert out["api"] == 200
        assert out[f"127.0.0.1:{port}"] in ("ConnectionRefusedError", "ConnectionResetError")
        assert out["127.77.254.254:6379"] in ("ConnectionRefusedError", "ConnectionResetError", "")
        assert accepted == []
    finally:
        done.set()
        t.join(5)
        server.close()
        lam.delete_function(FunctionName="iso-net")


MEMORY_HOG = {"python3.12": r'''
import time
def handler(event, context):
    held = []
    for _ in range(event["mb"] // 8):
        held.append(b"x" * (8 << 20))
        time.sleep(0.01)
    time.sleep(1)
    return len(held)
''', "nodejs20.x": r'''
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
exports.handler = async (event) => {
  const held = [];
  for (let i = 0; i < event.mb / 8; i++) {
    held.push(Buffer.alloc(8 << 20, 120));  // outside V8's heap, so its own limit does not stop it first
    await sleep(10);
  }
  await sleep(1000);
  return held.length;
};
'''}


@pytest.mark.parametrize("runtime", sorted(MEMORY_HOG))
def test_memory_size_is_a_hard_limit(lam: Any, logs_only_role: str, runtime: str) -> None:
    _create(lam, "iso-mem", logs_only_role, MEMORY_HOG[runtime], runtime=runtime, MemorySize=128, Timeout=30)
    try:
        r, out = _invoke(lam, "iso-mem", {"mb": 16})
        assert out == 2  # within the limit it runs
        r, out = _invoke(lam, "iso-mem", {"mb": 400}, LogType="Tail")
        assert r["FunctionError"] == "Unhandled"
        assert out["errorType"] == "Runtime.OutOfMemory"
        assert out["errorMessage"].endswith("Error: Runtime exited with error: signal: killed")
        tail = base64.b64decode(r["LogResult"]).decode()
        assert "Max Memory Used: 128 MB" in tail
        assert _invoke(lam, "iso-mem", {"mb": 16})[1] == 2  # a fresh environment serves the next
    finally:
        lam.delete_function(FunctionName="iso-mem")


def test_without_namespaces_cloudlet_says_so(tmp_path: Path) -> None:
    """Forced off: `cloudlet start` says so once with the reason; each function's log says it."""
    import boto3

    data, port = tmp_path / "data", free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(PYTHONPATH=str(SRC), CLOUDLET_LAMBDA_ISOLATION="off")
    start = subprocess.run([sys.executable, "-m", "cloudlet", "start", "-d", "--data-dir", str(data), "--port",
                            str(port)], env=env, capture_output=True, text=True, timeout=60, check=False)
    try:
        assert start.returncode == 0, start.stderr
        assert start.stderr.count("run without isolation") == 1, start.stderr
        assert "CLOUDLET_LAMBDA_ISOLATION=off" in start.stderr
        kw = {"endpoint_url": f"http://127.0.0.1:{port}", "region_name": "us-east-1",
                  "aws_access_key_id": ROOT_KEY, "aws_secret_access_key": ROOT_SECRET}
        iam, lam = boto3.client("iam", **kw), boto3.client("lambda", **kw)
        role = iam.create_role(RoleName="r", AssumeRolePolicyDocument=TRUST)["Role"]["Arn"]
        _create(lam, "plain", role, "def handler(e, c):\n    return 'ran'\n")
        r = lam.invoke(FunctionName="plain", LogType="Tail")
        assert json.loads(r["Payload"].read()) == "ran"
        assert "this execution environment is not isolated (CLOUDLET_LAMBDA_ISOLATION=off)" in \
            base64.b64decode(r["LogResult"]).decode()
    finally:
        subprocess.run([sys.executable, "-m", "cloudlet", "stop", "--data-dir", str(data)], env=env,
                       capture_output=True, timeout=60, check=False)


def test_auto_without_bubblewrap_runs_functions_unisolated_and_says_so(cloudlet_factory: Any,
                                                                       tmp_path: Path) -> None:
    import boto3

    server = cloudlet_factory(CLOUDLET_BWRAP=str(tmp_path / "no-bwrap"))
    kw = {"endpoint_url": server.endpoint_url, "region_name": "us-east-1", "aws_access_key_id": ROOT_KEY,
          "aws_secret_access_key": ROOT_SECRET}
    iam, lam = boto3.client("iam", **kw), boto3.client("lambda", **kw)
    role = iam.create_role(RoleName="r", AssumeRolePolicyDocument=TRUST)["Role"]["Arn"]
    _create(lam, "plain", role, "def handler(e, c):\n    return 'ran'\n")
    r = lam.invoke(FunctionName="plain", LogType="Tail")
    assert json.loads(r["Payload"].read()) == "ran"
    tail = base64.b64decode(r["LogResult"]).decode()
    assert "this execution environment is not isolated (bubblewrap" in tail and "is not installed" in tail
    assert server.log_path.read_text().count("run without isolation") == 1


def test_isolation_on_without_bubblewrap_refuses_to_start(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(SRC), "CLOUDLET_LAMBDA_ISOLATION": "on",
           "CLOUDLET_BWRAP": str(tmp_path / "no-bwrap")}
    out = subprocess.run([sys.executable, "-m", "cloudlet", "start", "--data-dir", str(tmp_path / "d"),
                          "--port", str(free_port())], env=env, capture_output=True, text=True, timeout=60,
                         check=False)
    assert out.returncode == 1
    assert "CLOUDLET_LAMBDA_ISOLATION=on but bubblewrap" in out.stderr and "is not installed" in out.stderr


def test_namespace_helper_sees_a_sandbox(lam: Any, logs_only_role: str) -> None:
    """The helper the tests above rely on finds an environment's processes while it lives."""
    _create(lam, "iso-ns", logs_only_role, DAEMON)
    try:
        body = _invoke(lam, "iso-ns")[1]
        if body["pidns"] != os.readlink("/proc/self/ns/pid"):
            assert namespace_pids(body["pidns"]), "the warm environment's processes are visible to the host"
    finally:
        lam.delete_function(FunctionName="iso-ns")
