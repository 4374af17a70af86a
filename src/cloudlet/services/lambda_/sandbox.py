"""The walls of a Lambda execution environment: bubblewrap namespaces and mounts.

On AWS each execution environment is a microVM. Here each is a bubblewrap
sandbox with its own user, PID, network, IPC, UTS and mount namespaces:

- /var/task      the function's unpacked code, read-only (LAMBDA_TASK_ROOT)
- /var/runtime   the runtime's virtualenv (awslambdaric, boto3), or for Node.js the
                 runtime dir (aws-lambda-ric, the AWS SDK for JavaScript v3), read-only
- /opt           where layers go (empty: cloudlet has no layers yet)
- /tmp           a private tmpfs of EphemeralStorage bytes (ENOSPC past it)
- /usr, the interpreter's own prefix and a few files of /etc, read-only
- /var/cloudlet  cloudlet's launcher and resolver shim, and the VPC's hosts file

Nothing else of the host is there: not cloudlet's data dir, the CA, sockets,
other functions' code or anyone's home. The root is a read-only tmpfs; the
function has no capabilities, so it cannot remount any of it. The
environment's PID namespace dies with its first process, taking every process
in it (daemons included); bwrap dies with cloudlet.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import os
import shutil
import subprocess
from pathlib import Path

from cloudlet.config import Config
from cloudlet.services.lambda_.runtimes import RuntimeChoice

log = logging.getLogger(__name__)

TASK_ROOT = "/var/task"
RUNTIME_DIR = "/var/runtime"
SUPPORT_MOUNT = "/var/cloudlet/support"
DNS_MOUNT = "/var/cloudlet/dns"
HOSTS_FILE = f"{DNS_MOUNT}/hosts"
# AWS's values for a Python runtime (aws-facts: Lambda environment variables).
PATH = f"{RUNTIME_DIR}/bin:/usr/local/bin:/usr/bin/:/bin:/opt/bin"
LD_LIBRARY_PATH = (
    f"/var/lang/lib:/lib64:/usr/lib64:{RUNTIME_DIR}:{RUNTIME_DIR}/lib:{TASK_ROOT}:{TASK_ROOT}/lib:/opt/lib"
)

# What a program needs of /etc: name lookups of localhost and users, TLS roots, time zone.
_ETC = (
    "/etc/hosts", "/etc/nsswitch.conf", "/etc/passwd", "/etc/group", "/etc/localtime",
    "/etc/ld.so.cache", "/etc/ssl", "/etc/ca-certificates", "/etc/pki", "/etc/alternatives",
)
# Every namespace; no capabilities even in its own user namespace (so no remounting the
# read-only binds writable, which as root would write through to the host) and no
# nested user namespaces to get them back.
_WALLS = ("--unshare-all", "--unshare-user", "--cap-drop", "ALL", "--disable-userns")
# Top-level directories that merged-/usr systems make symlinks into /usr.
_USR_LINKS = ("/bin", "/sbin", "/lib", "/lib64", "/lib32", "/libx32")


@dataclasses.dataclass(frozen=True)
class Isolation:
    """Whether environments run sandboxed here, and if not, why."""

    enabled: bool
    bwrap: str | None
    reason: str  # why not (empty when enabled)

    def warning(self) -> str | None:
        if self.enabled:
            return None
        return f"cloudlet: Lambda functions run without isolation (as cloudlet's user, no namespaces): {self.reason}"

    def log_line(self) -> str | None:
        """The line each unisolated environment's log starts with."""
        if self.enabled:
            return None
        return f"cloudlet: this execution environment is not isolated ({self.reason})"


class IsolationUnavailable(Exception):
    pass


def _base_mounts() -> list[str]:
    args = ["--ro-bind", "/usr", "/usr"]
    for top in _USR_LINKS:
        if os.path.islink(top):
            args += ["--symlink", os.readlink(top), top]
        elif os.path.isdir(top):
            args += ["--ro-bind", top, top]
    for path in _ETC:
        if os.path.exists(path):
            args += ["--ro-bind", path, path]
    return args


