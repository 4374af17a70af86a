"""Which Python interpreter runs a Lambda runtime, and its virtualenv.

A runtime name (python3.12) maps to a Python 3.12 on this machine; where that
version is missing the nearest one is used and the caller is told so, so the
function's log can say it. Each interpreter gets one virtualenv under
config.runtimes_dir holding awslambdaric and boto3, as AWS's runtime image does.
"""

from __future__ import annotations

import dataclasses
import fcntl
import glob
import logging
import os
import shutil
import subprocess
import sys
from pathlib import Path

from cloudlet.config import Config

log = logging.getLogger(__name__)

_READY_MARKER = ".cloudlet-runtime-ready"
_PACKAGES = ("awslambdaric", "boto3")


@dataclasses.dataclass(frozen=True)
class RuntimeChoice:
    runtime: str  # the function's runtime name, e.g. python3.12
    python: Path  # the interpreter cloudlet_launcher runs on (a Python runtime's: its venv's)
    version: tuple[int, int]  # the interpreter's version actually used (Node.js: major, minor)
    warning: str | None  # set when the runtime's own version was not found
    node: Path | None = None  # a Node.js runtime's node binary
    node_dir: Path | None = None  # a Node.js runtime's /var/runtime (the RIC and the SDK)

    @property
    def runtime_dir(self) -> Path:
        """What becomes /var/runtime: the Node.js runtime dir, or the Python venv."""
        return self.node_dir if self.node_dir is not None else self.python.parent.parent

    @property
    def language(self) -> str:
        return "nodejs" if self.node is not None else "python"


def is_supported(runtime: str) -> bool:
    """Whether cloudlet can run this runtime at all (Python and Node.js ones)."""
    from cloudlet.services.lambda_ import node_runtimes

    return runtime_version(runtime) is not None or node_runtimes.node_major(runtime) is not None


def runtime_version(runtime: str) -> tuple[int, int] | None:
    """python3.12 -> (3, 12); None for non-Python runtimes."""
    if not runtime.startswith("python"):
        return None
    major, _, minor = runtime[len("python") :].partition(".")
    if not (major.isdigit() and minor.isdigit()):
        return None
    return int(major), int(minor)


def runtime_version_label(python: Path, runtime: str) -> str:
    """INIT_START's Runtime Version in AWS's shape (python:3.12.v38): the build number is the
    patch level of the interpreter the runtime venv was made from (its pyvenv.cfg)."""
    try:
        cfg = (python.parent.parent / "pyvenv.cfg").read_text()
    except OSError:
        cfg = ""
    for line in cfg.splitlines():
        key, _, value = line.partition("=")
        parts = value.strip().split(".")
        if key.strip() in ("version", "version_info") and len(parts) >= 3 and parts[2].isdigit():
            return f"python:{parts[0]}.{parts[1]}.v{parts[2]}"
    return runtime.replace("python", "python:", 1) + ".v0"


def _candidates() -> list[Path]:
    found: list[Path] = []
    pyenv = os.environ.get("PYENV_ROOT", str(Path.home() / ".pyenv"))
    found += [Path(p) for p in sorted(glob.glob(f"{pyenv}/versions/3.*/bin/python3.*"))]
    for d in ("/usr/local/bin", "/usr/bin"):
        found += [Path(p) for p in sorted(glob.glob(f"{d}/python3.*"))]
    found.append(Path(sys.executable))
    return found


_discovered: dict[tuple[int, int], Path] | None = None


def discover_interpreters() -> dict[tuple[int, int], Path]:
    """Every real python3.X interpreter on the machine, by version (cached)."""
    global _discovered
    if _discovered is not None:
        return _discovered
    result: dict[tuple[int, int], Path] = {}
    for p in _candidates():
        name = p.name
        versioned = name.startswith("python3.") and name[len("python3.") :].isdigit()
        if not versioned and p != Path(sys.executable):
            continue
        if not (p.is_file() and os.access(p, os.X_OK)):
            continue
        try:
            out = subprocess.run(
                [str(p), "-c", "import sys;print(sys.version_info[0],sys.version_info[1])"],
                check=False,
                capture_output=True,
                text=True,
                timeout=10,
            )
        except (OSError, subprocess.SubprocessError):
            continue
        parts = out.stdout.split()
        if out.returncode != 0 or len(parts) != 2:
            continue
        result.setdefault((int(parts[0]), int(parts[1])), p)
    _discovered = result
    return result


