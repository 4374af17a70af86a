"""Build the native data plane's shared objects with the machine's gcc, once per source.

cloudlet_module.so (loaded by valkey: auth through cloudlet's verifier, command refusals,
transaction rules, throttle) and handoff.so (LD_PRELOAD: valkey's TLS listener fed with the
fds cloudlet accepted) are compiled from the .c files beside this one into
`$XDG_CACHE_HOME/cloudlet/native/<key>/` (else `~/.cache/cloudlet/...`), where the key is a
sha256 of the sources, the flags and gcc's version: an edited source or another gcc builds
anew, everything else reuses the build. A build goes into a private directory renamed into
place, so concurrent builders (several cloudlets, tests in parallel) never see half a file.

`python -m cloudlet.dataplane.native.build` builds ahead (make install does).
"""

from __future__ import annotations

import functools
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
SOURCES = {"cloudlet_module": HERE / "cloudlet_module.c", "handoff": HERE / "handoff.c"}
CFLAGS = ("-O2", "-Wall", "-Wextra", "-shared", "-fPIC", "-pthread")
LIBS = ("-ldl",)


class NativeBuildError(RuntimeError):
    """The shared objects cannot be built here (no gcc, or it refused the sources)."""


@dataclass(frozen=True)
class NativeArtifacts:
    module: Path  # valkey's `loadmodule`
    handoff: Path  # valkey's LD_PRELOAD


def cache_root() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "cloudlet" / "native"


def _gcc() -> str:
    gcc = shutil.which("gcc")
    if gcc is None:
        raise NativeBuildError("gcc is not installed: the native data plane needs gcc and libc6-dev "
                               "(as root: apt-get install gcc libc6-dev)")
    return gcc


def _key(gcc: str) -> str:
    h = hashlib.sha256()
    version = subprocess.run([gcc, "--version"], capture_output=True, check=False).stdout
    for part in (version, " ".join(CFLAGS + LIBS).encode()):
        h.update(len(part).to_bytes(8, "big") + part)
    for name, src in sorted(SOURCES.items()):
        data = src.read_bytes()
        h.update(name.encode() + b"\0" + len(data).to_bytes(8, "big") + data)
    return h.hexdigest()[:32]


@functools.cache
def native_artifacts(root: Path | None = None) -> NativeArtifacts:
    """The built shared objects, building them first when this source has not been built."""
    gcc = _gcc()
    root = cache_root() if root is None else root
    out = root / _key(gcc)
    artifacts = NativeArtifacts(module=out / "cloudlet_module.so", handoff=out / "handoff.so")
    if artifacts.module.is_file() and artifacts.handoff.is_file():
        return artifacts
    root.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".build-", dir=root))
    try:
        for name, src in SOURCES.items():
            cmd = [gcc, *CFLAGS, "-o", str(work / f"{name}.so"), str(src), *LIBS]
            got = subprocess.run(cmd, capture_output=True, text=True, check=False)
            if got.returncode != 0:
                raise NativeBuildError(f"gcc could not build {src.name}: {got.stderr.strip()}")
        try:
            work.rename(out)
        except OSError:
            if not (artifacts.module.is_file() and artifacts.handoff.is_file()):
                raise  # not another builder's finished copy: a real failure
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return artifacts


def main() -> int:
    try:
        built = native_artifacts()
    except NativeBuildError as e:
        print(f"cloudlet: {e}", file=sys.stderr)
        return 1
    print(built.module.parent)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
