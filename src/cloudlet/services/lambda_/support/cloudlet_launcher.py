"""The first program of every Lambda execution environment; becomes awslambdaric.

cloudlet hands it a control socket (its descriptor number is the one argument) and sends one
message: the environment's variables (the function's own and its role's
credentials, which so never appear in any process's /proc/PID/environ or
command line), the handler, and the addresses to listen on. Inside a sandbox
those are the Runtime API (127.0.0.1:9001) and the endpoints the function may
reach; the listening sockets are created here, in the environment's own network
namespace, and passed back to cloudlet, which serves or relays every connection
made to them. Then the launcher runs awslambdaric in this same interpreter, or,
for a Node.js runtime, execs node with cloudlet_launcher.mjs, which reads the
variables from a memory file (never its exec environment) and runs aws-lambda-ric.

Started with --pooled it is a pre-started launcher (launcher_pool.py): before the
message it imports what awslambdaric imports before the handler (all but bootstrap,
which reads the log settings from the environment as it loads), tells cloudlet
which top-level modules it holds and waits; the message comes only when a function
takes it, with the function's code already linked into /var/task.
"""

import array
import importlib
import json
import os
import runpy
import socket
import sys


def _recv_exact(sock, n):
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise SystemExit("cloudlet: control socket closed before the environment's configuration")
        buf += chunk
    return buf


def _exec_runtime(config):
    """Become another language's runtime (node): what holds secrets goes in an anonymous
    memory file it reads and closes, its exec environment gets only the startup variables."""
    fd = os.memfd_create("cloudlet-environment", 0)
    os.write(fd, json.dumps({"env": config["env"], "handler": config["handler"],
                             "hosts_file": config.get("hosts_file", "")}).encode())
    os.lseek(fd, 0, os.SEEK_SET)
    os.set_inheritable(fd, True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    argv = [*config["exec"], str(fd)]  # the memory file's descriptor: an argument, not a variable
    os.execve(argv[0], argv, env)


# What awslambdaric loads before it imports the handler, bootstrap (and __main__) excepted.
_WARM_MODULES = (
    "awslambdaric.lambda_config", "awslambdaric.lambda_runtime_exception",
    "awslambdaric.lambda_runtime_marshaller", "awslambdaric.lambda_runtime_client",
    "awslambdaric.lambda_context", "awslambdaric.lambda_runtime_log_utils", "traceback",
)


def _send(ctl, doc, fds=()):
    data = json.dumps(doc).encode()
    ancillary = [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", fds))] if fds else []
    ctl.sendmsg([len(data).to_bytes(4, "big") + data], ancillary)


def _warm_up(ctl):
    """Load the runtime, then say which top-level modules are loaded or were looked for at start:
    a function whose code holds one of those names would have shadowed it (or been imported by
    site), so cloudlet starts that one afresh."""
    for name in _WARM_MODULES:
        try:
            importlib.import_module(name)
        except ImportError:
            pass
    loaded = {m.partition(".")[0] for m in sys.modules}
    # What site imports at start when it finds it (found in /var/task only on a fresh start).
    loaded.update(("sitecustomize", "usercustomize"))
    _send(ctl, {"modules": sorted(loaded)})


def main():
    ctl = socket.socket(fileno=int(sys.argv[1]))
    pooled = "--pooled" in sys.argv[2:]
    if pooled:
        _warm_up(ctl)
    size = int.from_bytes(_recv_exact(ctl, 4), "big")
    config = json.loads(_recv_exact(ctl, size))
    listeners, bound = [], []
    for host, port in config["listen"]:
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind((host, port))
            s.listen(256)
        except OSError as e:
            print(f"cloudlet: cannot listen on {host}:{port} in this environment: {e}", file=sys.stderr)
            s.close()
            continue
        listeners.append(s)
        bound.append([host, port])
    _send(ctl, bound, [s.fileno() for s in listeners])
    for s in listeners:
        s.close()
    ctl.close()
    if config.get("exec"):
        _exec_runtime(config)
    if pooled:
        importlib.invalidate_caches()  # /var/task was empty when the import system first looked
    import sitecustomize  # cloudlet's resolver shim, loaded at start from the support dir

    sitecustomize.use_hosts_file(config.get("hosts_file", ""))
    os.environ.update(config["env"])
    # awslambdaric writes each logging record as one frame to this descriptor, as on AWS: it is
    # the stdout pipe, so cloudlet reads records and printed lines in the order they were written.
    os.environ["_LAMBDA_TELEMETRY_LOG_FD"] = str(os.dup(1))
    sys.argv = ["awslambdaric", config["handler"]]
    runpy.run_module("awslambdaric", run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