def choose_interpreter(runtime: str) -> tuple[Path, tuple[int, int], str | None]:
    want = runtime_version(runtime)
    if want is None:
        raise ValueError(f"{runtime} is not a Python runtime")
    found = discover_interpreters()
    if want in found:
        return found[want], want, None
    if not found:
        raise RuntimeError("no Python 3 interpreter found on this machine")
    # Nearest minor version; on a tie the newer one (closer to what AWS ships next).
    best = min(found, key=lambda v: (abs(v[1] - want[1]) + 100 * abs(v[0] - want[0]), -v[1]))
    warning = (
        f"cloudlet: no Python {want[0]}.{want[1]} on this machine for runtime {runtime}; "
        f"running it with Python {best[0]}.{best[1]} ({found[best]})"
    )
    return found[best], best, warning


def _has_packages(python: Path) -> bool:
    code = "import " + ",".join(_PACKAGES)
    r = subprocess.run([str(python), "-c", code], check=False, capture_output=True, timeout=60)
    return r.returncode == 0


def ensure_runtime_choice(config: Config, runtime_name: str) -> RuntimeChoice:
    """The interpreter runtime_name runs on, creating its venv on first need."""
    if runtime_name.startswith("nodejs"):
        from cloudlet.services.lambda_ import node_runtimes

        return node_runtimes.ensure_node_runtime(config, runtime_name)
    base, version, warning = choose_interpreter(runtime_name)
    venv = Path(config.runtimes_dir) / f"python{version[0]}.{version[1]}"
    python = venv / "bin" / "python"
    marker = venv / _READY_MARKER
    if marker.exists() and python.exists():
        return RuntimeChoice(runtime_name, python, version, warning)
    venv.parent.mkdir(parents=True, exist_ok=True)
    # One creator at a time across processes (the Makefile's install and a server).
    with open(venv.parent / f".{venv.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (marker.exists() and python.exists()):
            if venv.exists() and not python.exists():
                shutil.rmtree(venv)
            if not python.exists():
                log.info("creating Lambda runtime venv %s from %s", venv, base)
                # System site-packages: an interpreter that already has boto3 needs no download.
                subprocess.run(
                    [str(base), "-m", "venv", "--system-site-packages", str(venv)],
                    check=True,
                    capture_output=True,
                    timeout=300,
                )
            if not _has_packages(python):
                log.info("installing %s into %s (pip, downloads on the first run)", " ".join(_PACKAGES), venv)
                subprocess.run(
                    [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check", *_PACKAGES],
                    check=True,
                    capture_output=True,
                    timeout=900,
                )
            if not _has_packages(python):
                raise RuntimeError(f"runtime venv {venv} lacks {_PACKAGES} after install")
            marker.write_text(f"{base}\n")
    return RuntimeChoice(runtime_name, python, version, warning)


def main(argv: list[str] | None = None) -> int:
    """`python -m cloudlet.services.lambda_.runtimes [python3.12 nodejs20.x ...]`: pre-build runtimes."""
    # Plain indented lines under the Makefile's step line, not logging's LEVEL:logger: prefix.
    logging.basicConfig(level=logging.INFO, format="    %(message)s", stream=sys.stdout, force=True)
    names = (argv if argv is not None else sys.argv[1:]) or ["python3.12", "python3.11"]
    config = Config.from_env()
    for name in names:
        choice = ensure_runtime_choice(config, name)
        version = ".".join(map(str, choice.version))
        if choice.node is not None:
            print(f"    {name}: ready (Node.js {version}, {choice.node}, {choice.runtime_dir})")
        else:
            print(f"    {name}: ready (Python {version}, {choice.python})")
        if choice.warning:
            print(f"      note: {choice.warning}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
