"""Authentication on a cache endpoint, as ElastiCache does it, with real clients."""

from __future__ import annotations

import socket
import ssl
import time
from typing import Any

import pytest
import redis
from conftest import ACCOUNT, DataPlaneEnv, user

from cloudlet.dataplane.spec import backend_password

WRONGPASS = "invalid username-password pair or user is disabled."


def refused(env: DataPlaneEnv, **kw: Any) -> str:
    with pytest.raises(redis.AuthenticationError) as ei:
        env.client(**kw).ping()
    return str(ei.value)


def test_password_user_both_passwords_and_wrong_one(dp_env: DataPlaneEnv) -> None:
    for pw in ("passw0rd-passw0rd", "second-password-1"):
        r = dp_env.client(username="pw-user", password=pw)
        assert r.set("k", pw) and r.get("k") == pw.encode()
        assert r.acl_whoami() == "pw-user"
    assert refused(dp_env, username="pw-user", password="nope-nope-nope-1") == WRONGPASS


def test_no_password_user_any_password(dp_env: DataPlaneEnv) -> None:
    r = dp_env.client(username="nopw-user", password="whatever-at-all")
    assert r.ping() is True
    assert r.acl_whoami() == "nopw-user"


def test_disabled_unknown_and_default_users_refused(dp_env: DataPlaneEnv) -> None:
    assert refused(dp_env, username="off-user", password="passw0rd-passw0rd") == WRONGPASS
    assert refused(dp_env, username="stranger", password="passw0rd-passw0rd") == WRONGPASS
    # The tutorial's default user is "off": AUTH <password> (the default user) is refused.
    assert refused(dp_env, password="anything-at-all") == WRONGPASS


def test_commands_before_auth_get_noauth(dp_env: DataPlaneEnv) -> None:
    r = dp_env.client(protocol=2)
    for cmd in (("GET", "k"), ("PING",), ("CLUSTER", "SLOTS"), ("SELECT", "0")):
        with pytest.raises(redis.AuthenticationError, match="^Authentication required.$"):
            r.execute_command(*cmd)
    # HELLO 3 without AUTH before authenticating: valkey's answer.
    with pytest.raises(redis.AuthenticationError, match="HELLO must be called with the client already authenticated"):
        dp_env.client(protocol=3).ping()


def test_iam_token_the_tutorial_way(dp_env: DataPlaneEnv) -> None:
    r = dp_env.client(username="iam-user-01", password=dp_env.token())
    assert r.set("uuid", "v1") and r.get("uuid") == b"v1"
    assert r.acl_whoami() == "iam-user-01"


def test_iam_token_from_sts_credentials_via_credential_provider(dp_env: DataPlaneEnv) -> None:
    class Provider(redis.CredentialProvider):
        def get_credentials(self) -> tuple[str, str]:
            return "iam-user-01", dp_env.token(key="ASIATEMPEXAMPLE00001")

    r = dp_env.client(credential_provider=Provider())
    assert r.set("x", "1") and r.get("x") == b"1"


@pytest.mark.parametrize(
    "kw",
    [
        {"secret": "not-the-secret-at-all-0000000000000000000"},
        {"user_name": "reader-01"},  # token for another user than the AUTH user
        {"cache_name": "cache-02"},
        {"serverless": False},
        {"action": "list"},
        {"key": "AKIANOSUCHKEY0000000"},
        {"key": "ASIATEMPEXAMPLE00001", "session_token": "wrong-token"},
        {"expires": 901},
    ],
)
def test_bad_iam_tokens_refused(dp_env: DataPlaneEnv, kw: dict[str, Any]) -> None:
    assert refused(dp_env, username="iam-user-01", password=dp_env.token(**kw)) == WRONGPASS