@functools.lru_cache(maxsize=4)
def probe(mode: str, bwrap: str) -> Isolation:
    """Can this machine run a sandbox? Tried once per process with a real one."""
    if mode == "off":
        return Isolation(False, None, "CLOUDLET_LAMBDA_ISOLATION=off")
    exe = shutil.which(bwrap)
    if exe is None:
        why = f"bubblewrap ({bwrap}) is not installed (Debian: apt-get install bubblewrap)"
    else:
        argv = [exe, *_WALLS, "--die-with-parent", *_base_mounts(), "--proc", "/proc",
                "--dev", "/dev", "--size", "1048576", "--tmpfs", "/tmp", "--remount-ro", "/", "true"]
        try:
            r = subprocess.run(argv, capture_output=True, text=True, timeout=20, check=False)
        except (OSError, subprocess.SubprocessError) as e:
            why = f"{exe} cannot run: {e}"
        else:
            if r.returncode == 0:
                return Isolation(True, exe, "")
            why = (r.stderr.strip().splitlines() or [f"exit status {r.returncode}"])[-1]
            why = f"{exe} cannot create namespaces here: {why}"
    if mode == "on":
        raise IsolationUnavailable(f"CLOUDLET_LAMBDA_ISOLATION=on but {why}")
    return Isolation(False, None, why)


def isolation_for(config: Config) -> Isolation:
    return probe(config.lambda_isolation, config.bwrap)


def _interpreter_prefix(venv: Path) -> Path | None:
    """The base interpreter's installation a virtualenv points at (its pyvenv.cfg home's parent)."""
    try:
        for line in (venv / "pyvenv.cfg").read_text().splitlines():
            key, _, value = line.partition("=")
            if key.strip() == "home":
                return Path(value.strip()).resolve().parent
    except OSError:
        pass
    return None


def installs_outside_usr(runtime: RuntimeChoice) -> tuple[Path, ...]:
    """A Node.js runtime's node and launcher Python installs (prefix of bin/X) not under /usr."""
    if runtime.node is None:
        return ()
    found: list[Path] = []
    for exe in (runtime.node, runtime.python):
        prefix = exe.resolve().parent.parent
        if prefix != Path("/usr") and not str(prefix).startswith("/usr/") and prefix not in found:
            found.append(prefix)
    return tuple(found)


@dataclasses.dataclass(frozen=True)
class SandboxLayout:
    """Host paths that become the environment's filesystem."""

    task_root: Path
    runtime_venv: Path
    support_dir: Path
    dns_dir: Path
    tmp_bytes: int
    extra_ro: tuple[Path, ...] = ()  # installs outside /usr the runtime runs from (node's, Python's)

    def bwrap_argv(self, bwrap: str, command: list[str]) -> list[str]:
        args = [bwrap, *_WALLS, "--die-with-parent", "--new-session", "--hostname", "localhost", *_base_mounts()]
        prefix = _interpreter_prefix(self.runtime_venv)
        if prefix is not None and not str(prefix).startswith("/usr/"):
            # An interpreter outside /usr (pyenv, /opt/python): its own install, read-only.
            args += ["--ro-bind", str(prefix), str(prefix)]
        for path in self.extra_ro:
            args += ["--ro-bind", str(path), str(path)]
        args += [
            "--ro-bind", str(self.runtime_venv), RUNTIME_DIR,
            "--ro-bind", str(self.task_root), TASK_ROOT,
            "--ro-bind", str(self.support_dir), SUPPORT_MOUNT,
            "--ro-bind", str(self.dns_dir), DNS_MOUNT,
            "--dir", "/opt",
            "--proc", "/proc",
            "--dev", "/dev",
            "--size", str(self.tmp_bytes), "--tmpfs", "/tmp",
            "--remount-ro", "/",
            "--chdir", TASK_ROOT,
            *command,
        ]
        return args
