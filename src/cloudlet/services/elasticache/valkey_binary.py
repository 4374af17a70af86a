"""Is the configured valkey-server usable? Checked when cloudlet starts, so that a
missing or too old binary is named on the terminal with the command that installs
it, rather than first seen as a create-failed cache. cloudlet still starts without
it: every other service works, and each cache's create-failed reason names it too.
"""

from __future__ import annotations

import re
import shutil
import subprocess

MIN_MAJOR = 8
# Debian 12 ships valkey only in bookworm-backports; installing it needs root.
INSTALL_AS_ROOT = (
    "echo 'deb http://deb.debian.org/debian bookworm-backports main' "
    "> /etc/apt/sources.list.d/bookworm-backports.list && apt-get update && "
    "apt-get install -y -t bookworm-backports valkey-server valkey-tools"
)


def valkey_problem(binary: str) -> str | None:
    """None when BINARY runs and is valkey MIN_MAJOR or newer; otherwise what is wrong."""
    path = shutil.which(binary)
    if path is None:
        where = "does not exist" if "/" in binary else "is not on PATH"
        return f"{binary} {where} (CLOUDLET_VALKEY_SERVER names the valkey-server binary)"
    try:
        out = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError) as e:
        return f"{path} does not run: {e}"
    m = re.search(r"\bv=(\d+)\.", out.stdout)
    if out.returncode != 0 or m is None:
        said = (out.stdout.strip() or out.stderr.strip()).splitlines()
        return f"{path} --version does not report a valkey version: {said[0] if said else '(nothing)'}"
    if int(m.group(1)) < MIN_MAJOR:
        return f"{path} is valkey {m.group(1)}, cloudlet needs valkey {MIN_MAJOR} or newer"
    return None


def valkey_warning(binary: str) -> str | None:
    """The start-up warning for BINARY's problem, with the fix; None when it is fine."""
    problem = valkey_problem(binary)
    if problem is None:
        return None
    return (
        f"cloudlet: {problem}; serverless caches will be create-failed until it is installed.\n"
        f"  Run as root: {INSTALL_AS_ROOT}"
    )
