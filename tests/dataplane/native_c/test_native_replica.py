"""The reader endpoint's valkey: a cluster replica of the primary, both with the module. Its
replication link logs in through the primary's verifier as cloudlet's admin (so PSYNC and
REPLCONF pass the primary's filter) and the primary's REPLCONF GETACK passes the replica's
filter (valkey's link to its primary has no ACL user); clients still cannot use either."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from cloudlet.dataplane import replies as wording
from cloudlet.dataplane.native.build import NativeArtifacts

from .native_harness import ADMIN_PW, NativeValkey, encode, raw


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _until(check: object, what: str, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():  # type: ignore[operator]
                return
        except redis.RedisError:
            pass
        time.sleep(0.1)
    pytest.fail(f"timed out waiting for {what}")


@pytest.fixture
def pair(tmp_path: Path, artifacts: NativeArtifacts) -> Iterator[tuple[NativeValkey, NativeValkey]]:
    # The primary's TLS port is the hand-off, reachable only through cloudlet: the replica's link
    # uses a plain port of the primary (inside the cache's namespace in cloudlet).
    plain = _free_port()
    primary = NativeValkey(tmp_path / "p", artifacts, extra=["--port", str(plain)])
    primary.plain_port = plain  # type: ignore[attr-defined]
    replica = NativeValkey(tmp_path / "r", artifacts,
                           extra=["--masteruser", "cloudlet-admin", "--masterauth", ADMIN_PW])
    try:
        primary.wait_ready()
        replica.wait_ready(slots=False)
        yield primary, replica
    finally:
        replica.stop()
        primary.stop()


def test_replica_replicates_through_the_modules(pair: tuple[NativeValkey, NativeValkey]) -> None:
    primary, replica = pair
    ra = replica.admin()
    ra.execute_command("CLUSTER", "MEET", "127.0.0.1", str(primary.plain_port), str(primary.bus_port))  # type: ignore[attr-defined]
    primary_id = primary.admin().execute_command("CLUSTER", "MYID").decode()
    _until(lambda: primary_id.encode() in ra.execute_command("CLUSTER", "NODES"), "the replica to know the primary")
    ra.execute_command("CLUSTER", "REPLICATE", primary_id)
    _until(lambda: ra.info("replication").get("master_link_status") == "up", "the replication link")
    # A client writes on the primary; a READONLY client reads it on the replica's own TLS port.
    primary.client().set("r", "1")
    reader = replica.client()
    reader.execute_command("READONLY")
    _until(lambda: reader.get("r") == b"1", "the write to reach the replica")
    # WAIT (renamed: cloudlet's own) makes the primary send REPLCONF GETACK down the link, which
    # the replica's filter lets through: the replica acknowledges.
    assert primary.admin().execute_command(primary.secrets[b"WAIT"], "1", "5000") == 1
    # Neither lets a client replicate.
    for cache in (primary, replica):
        args = [b"PSYNC", b"?", b"-1"]
        assert raw(cache, encode(*args)) == [wording.unknown_command(args).rstrip(b"\r\n")]
