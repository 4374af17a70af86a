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


class VersionCheck:
    """`BINARY --version`, started at once and read by `problem()`: `cloudlet start` runs it
    while the server's modules load instead of waiting for it first."""

    def __init__(self, binary: str) -> None:
        self.binary = binary
        self.path = shutil.which(binary)
        self._proc: subprocess.Popen[str] | None = None
        self._found: str | None = None
        if self.path is None:
            where = "does not exist" if "/" in binary else "is not on PATH"
            self._found = f"{binary} {where} (CLOUDLET_VALKEY_SERVER names the valkey-server binary)"
            return
        try:
            self._proc = subprocess.Popen([self.path, "--version"], stdin=subprocess.DEVNULL,
                                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        except OSError as e:
            self._found = f"{self.path} does not run: {e}"

    def problem(self) -> str | None:
        """None when the binary runs and is valkey MIN_MAJOR or newer; otherwise what is wrong."""
        proc, path = self._proc, self.path
        if proc is None:
            return self._found
        try:
            stdout, stderr = proc.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            self.cancel()
            return f"{path} does not run: {path} --version did not answer within 10 s"
        m = re.search(r"\bv=(\d+)\.", stdout)
        if proc.returncode != 0 or m is None:
            said = (stdout.strip() or stderr.strip()).splitlines()
            return f"{path} --version does not report a valkey version: {said[0] if said else '(nothing)'}"
        if int(m.group(1)) < MIN_MAJOR:
            return f"{path} is valkey {m.group(1)}, cloudlet needs valkey {MIN_MAJOR} or newer"
        return None

    def cancel(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.kill()
            self._proc.communicate()


def valkey_problem(binary: str) -> str | None:
    """None when BINARY runs and is valkey MIN_MAJOR or newer; otherwise what is wrong."""
    return VersionCheck(binary).problem()


def valkey_warning(problem: str | None) -> str | None:
    """The start-up warning for a valkey binary's PROBLEM, with the fix; None when there is none."""
    if problem is None:
        return None
    return (
        f"cloudlet: {problem}; serverless caches will be create-failed until it is installed.\n"
        f"  Run as root: {INSTALL_AS_ROOT}"
    )