def test_expired_token_and_expired_credentials_refused(dp_env: DataPlaneEnv) -> None:
    short = dp_env.token(expires=1)
    time.sleep(2.1)
    assert refused(dp_env, username="iam-user-01", password=short) == WRONGPASS
    cred = dp_env.world.credentials.get("ASIATEMPEXAMPLE00001")
    assert cred is not None
    tok = dp_env.token(key="ASIATEMPEXAMPLE00001")
    cred.expires_at = time.time() - 1
    assert refused(dp_env, username="iam-user-01", password=tok) == WRONGPASS


def test_access_string_enforced_by_valkey(dp_env: DataPlaneEnv) -> None:
    admin = dp_env.client(username="pw-user", password="passw0rd-passw0rd")
    admin.set("keys:1", "one")
    r = dp_env.client(username="reader-01", password=dp_env.token(user_name="reader-01"))
    assert r.get("keys:1") == b"one"
    with pytest.raises(redis.exceptions.NoPermissionError):
        r.set("keys:1", "two")
    with pytest.raises(redis.exceptions.NoPermissionError):
        r.get("other")


def test_reauth_with_fresh_token_and_with_bad_token(dp_env: DataPlaneEnv) -> None:
    r = dp_env.client(username="iam-user-01", password=dp_env.token(), single_connection_client=True)
    r.set("k", "v")
    assert r.execute_command("AUTH", "iam-user-01", dp_env.token()) is True
    with pytest.raises(redis.AuthenticationError, match="invalid username-password"):
        r.execute_command("AUTH", "iam-user-01", dp_env.token(secret="wrong-secret-wrong-secret-wrong-secret00"))
    # A failed re-AUTH leaves the login as it was.
    assert r.get("k") == b"v" and r.acl_whoami() == "iam-user-01"
    # Switching to another user of the group.
    assert r.execute_command("AUTH", "reader-01", dp_env.token(user_name="reader-01")) is True
    with pytest.raises(redis.exceptions.NoPermissionError, match="No permissions to access a key"):
        r.get("k")


def test_reauth_inside_multi_refused(dp_env: DataPlaneEnv) -> None:
    r = dp_env.client(username="iam-user-01", password=dp_env.token(), single_connection_client=True)
    r.execute_command("MULTI")
    with pytest.raises(redis.ResponseError, match="unknown command 'AUTH'"):
        r.execute_command("AUTH", "iam-user-01", dp_env.token())
    with pytest.raises(redis.exceptions.ExecAbortError):
        r.execute_command("EXEC")
    assert r.ping() is True


@pytest.mark.dp_config(cache_iam_conn_max_s=1.5)
def test_iam_connection_closed_after_max_age_unless_reauthenticated(dp_env: DataPlaneEnv) -> None:
    iam = dp_env.client(username="iam-user-01", password=dp_env.token(), single_connection_client=True, retry_on_error=[])
    renewed = dp_env.client(username="iam-user-01", password=dp_env.token(), single_connection_client=True)
    pw = dp_env.client(username="pw-user", password="passw0rd-passw0rd", single_connection_client=True)
    assert iam.ping() and renewed.ping() and pw.ping()
    time.sleep(1.0)
    assert renewed.execute_command("AUTH", "iam-user-01", dp_env.token()) is True
    time.sleep(1.0)
    with pytest.raises(redis.ConnectionError):
        iam.connection.send_command("PING")
        iam.connection.read_response()
    assert renewed.ping() is True  # re-authenticated 1 s ago: still open
    assert pw.ping() is True  # the 12-hour limit is for IAM connections only


@pytest.mark.dp_config(cache_auth_timeout_s=1.0)
def test_unauthenticated_connection_times_out(dp_env: DataPlaneEnv) -> None:
    ctx = ssl.create_default_context(cafile=dp_env.ca)
    with socket.create_connection((dp_env.address, dp_env.port), timeout=5) as raw:
        with ctx.wrap_socket(raw, server_hostname=dp_env.spec.hostname) as s:
            t0 = time.time()
            assert s.recv(100) == b""  # closed by the server
            assert 0.5 < time.time() - t0 < 4


