"""The wire after authentication: RESP2/RESP3, pipelining, cluster view, restricted commands, TLS."""

from __future__ import annotations

import socket
import ssl
import subprocess

import pytest
import redis
import valkey
from conftest import NATIVE, DataPlaneEnv

PW = {"username": "pw-user", "password": "passw0rd-passw0rd"}


def tls_socket(env: DataPlaneEnv, reader: bool = False) -> ssl.SSLSocket:
    ctx = ssl.create_default_context(cafile=env.ca)
    raw = socket.create_connection((env.address, env.port + (1 if reader else 0)), timeout=10)
    return ctx.wrap_socket(raw, server_hostname=env.spec.hostname)


def read_until(s: ssl.SSLSocket, want: bytes) -> bytes:
    data = b""
    while want not in data:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    return data


def test_tls_verified_by_hostname_and_ip_tls12_and_13(dp_env: DataPlaneEnv) -> None:
    for version in (ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3):
        ctx = ssl.create_default_context(cafile=dp_env.ca)
        ctx.minimum_version = ctx.maximum_version = version
        for name in (dp_env.spec.hostname, dp_env.address):
            with socket.create_connection((dp_env.address, dp_env.port), timeout=5) as raw:
                with ctx.wrap_socket(raw, server_hostname=name) as s:
                    assert s.version() == {ssl.TLSVersion.TLSv1_2: "TLSv1.2", ssl.TLSVersion.TLSv1_3: "TLSv1.3"}[version]
    # A name the certificate does not carry fails verification.
    ctx = ssl.create_default_context(cafile=dp_env.ca)
    with socket.create_connection((dp_env.address, dp_env.port), timeout=5) as raw:
        with pytest.raises(ssl.SSLCertVerificationError):
            ctx.wrap_socket(raw, server_hostname="other.example.com")


def test_redis_py_verifying_with_ca_resp2_and_resp3(dp_env: DataPlaneEnv) -> None:
    for proto in (2, 3):
        r = dp_env.client(ssl_cert_reqs="required", ssl_ca_certs=dp_env.ca, ssl_check_hostname=False,
                          protocol=proto, **PW)
        assert r.set(f"p{proto}", "v") and r.get(f"p{proto}") == b"v"
        assert r.hset("h", mapping={"a": "1"}) in (0, 1) and r.hgetall("h") == {b"a": b"1"}


def test_valkey_py_client(dp_env: DataPlaneEnv) -> None:
    v = valkey.Valkey(host=dp_env.address, port=dp_env.port, ssl=True, ssl_cert_reqs="none",
                      username="iam-user-01", password=dp_env.token())
    assert v.set("vk", "1") and v.get("vk") == b"1"


@pytest.mark.parametrize("tls_args", [["--insecure"], ["--cacert", "CA", "--sni", "HOST"]])
def test_valkey_cli_tls(dp_env: DataPlaneEnv, tls_args: list[str]) -> None:
    args = [a.replace("CA", dp_env.ca).replace("HOST", dp_env.spec.hostname) for a in tls_args]
    base = ["valkey-cli", "-h", dp_env.address, "-p", str(dp_env.port), "--tls", *args,
            "--user", "pw-user", "--pass", "passw0rd-passw0rd", "--no-auth-warning"]
    out = subprocess.run([*base, "SET", "cli", "42"], capture_output=True, text=True, timeout=20)
    assert out.stdout.strip() == "OK", out.stderr
    out = subprocess.run([*base, "GET", "cli"], capture_output=True, text=True, timeout=20)
    assert out.stdout.strip() == "42"
    out = subprocess.run([*base, "CONFIG", "GET", "maxmemory"], capture_output=True, text=True, timeout=20)
    assert "unknown command 'CONFIG'" in out.stdout + out.stderr


def test_hello_variants_after_auth(dp_env: DataPlaneEnv) -> None:
    with tls_socket(dp_env) as s:
        s.sendall(b"HELLO 3 AUTH pw-user passw0rd-passw0rd SETNAME app1\r\n")
        assert read_until(s, b"proto").startswith(b"%")
        s.sendall(b"*2\r\n$6\r\nCLIENT\r\n$7\r\nGETNAME\r\n")
        assert read_until(s, b"app1") .endswith(b"$4\r\napp1\r\n")
        s.sendall(b"*2\r\n$5\r\nHELLO\r\n$1\r\n2\r\n")
        assert read_until(s, b"proto").startswith(b"*")
        s.sendall(b"*2\r\n$5\r\nHELLO\r\n$1\r\n4\r\n")
        assert read_until(s, b"\r\n") == b"-NOPROTO unsupported protocol version\r\n"


