"""`make install`'s system check, as an ordinary user: silent when python3-venv, zip, openssl,
bubblewrap, valkey-server 8, node and npm and aws-lambda-ric's build tools, gcc, and chromium (the console's
browser tests) are there; otherwise it names what is missing, prints the one
command to run as root and stops. Run under a PATH that holds only what the recipe
needs, so "missing" is real; as root the check runs as nobody (setpriv)."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
MAKE = shutil.which("make")
SETPRIV = shutil.which("setpriv")
NOBODY = "65534"

pytestmark = pytest.mark.skipif(MAKE is None, reason="make is not installed")


@pytest.fixture
def world() -> Iterator[Path]:
    # World-readable (nobody runs in it), unlike pytest's tmp_path.
    d = Path(tempfile.mkdtemp(prefix="cloudlet-make-"))
    d.chmod(0o755)
    yield d
    shutil.rmtree(d)


def _bin(world: Path, *tools: str) -> Path:
    b = world / "bin"
    b.mkdir(exist_ok=True)
    for t in ("id", "grep", *tools):
        real = shutil.which(t)
        assert real is not None, t
        (b / t).symlink_to(real)
    return b


def _script(world: Path, name: str, body: str) -> Path:
    p = world / name
    p.write_text("#!/bin/sh\n" + body + "\n")
    p.chmod(0o755)
    return p


def _with_venv(world: Path) -> Path:
    """A python3 whose `import ensurepip, venv` succeeds (the recipe only asks that)."""
    return _script(world, "python-with-venv", 'case "$*" in *"import ensurepip, venv"*) exit 0;; *) exit 1;; esac')


def _make_system(path: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    assert MAKE is not None
    cmd = [MAKE, "--no-print-directory", "-C", str(REPO), "system", *args]
    if os.geteuid() == 0:
        if SETPRIV is None:
            pytest.skip("running as root without setpriv to drop to an ordinary user")
        cmd = [SETPRIV, f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups", *cmd]
    full = {"PATH": str(path), "HOME": "/nonexistent", "LANG": "C", **(env or {})}
    return subprocess.run(cmd, env=full, capture_output=True, text=True, timeout=60, cwd="/", check=False)


# What the Node.js runtimes need: node, npm, and the tools aws-lambda-ric compiles with.
NODE_TOOLS = ("node", "npm", "cmake", "make", "g++", "autoconf", "automake", "libtoolize")
# What the native data plane's valkey module is built with (CLOUDLET_DATAPLANE=native).
NATIVE_TOOLS = ("gcc",)


def test_silent_when_everything_is_there(world: Path) -> None:
    b = _bin(world, "zip", "openssl", "bwrap", "valkey-server", *NODE_TOOLS, *NATIVE_TOOLS, "chromium")
    r = _make_system(b, f"PYTHON={_with_venv(world)}")
    assert r.returncode == 0, r.stderr
    assert r.stdout == "" and r.stderr == ""


def test_everything_missing_gives_one_command(world: Path) -> None:
    b = _bin(world)
    no_venv = _script(world, "python-without-venv", "exit 1")
    r = _make_system(b, f"PYTHON={no_venv}", "APT_SOURCES=/nonexistent")
    assert r.returncode != 0
    lines = r.stderr.splitlines()
    assert lines[0] == ("Missing: python3-venv zip openssl bubblewrap nodejs npm chromium cmake make g++ gcc autoconf automake "
                        "libtool valkey-server 8 (valkey-server). Run as root, then make again:")
    assert lines[1] == (
        "  echo 'deb http://deb.debian.org/debian bookworm-backports main' > "
        "/etc/apt/sources.list.d/bookworm-backports.list && apt-get update && "
        "apt-get install -y python3-venv zip openssl bubblewrap nodejs npm chromium cmake make g++ gcc autoconf automake libtool && "
        "apt-get install -y -t bookworm-backports valkey-server valkey-tools"
    )
    assert subprocess.run(["bash", "-n", "-c", lines[1]], check=False).returncode == 0
    assert "installing" not in r.stdout


def test_valkey_checked_is_the_one_cloudlet_runs(world: Path) -> None:
    b = _bin(world, "zip", "openssl", "bwrap", "valkey-server", *NODE_TOOLS, *NATIVE_TOOLS, "chromium")
    sources = world / "sources.list"
    sources.write_text("deb http://deb.debian.org/debian bookworm-backports main\n")
    old = _script(world, "valkey-7", "echo 'Valkey server v=7.2.5 sha=00000000:0'")
    r = _make_system(b, f"PYTHON={_with_venv(world)}", f"APT_SOURCES={sources}",
                     env={"CLOUDLET_VALKEY_SERVER": str(old)})
    assert r.returncode != 0
    assert r.stderr.splitlines()[:2] == [
        f"Missing: valkey-server 8 ({old}). Run as root, then make again:",
        "  apt-get update && apt-get install -y -t bookworm-backports valkey-server valkey-tools",
    ]


def test_missing_node_build_tools_are_named(world: Path) -> None:
    b = _bin(world, "zip", "openssl", "bwrap", "valkey-server", "node", "npm", "make", "g++", *NATIVE_TOOLS, "chromium")
    r = _make_system(b, f"PYTHON={_with_venv(world)}")
    assert r.returncode != 0
    assert r.stderr.splitlines()[:2] == [
        "Missing: cmake autoconf automake libtool. Run as root, then make again:",
        "  apt-get update && apt-get install -y cmake autoconf automake libtool",
    ]
