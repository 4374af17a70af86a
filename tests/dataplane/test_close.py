"""How the endpoint closes a client: as valkey does, the last replies and close_notify
go out, then the socket is dropped; a client that keeps writing sees the close at once
(found by valkey's own unit/protocol "Protocol desync" tests, which took 30 s through
the proxy: asyncio's graceful TLS close waited that long for the client's close_notify
while reading and discarding what it sent)."""

from __future__ import annotations

import socket
import ssl
import time

import pytest
from conftest import DataPlaneEnv

PASSWORD_LOGIN = b"*3\r\n$4\r\nAUTH\r\n$7\r\npw-user\r\n$17\r\npassw0rd-passw0rd\r\n"


def _connect(env: DataPlaneEnv, rcvbuf: int | None = None) -> ssl.SSLSocket:
    ctx = ssl.create_default_context(cafile=env.ca)
    ctx.check_hostname = False
    raw = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if rcvbuf is not None:
        raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)  # before connect: a small window
    raw.settimeout(10)
    raw.connect((env.address, env.port))
    s = ctx.wrap_socket(raw)
    s.settimeout(10)
    return s


def _read_line(s: ssl.SSLSocket) -> bytes:
    buf = b""
    while not buf.endswith(b"\r\n"):
        chunk = s.recv(1)
        if not chunk:
            break
        buf += chunk
    return buf


def _write_until_closed(s: ssl.SSLSocket, limit_s: float) -> float:
    """Keep sending as valkey's desync test does; the seconds until a send failed."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < limit_s:
        try:
            s.sendall(b"payload" * 1000)
        except OSError:
            return time.monotonic() - t0
    return limit_s


@pytest.mark.parametrize(
    ("opening", "error"),
    [
        (b"\x00", b"-ERR Protocol error: too big inline request\r\n"),
        (b"*\x00", b"-ERR Protocol error: too big mbulk count string\r\n"),
        (b"$\x00", b"-ERR Protocol error: too big inline request\r\n"),
    ],
)
@pytest.mark.parametrize("logged_in", [False, True])
def test_protocol_error_closes_a_client_that_keeps_writing(
    dp_env: DataPlaneEnv, opening: bytes, error: bytes, logged_in: bool
) -> None:
    s = _connect(dp_env)
    if logged_in:
        s.sendall(PASSWORD_LOGIN)
        assert _read_line(s) == b"+OK\r\n"
    s.sendall(opening)
    took = _write_until_closed(s, limit_s=8)
    assert took < 5, f"the endpoint still accepted input {took:.1f} s after the protocol error"
    assert _read_line(s) == error
    s.close()


def test_quit_after_a_big_reply_delivers_all_of_it_to_a_slow_reader(dp_env: DataPlaneEnv) -> None:
    """Dropping the socket must wait until the last byte is acknowledged, never cut a reply."""
    size = 8 * 1024 * 1024
    value = bytes(range(256)) * (size // 256)
    c = dp_env.client(username="pw-user", password="passw0rd-passw0rd")
    c.set("big", value)
    # A small receive window keeps the kernel's send queue full, so at the close the
    # proxy's TCP transport still holds the reply's tail.
    s = _connect(dp_env, rcvbuf=16384)
    s.sendall(PASSWORD_LOGIN)
    assert _read_line(s) == b"+OK\r\n"
    s.sendall(b"GET big\r\nQUIT\r\n")
    time.sleep(1.0)  # let the proxy see valkey close while the reply is still queued for us
    expected = b"$%d\r\n" % size + value + b"\r\n+OK\r\n"
    got = bytearray()
    while True:
        try:
            chunk = s.recv(16384)
        except ssl.SSLEOFError:
            break
        if not chunk:
            break
        got += chunk
        time.sleep(0.002)  # a slow reader: the endpoint's buffers stay full for a while
    assert len(got) == len(expected)
    assert bytes(got) == expected
    s.close()