def test_cluster_view_of_a_serverless_endpoint(dp_env: DataPlaneEnv) -> None:
    r = dp_env.client(**PW)
    slots = r.execute_command("CLUSTER SLOTS")
    host = dp_env.spec.hostname.encode()
    assert slots[0][0] == 0 and slots[0][1] == 16383
    assert slots[0][2][:2] == [host, dp_env.port] and slots[0][3][:2] == [host, dp_env.port + 1]
    info = r.execute_command("CLUSTER INFO")
    assert info["cluster_state"] == "ok" and int(info["cluster_slots_assigned"]) == 16384
    assert r.execute_command("CLUSTER KEYSLOT", "foo") == 12182
    assert r.execute_command("CLUSTER KEYSLOT", "{foo}bar") == 12182
    assert r.execute_command("READONLY") is True and r.execute_command("READWRITE") is True
    with tls_socket(dp_env) as s:
        s.sendall(b"AUTH pw-user passw0rd-passw0rd\r\nCLUSTER NODES\r\n")
        data = read_until(s, b"connected\n")
        assert b"myself,master - 0 0 1 connected 0-16383" in data and b" slave " in data


def test_local_replies_keep_their_place_in_a_pipeline(dp_env: DataPlaneEnv) -> None:
    r = dp_env.client(**PW)
    p = r.pipeline(transaction=False)
    p.set("a", "1")
    p.execute_command("CLUSTER", "MYID")
    p.get("a")
    p.execute_command("READONLY")
    p.incr("n")
    p.execute_command("CLUSTER", "KEYSLOT", "foo")
    p.get("missing")
    res = p.execute()
    assert res[0] is True and len(res[1]) == 40 and res[2] == b"1" and res[3] is True
    assert res[4] == 1 and res[5] == 12182 and res[6] is None


@pytest.mark.parametrize(
    "cmd",
    [("CONFIG", "GET", "*"), ("DEBUG", "SLEEP", "0"), ("SHUTDOWN",), ("BGSAVE",), ("SAVE",),
     ("REPLICAOF", "NO", "ONE"), ("MODULE", "LIST"), ("config", "set", "maxmemory", "1")],
)
def test_restricted_commands_refused_and_valkey_untouched(dp_env: DataPlaneEnv, cmd: tuple[str, ...]) -> None:
    r = dp_env.client(**PW)
    with pytest.raises(redis.ResponseError, match=f"unknown command '{cmd[0]}'"):
        r.execute_command(*cmd)
    assert r.ping() is True
    assert dp_env.valkey.admin().config_get("maxmemory") == {"maxmemory": "0"}


def test_acl_setuser_refused_whoami_allowed(dp_env: DataPlaneEnv) -> None:
    r = dp_env.client(**PW)
    with pytest.raises(redis.ResponseError, match="unknown subcommand 'SETUSER'"):
        r.execute_command("ACL", "SETUSER", "evil", "on", ">x", "+@all")
    assert r.acl_whoami() == "pw-user"


def test_inline_commands_framed_like_valkey(dp_env: DataPlaneEnv) -> None:
    with tls_socket(dp_env) as s:
        s.sendall(b"AUTH pw-user passw0rd-passw0rd\r\nPING\r\n")
        assert read_until(s, b"PONG") == b"+OK\r\n+PONG\r\n"
        s.sendall(b'SET "in line" "a b"\r\nGET "in line"\r\n')
        assert read_until(s, b"a b") == b"+OK\r\n$3\r\na b\r\n"
        # An escaped name is still the command it spells.
        s.sendall(b'"\\x43ONFIG" GET x\r\n')
        assert b"unknown command 'CONFIG'" in read_until(s, b"\r\n")
        s.sendall(b"SELECT 0\r\nSELECT 1\r\n")
        # A cache's valkey is in cluster mode (natively this is it; dp_env's proxy has a plain one).
        refusal = b"SELECT is not allowed in cluster mode" if NATIVE else b"DB index is out of range"
        data = read_until(s, refusal)
        assert data.startswith(b"+OK\r\n-ERR") and refusal in data


