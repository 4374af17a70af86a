"""Which node binary runs a nodejs* Lambda runtime, and the runtime dir beside it.

A runtime name (nodejs20.x) maps to a Node.js 20 on this machine; where that
major version is missing the nearest one is used and the caller is told so, so
the function's log can say it (as for Python runtimes). Each node major gets one
runtime dir under config.runtimes_dir holding AWS's runtime interface client
(aws-lambda-ric, whose native part is compiled against that node) and a pinned
set of the AWS SDK for JavaScript v3, installed with `npm ci` from the
package-lock.json committed beside this module. That dir becomes /var/runtime.
"""

from __future__ import annotations

import fcntl
import glob
import hashlib
import logging
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from cloudlet.config import Config
from cloudlet.services.lambda_.runtimes import RuntimeChoice, discover_interpreters

log = logging.getLogger(__name__)

PACKAGE_DIR = Path(__file__).parent / "nodejs"  # package.json + package-lock.json
RIC_ENTRY = "node_modules/aws-lambda-ric/dist/index.mjs"
_READY_MARKER = ".cloudlet-runtime-ready"


def node_major(runtime: str) -> int | None:
    """nodejs20.x -> 20; None for other runtimes."""
    m = re.fullmatch(r"nodejs(\d+)\.x", runtime)
    return int(m.group(1)) if m else None


def _candidates() -> list[Path]:
    found: list[Path] = []
    on_path = shutil.which("node")
    if on_path:
        found.append(Path(on_path))
    found += [Path("/usr/local/bin/node"), Path("/usr/bin/node")]
    nvm = os.environ.get("NVM_DIR", str(Path.home() / ".nvm"))
    found += [Path(p) for p in sorted(glob.glob(f"{nvm}/versions/node/v*/bin/node"))]
    return found


_discovered: dict[int, tuple[Path, tuple[int, int]]] | None = None


def discover_nodes() -> dict[int, tuple[Path, tuple[int, int]]]:
    """Every node on the machine by major version: its path and (major, minor) (cached)."""
    global _discovered
    if _discovered is not None:
        return _discovered
    result: dict[int, tuple[Path, tuple[int, int]]] = {}
    for p in _candidates():
        if not (p.is_file() and os.access(p, os.X_OK)):
            continue
        try:
            out = subprocess.run([str(p), "-p", "process.versions.node"], check=False,
                                 capture_output=True, text=True, timeout=20)
        except (OSError, subprocess.SubprocessError):
            continue
        parts = out.stdout.strip().split(".")
        if out.returncode != 0 or len(parts) < 2 or not (parts[0].isdigit() and parts[1].isdigit()):
            continue
        result.setdefault(int(parts[0]), (p.resolve(), (int(parts[0]), int(parts[1]))))
    _discovered = result
    return result


def choose_node(runtime: str) -> tuple[Path, tuple[int, int], str | None]:
    want = node_major(runtime)
    if want is None:
        raise ValueError(f"{runtime} is not a Node.js runtime")
    found = discover_nodes()
    if want in found:
        path, version = found[want]
        return path, version, None
    if not found:
        raise RuntimeError("no Node.js (node) found on this machine; Debian: apt-get install nodejs")
    # Nearest major; on a tie the newer one.
    best = min(found, key=lambda m: (abs(m - want), -m))
    path, version = found[best]
    warning = (f"cloudlet: no Node.js {want} on this machine for runtime {runtime}; "
               f"running it with Node.js {version[0]}.{version[1]} ({path})")
    return path, version, warning


def launcher_python() -> Path:
    """The Python cloudlet_launcher runs on before it becomes node: one under /usr if any
    (already in every sandbox), else the newest found."""
    found = discover_interpreters()
    if not found:
        return Path(sys.executable)
    in_usr = [v for v, p in found.items() if str(p).startswith("/usr/")]
    return found[max(in_usr or found)]


def _lock_digest() -> str:
    h = hashlib.sha256()
    for name in ("package.json", "package-lock.json"):
        h.update((PACKAGE_DIR / name).read_bytes())
    return h.hexdigest()


def _npm_for(node: Path) -> list[str]:
    """npm run by this node: the npm installed beside it, else PATH's."""
    beside = node.parent.parent / "lib" / "node_modules" / "npm" / "bin" / "npm-cli.js"
    if beside.is_file():
        return [str(node), str(beside)]
    npm = shutil.which("npm")
    if npm is None:
        raise RuntimeError("npm is not installed (Debian: apt-get install npm); it builds the Node.js runtime")
    return [npm]


def _install(node: Path, target: Path) -> None:
    """npm ci of the locked packages into TARGET; aws-lambda-ric compiles its native client here."""
    for name in ("package.json", "package-lock.json"):
        shutil.copyfile(PACKAGE_DIR / name, target / name)
    env = {**os.environ, "PATH": f"{node.parent}:{os.environ.get('PATH', '/usr/bin:/bin')}"}
    # node-gyp builds against the installed headers rather than downloading them.
    headers = node.parent.parent / "include" / "node"
    if (headers / "node_api.h").is_file():
        env["npm_config_nodedir"] = str(node.parent.parent)
    r = subprocess.run([*_npm_for(node), "ci", "--no-audit", "--no-fund", "--omit=dev"], cwd=target, env=env,
                       check=False, capture_output=True, text=True, timeout=1800)
    if r.returncode != 0:
        tail = "\n".join((r.stdout + r.stderr).strip().splitlines()[-15:])
        raise RuntimeError(
            f"npm ci in {target} failed (aws-lambda-ric needs cmake, make, g++, autoconf, automake, libtool "
            f"and python3 to compile its native client):\n{tail}")
    if not (target / RIC_ENTRY).is_file():
        raise RuntimeError(f"{target} lacks {RIC_ENTRY} after npm ci")


def ensure_node_runtime(config: Config, runtime_name: str) -> RuntimeChoice:
    """The node runtime_name runs on and its runtime dir, built on first need."""
    node, version, warning = choose_node(runtime_name)
    target = Path(config.runtimes_dir) / f"nodejs{version[0]}"
    marker = target / _READY_MARKER
    digest = _lock_digest()
    choice = RuntimeChoice(runtime_name, launcher_python(), version, warning, node=node, node_dir=target)

    def ready() -> bool:
        try:
            return marker.read_text().split()[0] == digest and (target / RIC_ENTRY).is_file()
        except (OSError, IndexError):
            return False

    if ready():
        return choice
    target.parent.mkdir(parents=True, exist_ok=True)
    # One builder at a time across processes (the Makefile's install and a server).
    with open(target.parent / f".{target.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not ready():
            if target.exists():
                shutil.rmtree(target)
            target.mkdir()
            log.info("building Lambda runtime %s for %s (npm ci; compiles aws-lambda-ric, minutes the first time)",
                     target, node)
            _install(node, target)
            marker.write_text(f"{digest} {node}\n")
    return choice
