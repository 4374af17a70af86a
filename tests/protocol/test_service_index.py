"""The service index routes as the models themselves do, is rebuilt when botocore changes,
and start-up holds no model until its service is called."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import botocore.exceptions
import botocore.loaders
import pytest

from cloudlet.protocol import service_index
from cloudlet.protocol.service_index import info_from_model, service_infos
from cloudlet.services.registry import SERVICES

NAMES = list(SERVICES)


def test_index_holds_what_the_models_say(tmp_path: Path) -> None:
    loader = botocore.loaders.create_loader()
    built = service_infos(NAMES, tmp_path / "index.json")
    assert [i.name for i in built] == NAMES
    for info in built:
        assert info == info_from_model(info.name, loader.load_service_model(info.name, "service-2"))
    # Read back from the file: the same.
    assert service_infos(NAMES, tmp_path / "index.json") == built
    lam = next(i for i in built if i.name == "lambda")
    assert lam.protocol == "rest-json" and "2015-03-31" in lam.uri_roots
    assert next(i for i in built if i.name == "logs").target_prefix == "Logs_20140328"


def test_stale_or_foreign_index_is_rebuilt(tmp_path: Path) -> None:
    path = tmp_path / "index.json"
    forged = {"name": "sts", "protocol": "json", "signing_name": "nope", "target_prefix": "X",
              "uri_roots": [], "api_version": None}
    path.write_text(json.dumps({"key": "1:0.0.0:/elsewhere", "services": {"sts": forged}}))
    (sts,) = service_infos(["sts"], path)
    assert sts.protocol == "query" and sts.signing_name == "sts"
    assert json.loads(path.read_text())["key"] == service_index._botocore_key()


def test_unknown_service_is_left_out(tmp_path: Path) -> None:
    assert [i.name for i in service_infos(["sts", "no-such-service"], tmp_path / "i.json")] == ["sts"]


def test_unwritable_cache_still_routes(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    assert [i.name for i in service_infos(["sts"], blocker / "sub" / "index.json")] == ["sts"]


def test_start_loads_no_model_before_its_service_is_called(tmp_path: Path) -> None:
    # A fresh interpreter: the front door started, then asked to route; no model is loaded
    # until a protocol is wanted, and then only that service's.
    code = f"""
import asyncio, os
os.environ["XDG_CACHE_HOME"] = {str(tmp_path)!r}
from pathlib import Path
from cloudlet.config import Config
from cloudlet.protocol import registry
from cloudlet.server import FrontDoor
from cloudlet.services.registry import build_world
front = FrontDoor(build_world(Config.from_env({{}}, data_dir=Path({str(tmp_path / 'data')!r}), persist=False)))
async def main():
    await front.start()
    router = await front.router()
    assert router.by_target["Logs_20140328"].name == "logs"
    print(registry.load_model.cache_info().currsize)
    registry.get_protocol("sts")
    print(registry.load_model.cache_info().currsize)
    await front.stop()
asyncio.run(main())
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["0", "1"]


def test_each_botocore_install_keeps_its_own_index(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Several checkouts on one machine, each with its own virtualenv's botocore: one's start
    # must not evict the other's index (a rebuild costs ~0.35 s and ~20 MiB at every start).
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    ours = service_index.index_path(service_index._botocore_key())
    service_infos(["sts"])
    assert json.loads(ours.read_text())["key"] == service_index._botocore_key()
    other_key = "1:0.0.0:/another/checkout/.venv/botocore"
    monkeypatch.setattr(service_index, "_botocore_key", lambda: other_key)
    service_infos(["sts"])
    theirs = service_index.index_path(other_key)
    assert theirs != ours and json.loads(theirs.read_text())["key"] == other_key
    assert json.loads(ours.read_text())["key"] != other_key


def test_models_load_as_botocore_loads_them() -> None:
    # load_model skips botocore's listing of every service; what it loads is the same document.
    from cloudlet.protocol import registry

    loader = botocore.loaders.create_loader()
    for name in NAMES:
        assert registry._service_data(name) == loader.load_service_model(name, "service-2")
    with pytest.raises(botocore.exceptions.UnknownServiceError):
        registry._service_data("no-such-service")