def test_large_values_and_deep_pipelines_intact(dp_env: DataPlaneEnv) -> None:
    r = dp_env.client(**PW)
    big = bytes(range(256)) * 8192  # 2 MiB, every byte value, CRLFs included
    assert r.set("big", big) and r.get("big") == big
    p = r.pipeline(transaction=False)
    for i in range(5000):
        p.set(f"{{k}}{i}", f"\r\n*1\r\n$4\r\nAUTH\r\n{i}")
    p.execute()
    # Two MGETs: one of 5000 keys would pass serverless's 3,999-argument limit. One hash tag: a
    # cache is in cluster mode, where one MGET's keys must share a slot.
    got = r.mget([f"{{k}}{i}" for i in range(2500)]) + r.mget([f"{{k}}{i}" for i in range(2500, 5000)])
    assert got == [f"\r\n*1\r\n$4\r\nAUTH\r\n{i}".encode() for i in range(5000)]


def test_reader_endpoint_serves_reads(dp_env: DataPlaneEnv) -> None:
    dp_env.client(**PW).set("r", "1")
    r = dp_env.client(reader=True, **PW)
    assert r.execute_command("READONLY") is True and r.get("r") == b"1"
    assert r.execute_command("CLUSTER", "MYID") == r.execute_command("CLUSTER", "MYID")


def test_multi_exec_through_proxy(dp_env: DataPlaneEnv) -> None:
    r = dp_env.client(**PW)
    p = r.pipeline(transaction=True)
    p.set("t", "1").incr("t").get("t")
    assert p.execute() == [True, 2, b"2"]


def test_refused_commands_never_reach_valkey(dp_env: DataPlaneEnv) -> None:
    """Many refusals on many connections: none may run (valkey's command lookup
    compares C strings, so a refusal must not rely on a mangled command name)."""
    for i in range(40):
        r = dp_env.client(**PW)
        with pytest.raises(redis.ResponseError, match="unknown subcommand 'SETUSER'"):
            r.execute_command("ACL", "SETUSER", f"evil{i}", "on", ">x", "+@all")
        with pytest.raises(redis.ResponseError, match="unknown command 'CONFIG'"):
            r.execute_command("CONFIG", "SET", "maxmemory-policy", "allkeys-random")
        r.close()
    admin = dp_env.valkey.admin()
    assert not [u for u in admin.acl_users() if u.startswith("evil")]
    assert admin.config_get("maxmemory-policy")["maxmemory-policy"] != "allkeys-random"


def test_requests_over_3999_arguments_are_refused_in_place(dp_env: DataPlaneEnv) -> None:
    r = dp_env.client(**PW)
    ok_keys = [f"{{t}}k{i}" for i in range(3998)]  # DEL + 3998 keys = 3999 arguments
    r.set("{t}k0", "v")
    assert r.delete(*ok_keys) == 1
    r.set("{t}k0", "v")
    # One over, with big arguments streaming through the scanner in pieces: refused, not run,
    # and the connection goes on, replies in order.
    big = [f"{{t}}k{i}" + "x" * 200 for i in range(4000)]
    p = r.pipeline(transaction=False)
    p.echo("before").execute_command("DEL", "{t}k0", *big[:3999]).echo("after")
    before, refused, after = p.execute(raise_on_error=False)
    assert before == b"before" and after == b"after"
    assert isinstance(refused, redis.ResponseError) and "at most 3999" in str(refused)
    assert r.get("{t}k0") == b"v"
    # Inline requests too.
    with tls_socket(dp_env) as s:
        s.sendall(b"AUTH pw-user passw0rd-passw0rd\r\n")
        assert read_until(s, b"\r\n") == b"+OK\r\n"
        s.sendall(b"DEL" + b" x" * 4000 + b"\r\nPING\r\n")
        data = read_until(s, b"PONG")
    assert b"at most 3999" in data and data.endswith(b"+PONG\r\n")
