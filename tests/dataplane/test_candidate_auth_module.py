"""The candidate data path bench/bench_dataplane.py measures (bench/dataplane_candidate/): a real
valkey-server terminating TLS in its own network namespace, every AUTH decided by cloudlet's
CacheAuthenticator through the cloudlet_auth module. Its figures only mean something if it
refuses what the proxy refuses, with the same replies, so that is checked here from a client
on the cache connection."""

from __future__ import annotations

import os
import shutil
import socket
import ssl
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import redis

BENCH = Path(__file__).resolve().parents[2] / "bench"
sys.path.insert(0, str(BENCH))
sys.path.insert(0, str(BENCH / "dataplane_candidate"))

import bench_dataplane as bench  # noqa: E402
from candidate_auth import ModuleValkey  # noqa: E402

from cloudlet.dataplane.spec import ADMIN_USER  # noqa: E402
from cloudlet.dataplane.tls import issue_server_cert  # noqa: E402

WRONGPASS = b"-WRONGPASS invalid username-password pair or user is disabled.\r\n"
ADDRESS = "127.77.251.1"

pytestmark = pytest.mark.skipif(shutil.which("gcc") is None, reason="the candidate module is built with gcc")


@pytest.fixture
def candidate(tmp_path: Path) -> Iterator[ModuleValkey]:
    issue_server_cert(tmp_path / "ca", ["localhost"], ["127.0.0.1"])  # makes the CA
    got = ModuleValkey.start(tmp_path / "m", tmp_path / "ca", bench.CACHE, bench.REGION,
                             (bench.PW_USER, bench.PASSWORD), bench.IAM_USER, ADDRESS, private_net=True)
    assert got is not None
    try:
        yield got
    finally:
        got.stop()


def raw(c: ModuleValkey, *commands: bytes) -> list[bytes]:
    """Each command's reply line on one TLS connection (replies here are one line each)."""
    ctx = ssl.create_default_context()
    ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
    out = []
    with ctx.wrap_socket(socket.create_connection((c.address, c.port), timeout=15)) as s:
        buf = b""
        for cmd in commands:
            s.sendall(cmd)
            while b"\r\n" not in buf:
                chunk = s.recv(65536)
                assert chunk, "connection closed"
                buf += chunk
            line, buf = buf.split(b"\r\n", 1)
            out.append(line + b"\r\n")
    return out


def auth(user: str, secret: str) -> bytes:
    u, p = user.encode(), secret.encode()
    return b"*3\r\n$4\r\nAUTH\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n" % (len(u), u, len(p), p)


def test_password_and_iam_users_log_in_as_their_acl_user(candidate: ModuleValkey) -> None:
    for user, secret in ((bench.PW_USER, bench.PASSWORD), (bench.IAM_USER, bench.iam_token(bench.IAM_USER))):
        r = redis.Redis(host=candidate.address, port=candidate.port, ssl=True, ssl_cert_reqs="none",
                        username=user, password=secret, protocol=3, decode_responses=True)
        assert r.acl_whoami() == user
        assert r.set("k", user) and r.get("k") == user


def test_refusals_have_valkeys_wording(candidate: ModuleValkey) -> None:
    # A token for another user, a token for another cache's user name, garbage, a wrong password,
    # an unknown user, the one-argument form, and cloudlet's own admin user: all WRONGPASS.
    other = bench.iam_token(bench.PW_USER)
    got = raw(candidate, auth(bench.IAM_USER, other), auth(bench.IAM_USER, "not-a-token"),
              auth(bench.PW_USER, "wrong-password-123"), auth("nobody", bench.PASSWORD),
              b"AUTH " + bench.PASSWORD.encode() + b"\r\n", auth(ADMIN_USER, bench.PASSWORD),
              b"GET k\r\n")
    assert got == [WRONGPASS] * 6 + [b"-NOAUTH Authentication required.\r\n"]


def test_a_password_user_cannot_pass_a_token_nor_an_iam_user_a_password(candidate: ModuleValkey) -> None:
    assert raw(candidate, auth(bench.PW_USER, bench.iam_token(bench.PW_USER)),
               auth(bench.IAM_USER, bench.PASSWORD)) == [WRONGPASS, WRONGPASS]


def test_verifier_down_refuses_every_login(candidate: ModuleValkey) -> None:
    candidate.verifier.shutdown()
    candidate.verifier.server_close()
    assert raw(candidate, auth(bench.PW_USER, bench.PASSWORD), b"GET k\r\n") == [
        b"-ERR service is not available\r\n", b"-NOAUTH Authentication required.\r\n"]


def test_cluster_bus_unreachable_and_endpoint_announced(candidate: ModuleValkey) -> None:
    assert os.readlink(f"/proc/{candidate.proc.pid}/ns/net") != os.readlink("/proc/self/ns/net")
    for host in ("127.0.0.1", candidate.address):
        with pytest.raises(OSError):
            socket.create_connection((host, candidate.port + 10000), timeout=2).close()
    r = redis.Redis(host=candidate.address, port=candidate.port, ssl=True, ssl_cert_reqs="none",
                    username=bench.PW_USER, password=bench.PASSWORD)
    slots = r.execute_command("CLUSTER", "SLOTS")
    assert [s[:2] for s in slots] == [[0, 16383]]
    assert slots[0][2][:2] == [f"{bench.CACHE}.candidate".encode(), candidate.port]


def test_concurrent_logins_each_get_their_own_answer(candidate: ModuleValkey) -> None:
    """Many AUTHs in flight at once (each blocked on its own verifier thread): every client is
    answered for its own credentials, none with another's."""
    token = bench.iam_token(bench.IAM_USER)
    cases = [(bench.PW_USER, bench.PASSWORD, True), (bench.IAM_USER, token, True),
             (bench.PW_USER, "wrong-password-123", False), (bench.IAM_USER, "not-a-token", False)] * 10

    def login(case: tuple[str, str, bool]) -> bool:
        return raw(candidate, auth(case[0], case[1]))[0] == b"+OK\r\n"

    with ThreadPoolExecutor(len(cases)) as pool:
        assert list(pool.map(login, cases)) == [ok for _, _, ok in cases]


def test_admin_is_a_module_user_no_acl_command_shows(candidate: ModuleValkey) -> None:
    """cloudlet's own login works (the fixture's cluster set-up used it) with only its secret,
    and a client allowed every ACL read cannot find it: no reply rewriting needed."""
    r = redis.Redis(host=candidate.address, port=candidate.port, ssl=True, ssl_cert_reqs="none",
                    username=bench.PW_USER, password=bench.PASSWORD, decode_responses=True)
    assert sorted(r.acl_users()) == sorted([bench.PW_USER, bench.IAM_USER, "default"])
    assert not any(ADMIN_USER in rule for rule in r.acl_list())
    assert r.acl_getuser(ADMIN_USER) is None
    admin_pw = candidate.verifier.admin_password.decode()
    assert raw(candidate, auth(ADMIN_USER, admin_pw), b"ACL WHOAMI\r\n") == [b"+OK\r\n", b"$14\r\n"]
