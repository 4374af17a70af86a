"""Two cloudlets on one machine (two users, two test runs) share the loopback /16:
an address probed free at create may be bound by the other before this cache's TLS
endpoint opens. The cache then moves to the next free address instead of failing."""

from __future__ import annotations

import socket
import ssl
from pathlib import Path

import pytest
from ec_harness import Harness

from cloudlet.services.elasticache import addresses

NET = "127.93"


def test_cache_moves_off_an_address_taken_after_allocation(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    taken = f"{NET}.0.1"
    other = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        other.bind((taken, 6379))
    except OSError:
        other.close()
        pytest.skip(f"{taken}:6379 is in use by something else")
    other.listen()
    # The other cloudlet binds between our probe and our listen: the probe saw it free.
    real_probe = addresses._ports_free
    monkeypatch.setattr(addresses, "_ports_free", lambda a: a == taken or real_probe(a))
    h = Harness(tmp_path, cache_net=NET)
    try:
        h.call("CreateServerlessCache", ServerlessCacheName="raced", Engine="valkey")
        h.wait_status("raced", "available")
        cache = h.cache("raced")
        assert cache.address != taken and cache.address.startswith(NET + ".")
        assert h.world.hosts.resolve(cache.hostname) == cache.address
        # The TLS endpoint really is at the new address.
        ctx = ssl.create_default_context(cafile=str(tmp_path / "ca" / "ca.pem"))
        ctx.check_hostname = False
        with socket.create_connection((cache.address, 6379), timeout=5) as raw:
            with ctx.wrap_socket(raw) as tls:
                tls.sendall(b"PING\r\n")
                assert tls.recv(100) == b"+PONG\r\n"
        # A second cache does not get the raced address either while it is taken.
        monkeypatch.setattr(addresses, "_ports_free", real_probe)
        h.call("CreateServerlessCache", ServerlessCacheName="second", Engine="valkey")
        h.wait_status("second", "available")
        assert h.cache("second").address not in (taken, cache.address)
    finally:
        h.close()
        other.close()
