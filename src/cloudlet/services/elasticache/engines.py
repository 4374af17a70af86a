"""Engines and versions serverless caches offer, and DescribeCacheEngineVersions' table."""

from __future__ import annotations

import dataclasses

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

# Serverless: engine -> major version -> the full version a new cache runs.
SERVERLESS_MAJORS: dict[str, dict[str, str]] = {
    "valkey": {"7": "7.2", "8": "8.0"},
    "redis": {"7": "7.1"},
}


def resolve_engine(engine: str, major: str | None) -> tuple[str, str, str]:
    """-> (engine, major, full version) or InvalidParameterValue as AWS words it."""
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
        major = max(majors, key=int)
    major = major.split(".")[0]
    if major not in majors:
        raise AWSError(
            "InvalidParameterValue",
            f"Invalid MajorEngineVersion {major} for engine {eng}. Supported: {', '.join(sorted(majors))}.",
        )
    return eng, major, majors[major]
