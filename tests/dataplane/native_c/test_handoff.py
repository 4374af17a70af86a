"""handoff.so: valkey's TLS listener serves the fds cloudlet accepted and passed over the
SOCK_SEQPACKET socket, each client with its own peer address; every other socket (the unix
socket, the cluster bus) stays valkey's own; malformed messages are skipped; when cloudlet's end
closes valkey shuts down instead of spinning."""

from __future__ import annotations

import os
import socket
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import redis

from cloudlet.dataplane.native.build import NativeArtifacts

from .native_harness import APP, APP_PW, NativeValkey, encode, replies


def test_passed_fds_are_served_over_tls_with_their_peer_address(cache: NativeValkey) -> None:
    # valkey never bound the port: the only listener on it is "cloudlet's" (this test's).
    r = cache.client()
    assert r.ping() and r.set("h", "1")
    local = r.connection._sock.getsockname()  # type: ignore[union-attr]
    assert r.connection._sock.version() is not None  # type: ignore[union-attr]  # TLS, terminated by valkey
    assert local in cache.accepted
    # valkey sees the client's own address (CLIENT LIST is cloudlet's, on the admin connection).
    clients = cache.admin().client_list()
    assert any(c["addr"] == f"{local[0]}:{local[1]}" for c in clients)


def test_many_connections_at_once(cache: NativeValkey) -> None:
    def one(i: int) -> bytes | None:
        r = cache.client()
        r.set(f"c{i}", str(i))
        got = r.get(f"c{i}")
        r.close()
        return got

    with ThreadPoolExecutor(32) as pool:
        assert list(pool.map(one, range(64))) == [str(i).encode() for i in range(64)]


def test_the_unix_socket_and_cluster_bus_are_valkeys_own(cache: NativeValkey) -> None:
    assert cache.admin().ping()
    assert b"cluster_state:ok" in cache.admin().execute_command("CLUSTER", "INFO")
    # valkey bound its cluster bus itself (plain TCP, no hand-off): it accepts there.
    with socket.create_connection((cache.address, cache.bus_port), timeout=5):
        pass


def _send(sock: socket.socket, fds: list[int]) -> None:
    if fds:
        socket.send_fds(sock, [b"c"], fds)
    else:
        sock.send(b"c")


def test_messages_without_one_fd_are_skipped(own_cache: NativeValkey) -> None:
    """A message with no fd, and one with two, are dropped (the fds closed); the next good one
    is served."""
    a, b = socket.socketpair()
    c, d = socket.socketpair()
    _send(own_cache.handoff, [])
    _send(own_cache.handoff, [a.fileno(), c.fileno()])
    a.close()
    c.close()
    for peer in (b, d):  # valkey closed its copies: our ends see EOF
        peer.settimeout(5)
        assert peer.recv(1) == b""
    assert own_cache.client().ping()


def test_a_connection_gone_before_valkey_took_it_is_skipped(own_cache: NativeValkey) -> None:
    """A reset connection still in the queue does not stop the ones behind it."""
    gone = socket.create_connection((own_cache.address, own_cache.port))
    gone.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    gone.close()  # RST
    assert own_cache.client().ping()


def test_valkey_shuts_down_when_cloudlets_end_closes(own_cache: NativeValkey) -> None:
    assert own_cache.client().ping()
    own_cache.listener.close()
    own_cache.handoff.close()
    deadline = time.monotonic() + 10
    while own_cache.proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert own_cache.proc.returncode == 0  # a clean SIGTERM shutdown, not a crash
    assert "Received SIGTERM" in own_cache.log()


def test_without_the_variable_valkey_listens_itself(tmp_path: Path, artifacts: NativeArtifacts) -> None:
    """The shim changes nothing when not asked to: valkey binds its own TLS port."""
    import subprocess

    from cloudlet.dataplane.tls import ca_cert_path, issue_server_cert

    chain, key = issue_server_cert(tmp_path / "ca", ["localhost"], ["127.0.0.1"])
    (tmp_path / "c.pem").write_bytes(chain)
    (tmp_path / "k.pem").write_bytes(key)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = dict(os.environ, LD_PRELOAD=str(artifacts.handoff))
    env.pop("CLOUDLET_HANDOFF", None)
    proc = subprocess.Popen(["valkey-server", "--port", "0", "--save", "", "--bind", "127.0.0.1", "--tls-port",
                             str(port), "--tls-cert-file", str(tmp_path / "c.pem"), "--tls-key-file",
                             str(tmp_path / "k.pem"), "--tls-ca-cert-file", str(ca_cert_path(tmp_path / "ca")),
                             "--tls-auth-clients", "no"], env=env, stdout=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                r = redis.Redis(host="127.0.0.1", port=port, ssl=True, ssl_cert_reqs="none")
                assert r.ping()
                break
            except redis.ConnectionError:
                if time.monotonic() > deadline:
                    pytest.fail("valkey did not listen on its own port")
                time.sleep(0.05)
    finally:
        proc.terminate()
        proc.wait(5)


def test_an_empty_message_is_not_taken_for_cloudlet_gone(own_cache: NativeValkey) -> None:
    """A zero-length message reads as 0 bytes, as the end of the socket does; only the end is."""
    own_cache.handoff.send(b"")
    time.sleep(0.3)
    assert own_cache.client().ping()
    assert own_cache.proc.poll() is None
