"""A data dir moves between the two data planes: cloudlet stopped, started again with the other
CLOUDLET_DATAPLANE. The cache keeps its endpoint, address, users and data; both users log in
on the primary and the reader port in every mode, and what each mode wrote is read back in
the other."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
import redis
from acceptance.test_tutorial_boto3 import _client, _iam_token, _wait_cache

PW = "switch-password-0123"
CONNECT_POLICY = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": "elasticache:Connect", "Resource": "*"}]})
OTHER = {"proxy": "native", "native": "proxy"}


def _address(server: Any, endpoint: str) -> str:
    return next(line.split()[0] for line in (server.data_dir / "hosts").read_text().splitlines()
                if line.split()[1] == endpoint)


class Cache:
    """The cache's endpoint as its two users reach it."""

    def __init__(self, server: Any, endpoint: str, key: dict[str, str]) -> None:
        self.server, self.endpoint, self.key = server, endpoint, key

    def client(self, user: str, port: int = 6379) -> redis.Redis:
        password = PW if user == "pw-user" else _iam_token(
            "cache-01", "iam-user-01", self.key["AccessKeyId"], self.key["SecretAccessKey"])
        r = redis.Redis(host=_address(self.server, self.endpoint), port=port, ssl=True,
                        ssl_ca_certs=str(self.server.data_dir / "ca" / "ca.pem"), ssl_check_hostname=False,
                        username=user, password=password, socket_timeout=15)
        assert r.acl_whoami() == user
        if port == 6380:
            assert r.execute_command("READONLY") in (True, b"OK")
        return r

    def write(self, tag: str) -> dict[str, str]:
        written = {}
        for user in ("pw-user", "iam-user-01"):
            r = self.client(user)
            key, value = f"{tag}-{user}", f"{tag}-value-of-{user}"
            assert r.set(key, value)
            written[key] = value
            r.close()
        return written

    def read_all(self, expected: dict[str, str]) -> None:
        for user in ("pw-user", "iam-user-01"):
            r = self.client(user)
            # cloudlet's own admin user is never shown, whichever plane wrote the ACL file
            assert sorted(u.decode() for u in r.execute_command("ACL", "USERS")) == ["default", "iam-user-01",
                                                                                     "pw-user"]
            assert {k: r.get(k) for k in expected} == {k: v.encode() for k, v in expected.items()}, user
            r.close()
            reader = self.client(user, 6380)
            deadline = time.monotonic() + 15  # the replica catches up with the last writes
            while {k: reader.get(k) for k in expected} != {k: v.encode() for k, v in expected.items()}:
                assert time.monotonic() < deadline, f"reader port as {user}: {[reader.get(k) for k in expected]}"
                time.sleep(0.1)
            reader.close()


@pytest.mark.parametrize("first", ["proxy", "native"])
def test_data_dir_switches_data_plane_and_back(tmp_path: Path, cloudlets: Any, first: str) -> None:
    data = tmp_path / "data"
    server = cloudlets(data, CLOUDLET_DATAPLANE=first)
    ec, iam = _client(server, "elasticache"), _client(server, "iam")
    iam.create_user(UserName="app")
    iam.put_user_policy(UserName="app", PolicyName="connect", PolicyDocument=CONNECT_POLICY)
    key = iam.create_access_key(UserName="app")["AccessKey"]
    ec.create_user(UserName="pw-user", UserId="pw-user", Engine="valkey",
                   AuthenticationMode={"Type": "password", "Passwords": [PW]}, AccessString="on ~* +@all")
    ec.create_user(UserName="iam-user-01", UserId="iam-user-01", Engine="valkey",
                   AuthenticationMode={"Type": "iam"}, AccessString="on ~* +@all")
    ec.create_user_group(UserGroupId="grp", Engine="valkey", UserIds=["pw-user", "iam-user-01"])
    ec.create_serverless_cache(ServerlessCacheName="cache-01", Engine="valkey", UserGroupId="grp")
    endpoint = _wait_cache(ec, "cache-01", "available")["Endpoint"]["Address"]
    address = _address(server, endpoint)
    cache = Cache(server, endpoint, key)
    expected = cache.write(first)
    cache.read_all(expected)

    for mode in (OTHER[first], first):
        server.stop()
        server = cloudlets(data, CLOUDLET_DATAPLANE=mode)
        ec = _client(server, "elasticache")
        found = _wait_cache(ec, "cache-01", "available")
        assert found["Endpoint"]["Address"] == endpoint and _address(server, endpoint) == address
        cache = Cache(server, endpoint, key)
        cache.read_all(expected)  # what the other mode wrote, with both users, on both ports
        expected |= cache.write(f"{mode}-after-{len(expected)}")
        cache.read_all(expected)
        # The mode's refusals hold.
        with pytest.raises(redis.AuthenticationError):
            redis.Redis(host=address, port=6379, ssl=True, ssl_cert_reqs="none", username="pw-user",
                        password="wrong-password-0123", socket_timeout=15).ping()
    server.stop()
