"""The record codec: every field type services use comes back equal; records written by
an older or newer cloudlet (fields missing or unknown) still load."""

from __future__ import annotations

import datetime as dt
import json
import secrets
from pathlib import Path

import pytest

from cloudlet.core import codec
from cloudlet.core.context import Principal
from cloudlet.core.identity import Credential
from cloudlet.core.store import param_hints
from cloudlet.services.elasticache.state import ServerlessCache
from cloudlet.services.iam.model import ManagedPolicy, PolicyVersion, Role
from cloudlet.services.lambda_.models import (
    Alias,
    CodePackage,
    Function,
    FunctionVersion,
)


def _roundtrip(obj: object, base: Path | None = None, exclude: frozenset[str] = frozenset()) -> object:
    text = json.dumps(codec.encode(obj, exclude, base))
    return codec.decode_record(type(obj), json.loads(text), base=base)


def test_iam_records_round_trip() -> None:
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    role = Role(name="r", path="/a/", id="AROA1", arn="arn:aws:iam::1:role/a/r", create_date=now,
                attached=["arn:aws:iam::aws:policy/X"], inline={"p": "{}"}, tags={"k": "v"},
                assume_role_policy_text='{"Version":"2012-10-17"}', max_session_duration=7200)
    assert _roundtrip(role) == role
    policy = ManagedPolicy(name="p", path="/", id="ANPA1", arn="arn:aws:iam::1:policy/p", create_date=now,
                           update_date=now, default_version_id="v1",
                           versions={"v1": PolicyVersion("v1", "{}", now)})
    assert _roundtrip(policy) == policy


def test_paths_in_the_data_dir_are_stored_relative(tmp_path: Path) -> None:
    data = tmp_path / "data"
    pkg = CodePackage("b64", "hex", 10, 20, data / "lambda" / "x.zip", data / "lambda" / "tasks" / "hex")
    fv = FunctionVersion(name="f", account_id="1", region="r", version="$LATEST", runtime="python3.12",
                         role="arn", handler="h.h", code=pkg, environment={"A": "1"})
    fn = Function(latest=fv, aliases={"live": Alias("live", "1")}, policies={"$LATEST": [{"Sid": "s"}]},
                  reserved_concurrency=3)
    encoded = codec.encode(fn, base=data)
    assert encoded["latest"]["code"]["zip_path"] == "@data/lambda/x.zip"
    moved = tmp_path / "moved"
    back = codec.decode_record(Function, json.loads(json.dumps(encoded)), base=moved)
    assert back.latest.code.zip_path == moved / "lambda" / "x.zip"
    assert back.aliases == fn.aliases and back.policies == fn.policies and back.reserved_concurrency == 3


def test_bytes_tuples_and_runtime_fields(tmp_path: Path) -> None:
    cache = ServerlessCache(name="c", arn="a", engine="valkey", major_version="8", full_version="8.0",
                            hostname="h", address="127.77.0.1", workdir=tmp_path / "w",
                            socket=Path("/run/x.sock"), backend_secret=secrets.token_bytes(32))
    back = _roundtrip(cache, base=tmp_path, exclude=frozenset({"process"}))
    assert back == cache
    principal = Principal(arn="arn:aws:sts::1:assumed-role/r/s", account_id="1", user_id="AROA:s",
                          type="AssumedRole", name="r", session_policies=({"Statement": []},),
                          session_tags=(("k", "v"),))
    cred = Credential("ASIA1", "secret", principal, session_token="tok", expires_at=1e10)
    assert _roundtrip(cred) == cred


def test_older_and_newer_records_load() -> None:
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    old = {"name": "r", "path": "/", "id": "AROA1", "arn": "arn", "create_date": now.isoformat()}
    role = codec.decode_record(Role, old)  # written before later fields existed: their defaults
    assert role.max_session_duration == 3600 and role.tags == {}
    newer = dict(old, field_of_the_future=1)  # a field this cloudlet does not know is ignored
    assert codec.decode_record(Role, newer) == role
    with pytest.raises(TypeError):
        codec.decode_record(Role, {"name": "r"})  # a required field missing is an error, not a guess


def test_param_hints_name_resources_by_name_arn_and_segment() -> None:
    hints = param_hints({
        "FunctionName": "arn:aws:lambda:us-east-1:1:function:Echo:live",
        "RoleName": "MyRole",
        "UserIdsToAdd": ["u1"],
        "PolicyDocument": "x" * 5000,
    })
    assert {"Echo", "live", "myrole", "MyRole", "u1"} <= hints
    assert not any(len(h) > 2048 for h in hints)
