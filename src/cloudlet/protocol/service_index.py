"""What the front door needs to route a request, per served service, without loading its model.

Routing reads a few fields of each botocore model (protocol, signing name, JSON target
prefix, API version, the first segments of rest URIs). Parsing every model for them costs
~0.35 s and ~25 MiB (EC2's alone is 14 MiB), so they are kept in a small JSON index per
user (`$XDG_CACHE_HOME/cloudlet`, else `~/.cache/cloudlet`), valid for one botocore
version and data path (one file per botocore install: virtualenvs of several checkouts
on one machine, each with its own botocore, would otherwise rebuild it in turn at every
start); a request's own model is loaded only when that service is first
called. `python -m cloudlet.protocol.service_index` builds it (`make install` does);
without it (or when botocore changed) it is rebuilt from the models, with a throwaway
loader so none of them stays in memory, and written back when the directory allows.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

log = logging.getLogger("cloudlet.protocol")

FORMAT = 1


@dataclass
class ServiceInfo:
    name: str  # botocore service name
    protocol: str  # query | ec2 | json | rest-json
    signing_name: str
    target_prefix: str | None = None
    uri_roots: set[str] = field(default_factory=set)  # first path segments of requestUris
    api_version: str | None = None  # the query protocols' Version parameter


def info_from_model(name: str, model: dict[str, Any]) -> ServiceInfo:
    """The routing fields of one service-2.json document."""
    meta = model.get("metadata", {})
    protocol = meta.get("protocol") or (meta.get("protocols") or ["query"])[0]
    info = ServiceInfo(
        name=name,
        protocol=protocol,
        signing_name=meta.get("signingName") or meta.get("endpointPrefix") or name,
        target_prefix=meta.get("targetPrefix"),
        api_version=meta.get("apiVersion"),
    )
    if protocol.startswith("rest"):
        for op in model.get("operations", {}).values():
            uri = op.get("http", {}).get("requestUri", "")
            root = uri.split("?", 1)[0].lstrip("/").split("/", 1)[0]
            if root and "{" not in root:
                info.uri_roots.add(root)
    return info


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "cloudlet"


def _botocore_key() -> str:
    import botocore

    return f"{FORMAT}:{botocore.__version__}:{Path(botocore.__file__).parent}"


def index_path(key: str) -> Path:
    """This botocore install's index file (KEY names the install)."""
    import hashlib

    return cache_dir() / f"service-index-{hashlib.sha256(key.encode()).hexdigest()[:16]}.json"


def _read(path: Path, key: str) -> dict[str, Any]:
    try:
        doc = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return doc.get("services", {}) if isinstance(doc, dict) and doc.get("key") == key else {}


def _write(path: Path, key: str, services: dict[str, Any]) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps({"key": key, "services": services}))
        os.replace(tmp, path)
    except OSError as e:  # a read-only home: rebuilt at each start instead
        log.debug("cannot write the service index %s: %s", path, e)


def service_infos(names: list[str], path: Path | None = None) -> list[ServiceInfo]:
    """ServiceInfo for each of NAMES that botocore has a model of (others are logged and left out)."""
    key = _botocore_key()
    path = path or index_path(key)
    known = _read(path, key)
    missing = [n for n in names if n not in known]
    if missing:
        import botocore.exceptions
        import botocore.loaders

        loader = botocore.loaders.create_loader()  # its own cache: dropped with it
        for n in missing:
            try:
                info = info_from_model(n, loader.load_service_model(n, "service-2"))
            except botocore.exceptions.DataNotFoundError as e:
                log.error("no botocore model for service %s: %s", n, e)
                continue
            known[n] = {**asdict(info), "uri_roots": sorted(info.uri_roots)}
        _write(path, key, known)
    return [
        ServiceInfo(**{**known[n], "uri_roots": set(known[n]["uri_roots"])}) for n in names if n in known
    ]


if __name__ == "__main__":
    from cloudlet.services.registry import SERVICES

    infos = service_infos(list(SERVICES))
    print(f"service index: {len(infos)} services in {index_path(_botocore_key())}")
