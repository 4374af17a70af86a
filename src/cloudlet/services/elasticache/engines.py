"""Engines and versions serverless caches offer, and DescribeCacheEngineVersions' table."""

from __future__ import annotations

import dataclasses
import functools
import re
import shutil
import subprocess

from cloudlet.core.errors import AWSError


@dataclasses.dataclass(frozen=True)
class EngineVersion:
    engine: str
    version: str
    family: str
    default: bool = False

    def describe(self) -> dict[str, str]:
        label = "Valkey" if self.engine == "valkey" else "Redis"
        patch = self.version if self.version.count(".") == 2 else f"{self.version}.0"
        return {
            "Engine": self.engine,
            "EngineVersion": self.version,
            "CacheParameterGroupFamily": self.family,
            "CacheEngineDescription": label,
            "CacheEngineVersionDescription": f"{self.engine} version {patch}",
        }


ENGINE_VERSIONS: tuple[EngineVersion, ...] = (
    EngineVersion("redis", "4.0.10", "redis4.0"),
    EngineVersion("redis", "5.0.6", "redis5.0"),
    EngineVersion("redis", "6.0", "redis6.x"),
    EngineVersion("redis", "6.2", "redis6.x"),
    EngineVersion("redis", "7.0", "redis7"),
    EngineVersion("redis", "7.1", "redis7", default=True),
    EngineVersion("valkey", "7.2", "valkey7"),
    EngineVersion("valkey", "8.0", "valkey8"),
    EngineVersion("valkey", "8.1", "valkey8", default=True),
)

# Serverless: engine -> the major versions AWS offers.
SERVERLESS_MAJORS: dict[str, tuple[str, ...]] = {
    "valkey": ("7", "8", "9"),
    "redis": ("7",),
}
# Every valkey release speaks Redis OSS 7.2 (its INFO says redis_version:7.2.x): redis 7 caches run on it.
REDIS_COMPAT = "7.2"


@dataclasses.dataclass(frozen=True)
class Installed:
    """The valkey-server this machine runs caches with."""

    path: str
    version: str  # e.g. "8.0.1"

    @property
    def major(self) -> str:
        return self.version.split(".")[0]

    @property
    def major_minor(self) -> str:
        return ".".join(self.version.split(".")[:2])


@functools.lru_cache(maxsize=4)
def installed_valkey(binary: str) -> Installed | None:
    """valkey-server --version of BINARY (asked once); None when it does not run."""
    path = shutil.which(binary)
    if path is None:
        return None
    try:
        out = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    m = re.search(r"\bv=(\d+\.\d+(?:\.\d+)?)", out.stdout)
    return Installed(path, m.group(1)) if m else None


def running_full_version(engine: str, info: dict[str, object]) -> str:
    """FullEngineVersion from the running server's INFO: what it really is."""
    key = "valkey_version" if engine == "valkey" else "redis_version"
    version = str(info.get(key) or info.get("redis_version") or "")
    return ".".join(version.split(".")[:2])


def resolve_engine(engine: str, major: str | None, installed: Installed | None = None) -> tuple[str, str, str]:
    """-> (engine, major, full version) or InvalidParameterValue as AWS words it.

    With the installed valkey known, only what it can serve is accepted: valkey caches
    of its own major version (the default when none is asked for), redis 7 caches."""
    eng = engine.strip().lower()
    if eng == "memcached":
        raise AWSError(
            "InvalidParameterValue",
            "Engine memcached is not supported for serverless caches by this endpoint; use valkey or redis.",
        )
    majors = SERVERLESS_MAJORS.get(eng)
    if majors is None:
        raise AWSError("InvalidParameterValue", f"Invalid value for Engine: {engine}. Valid values are valkey, redis.")
    if major is None or major == "":
        major = installed.major if eng == "valkey" and installed is not None else max(majors, key=int)
    major = major.split(".")[0]
    if major not in majors:
        raise AWSError(
            "InvalidParameterValue",
            f"Invalid MajorEngineVersion {major} for engine {eng}. Supported: {', '.join(sorted(majors))}.",
        )
    if installed is None:  # no valkey here: the cache will be create-failed, naming why
        return eng, major, f"{major}.0" if eng == "valkey" else REDIS_COMPAT
    if eng == "redis":
        return eng, major, REDIS_COMPAT
    if major != installed.major:
        raise AWSError(
            "InvalidParameterValue",
            f"MajorEngineVersion {major} of engine valkey cannot be served on this machine: its valkey-server "
            f"({installed.path}) is version {installed.version}. Use MajorEngineVersion {installed.major}, or "
            f"install valkey {major} and name it in CLOUDLET_VALKEY_SERVER.",
        )
    return eng, major, installed.major_minor