def test_plain_tcp_refused(dp_env: DataPlaneEnv) -> None:
    with socket.create_connection((dp_env.address, dp_env.port), timeout=5) as s:
        s.sendall(b"*1\r\n$4\r\nPING\r\n")
        data = b""
        try:
            while chunk := s.recv(4096):
                data += chunk
        except ConnectionResetError:
            pass
    assert b"PONG" not in data and b"+" not in data[:1]


def test_update_cache_closes_removed_users_and_uses_new_users(dp_env: DataPlaneEnv) -> None:
    pw = dp_env.client(username="pw-user", password="passw0rd-passw0rd", single_connection_client=True)
    iam = dp_env.client(username="iam-user-01", password=dp_env.token(), single_connection_client=True)
    assert pw.ping() and iam.ping()
    users = dict(dp_env.spec.users or {})
    del users["pw-user"]
    users["new-user"] = user("new-user", "password", "on ~* +@all", ("brand-new-password-1",))
    dp_env.valkey.set_user("new-user", "on ~* +@all")
    spec = dp_env.spec
    spec.users = users
    dp_env.lt.run(dp_env.dp.update_cache(spec))
    with pytest.raises(redis.ConnectionError):
        pw.connection.send_command("PING")
        pw.connection.read_response()
    assert iam.ping() is True
    assert dp_env.client(username="new-user", password="brand-new-password-1").ping()
    assert refused(dp_env, username="pw-user", password="passw0rd-passw0rd") == WRONGPASS


def test_no_user_group_default_user_open(dp_env: DataPlaneEnv) -> None:
    dp_env.valkey.open_default_user()
    spec = dp_env.spec
    spec.users = None
    dp_env.lt.run(dp_env.dp.update_cache(spec))
    r = dp_env.client()
    assert r.set("open", "1") and r.get("open") == b"1"
    assert r.acl_whoami() == "default"
    assert refused(dp_env, username="pw-user", password="passw0rd-passw0rd") == WRONGPASS
    r2 = dp_env.client(username="default", password="anything")
    assert r2.ping() is True
    with pytest.raises(redis.AuthenticationError, match="without any password configured"):
        dp_env.client(single_connection_client=True).execute_command("AUTH", "x")


def _allow(resources: list[str], condition: dict[str, Any] | None = None) -> dict[str, Any]:
    st: dict[str, Any] = {"Effect": "Allow", "Action": "elasticache:Connect", "Resource": resources}
    if condition:
        st["Condition"] = condition
    return {"Version": "2012-10-17", "Statement": [st]}


def test_policy_engine_decides_elasticache_connect(dp_env: DataPlaneEnv) -> None:
    cache_arn = dp_env.spec.arn
    user_arn = f"arn:aws:elasticache:us-east-1:{ACCOUNT}:user:iam-user-01"
    role_arn = f"arn:aws:iam::{ACCOUNT}:role/app-role"
    app_arn = f"arn:aws:iam::{ACCOUNT}:user/app"
    dp_env.iam.policies.update(
        {
            # The role may connect as iam-user-01 only; the app user only to the cache (not the user).
            role_arn: [_allow([cache_arn, user_arn], {"StringEquals": {"aws:ResourceTag/team": "blue"}})],
            app_arn: [_allow([cache_arn])],
        }
    )
    assert dp_env.client(username="iam-user-01", password=dp_env.token(key="ASIATEMPEXAMPLE00001")).ping()
    assert (
        refused(dp_env, username="reader-01", password=dp_env.token(user_name="reader-01", key="ASIATEMPEXAMPLE00001"))
        == WRONGPASS
    )
    assert refused(dp_env, username="iam-user-01", password=dp_env.token()) == WRONGPASS
    dp_env.iam.policies[app_arn] = [_allow(["*"])]
    assert dp_env.client(username="iam-user-01", password=dp_env.token()).ping()
