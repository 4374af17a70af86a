"""Fixtures for the data plane: a real valkey-server, a World, and a DataPlane
running on its own uvloop thread, exactly as the control plane would drive it.

``dp_env`` gives a ready cache "cache-01" with users:
  iam-user-01 (iam, "on ~* +@all"), reader-01 (iam, "on ~keys* +get"),
  pw-user (password "passw0rd-passw0rd" / "second-password-1", "on ~* +@all"),
  nopw-user (no-password, "on ~* +@all"), off-user (password, "off ~* +@all"),
  default (no-password, "off +get ~keys*") as the tutorial makes it.
"""

from __future__ import annotations

import asyncio
import os
import random
import resource
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import botocore.session
import pytest
import redis
import uvloop
from botocore.model import ServiceId
from botocore.signers import RequestSigner
from redis.backoff import NoBackoff
from redis.retry import Retry

from cloudlet.config import Config
from cloudlet.core.context import Principal
from cloudlet.core.identity import Credential
from cloudlet.core.policies import PolicyDoc, PrincipalPolicies
from cloudlet.dataplane.server import DataPlane
from cloudlet.dataplane.spec import ADMIN_USER, CacheEndpoint, CacheUser, backend_password
from cloudlet.dataplane.tls import ca_cert_path
from cloudlet.services.elasticache.valkey_process import acl_hash
from cloudlet.services.registry import build_world

ACCOUNT = "123456789012"
REGION = "us-east-1"


class Valkey:
    """A valkey-server on a unix socket, ACL users set as the control plane sets them."""

    def __init__(self, workdir: Path, secret: bytes) -> None:
        self.workdir = workdir
        self.secret = secret
        self.socket = workdir / "valkey.sock"
        self.proc: subprocess.Popen[bytes] | None = None
        self.admin_pw = backend_password(secret, ADMIN_USER)

    def start(self, extra: list[str] | None = None) -> None:
        acl = self.workdir / "users.acl"
        if not acl.exists():
            acl.write_text(
                f"user {ADMIN_USER} on #{acl_hash(self.admin_pw)} ~* &* +@all\n"
                "user default off nopass ~* +@all\n"
            )
        self.proc = subprocess.Popen(
            [
                "valkey-server",
                "--port", "0",
                "--unixsocket", str(self.socket),
                "--unixsocketperm", "700",
                "--save", "",
                "--appendonly", "no",
                "--dir", str(self.workdir),
                "--aclfile", str(acl),
                "--databases", "1",
                *(extra or []),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.time() + 10
        while time.time() < deadline:
            try:
                self.admin().ping()
                return
            except (redis.ConnectionError, FileNotFoundError):
                time.sleep(0.05)
        raise RuntimeError("valkey-server did not start")

    def admin(self) -> redis.Redis:
        return redis.Redis(unix_socket_path=str(self.socket), username=ADMIN_USER, password=self.admin_pw)

    def set_user(self, name: str, access_string: str) -> None:
        rules = access_string.split()
        self.admin().execute_command(
            "ACL", "SETUSER", name, "reset", "on", f"#{acl_hash(backend_password(self.secret, name))}", *rules
        )

    def open_default_user(self) -> None:
        """The default user as the control plane sets it on a cache with no user group (the proxy
        logs its connections in with cloudlet's password for it)."""
        self.admin().execute_command(
            "ACL", "SETUSER", "default", "reset", "on",
            ">" + backend_password(self.secret, "default"), "~*", "&*", "+@all",
        )

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            self.proc = None


class LoopThread:
    """A uvloop event loop on a thread; tests drive the DataPlane through it."""

    def __init__(self) -> None:
        self.loop = uvloop.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def run(self, coro: Any, timeout: float = 30) -> Any:
        fut: Future[Any] = asyncio.run_coroutine_threadsafe(coro, self.loop)
        return fut.result(timeout)

    def call(self, fn: Any, *args: Any) -> Any:
        async def _c() -> Any:
            return fn(*args)

        return self.run(_c())

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


def user(name: str, auth_type: str, access: str, passwords: tuple[str, ...] = ()) -> CacheUser:
    return CacheUser(
        user_id=name,
        user_name=name,
        arn=f"arn:aws:elasticache:{REGION}:{ACCOUNT}:user:{name}",
        auth_type=auth_type,  # type: ignore[arg-type]
        passwords=passwords,
        access_string=access,
    )


DEFAULT_USERS = {
    u.user_name: u
    for u in [
        user("iam-user-01", "iam", "on ~* +@all"),
        user("reader-01", "iam", "on ~keys* +get"),
        user("pw-user", "password", "on ~* +@all", ("passw0rd-passw0rd", "second-password-1")),
        user("nopw-user", "no-password", "on ~* +@all"),
        user("off-user", "password", "off ~* +@all", ("passw0rd-passw0rd",)),
        user("default", "no-password", "off +get ~keys*"),
    ]
}


class PolicySource:
    """Stands in for IAM's policy lookup of principals that exist only as credentials here;
    the policy engine that evaluates the documents is the real one. Default: allow everything."""

    def __init__(self, policies: dict[str, list[dict[str, Any]]]) -> None:
        self.policies = policies

    def principal_policies(self, principal: Any) -> PrincipalPolicies:
        key = principal.role_arn or principal.arn
        docs = self.policies.get(key, [ALLOW_ALL])
        return PrincipalPolicies(identity=[PolicyDoc(f"inline:{key}", d) for d in docs])

    def role_by_arn(self, account_id: str, role_arn: str) -> Any:
        return None

    def user_exists(self, account_id: str, user_arn: str) -> bool:
        return False

    def managed_policy_document(self, account_id: str, policy_arn: str) -> dict[str, Any] | None:
        return None


ALLOW_ALL = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}


class DataPlaneEnv:
    def __init__(self, tmp: Path, config_overrides: dict[str, Any]) -> None:
        self.tmp = tmp
        self.config = Config.from_env(env={}, data_dir=tmp / "data", **config_overrides)
        self.world = build_world(self.config)
        # IAM's policy lookup for the two callers below (the policy engine itself is the real one):
        # both may connect to anything unless a test says otherwise.
        self.iam = PolicySource({})
        self.world.iam = self.iam
        self.secret = random.randbytes(32)
        self._start_backend()
        # An IAM user's long-term key and an STS-style temporary key.
        self.user_principal = Principal(
            arn=f"arn:aws:iam::{ACCOUNT}:user/app", account_id=ACCOUNT, user_id="AIDAEXAMPLEAPPUSER01",
            type="User", name="app", access_key_id="AKIAAPPUSEREXAMPLE01",
        )
        self.world.credentials.add(Credential("AKIAAPPUSEREXAMPLE01", "app-secret/abcdefghijklmnopqrstuvwxyz012", self.user_principal))
        self.role_principal = Principal(
            arn=f"arn:aws:sts::{ACCOUNT}:assumed-role/app-role/sess", account_id=ACCOUNT,
            user_id="AROAEXAMPLEROLE00001:sess", type="AssumedRole", name="app-role",
            access_key_id="ASIATEMPEXAMPLE00001", role_arn=f"arn:aws:iam::{ACCOUNT}:role/app-role",
            session_name="sess",
        )
        self.world.credentials.add(
            Credential("ASIATEMPEXAMPLE00001", "temp-secret/abcdefghijklmnopqrstuvwxyz0", self.role_principal,
                       session_token="FwoGZXIvYXdzEXAMPLETOKEN//" + "x" * 300, expires_at=time.time() + 3600)
        )

    def _start_backend(self) -> None:
        """A bare valkey on a unix socket and the proxy DataPlane in front of it."""
        self.valkey = Valkey(self.tmp, self.secret)
        self.valkey.start()
        self.address = f"127.77.{random.randint(200, 254)}.{random.randint(2, 254)}"
        self.port = random.randint(20000, 40000)
        self.spec = self._spec("cache-01-abc123.serverless.use1.cache.amazonaws.com", self.valkey.socket)
        for u in DEFAULT_USERS.values():
            self.valkey.set_user(u.user_name, u.access_string)
        self.lt = LoopThread()
        self.dp: Any = self.lt.run(self._make())
        self.lt.run(self.dp.open_cache(self.spec))

    def _spec(self, hostname: str, socket_path: Path) -> CacheEndpoint:
        return CacheEndpoint(
            name="cache-01",
            arn=f"arn:aws:elasticache:{REGION}:{ACCOUNT}:serverlesscache:cache-01",
            account_id=ACCOUNT,
            region=REGION,
            hostname=hostname,
            address=self.address,
            valkey_socket=socket_path,
            backend_secret=self.secret,
            port=self.port,
            reader_port=self.port + 1,
            users=dict(DEFAULT_USERS),
            tags={"team": "blue"},
        )

    async def _make(self) -> DataPlane:
        return DataPlane(self.world)

    @property
    def ca(self) -> str:
        return str(ca_cert_path(self.config.data_dir))

    def token(
        self,
        user_name: str = "iam-user-01",
        cache_name: str = "cache-01",
        key: str = "AKIAAPPUSEREXAMPLE01",
        secret: str | None = None,
        session_token: str | None = None,
        serverless: bool = True,
        expires: int = 900,
        action: str = "connect",
    ) -> str:
        """An IAM auth token made the way the tutorial's ElastiCacheIAMProvider makes it."""
        cred = self.world.credentials.get(key)
        sess = botocore.session.get_session()
        sess.set_credentials(
            key,
            secret if secret is not None else (cred.secret_access_key if cred else "x"),
            session_token if session_token is not None else (cred.session_token if cred else None),
        )
        signer = RequestSigner(
            ServiceId("elasticache"), REGION, "elasticache", "v4", sess.get_credentials(),
            sess.get_component("event_emitter"),
        )
        from urllib.parse import ParseResult, urlencode, urlunparse

        q = {"Action": action, "User": user_name}
        if serverless:
            q["ResourceType"] = "ServerlessCache"
        url = urlunparse(ParseResult("https", cache_name, "/", "", urlencode(q), ""))
        signed = signer.generate_presigned_url(
            {"method": "GET", "url": url, "body": {}, "headers": {}, "context": {}},
            operation_name="connect", expires_in=expires, region_name=REGION,
        )
        return signed.removeprefix("https://")

    def client(self, reader: bool = False, **kw: Any) -> redis.Redis:
        kw.setdefault("ssl", True)
        kw.setdefault("ssl_cert_reqs", "none")
        kw.setdefault("socket_timeout", 10)
        kw.setdefault("retry", Retry(NoBackoff(), 0))
        return redis.Redis(host=self.address, port=self.port + (1 if reader else 0), **kw)

    def connections(self) -> int:
        """Client connections open on the cache's endpoint now, as its metrics count them."""
        stats = self.lt.run(self.dp.connection_stats("cache-01"))
        return int(stats.current) if stats is not None else 0

    def close(self) -> None:
        try:
            self.lt.run(self.dp.stop())
        finally:
            self.lt.stop()
            self.valkey.stop()


NATIVE = os.environ.get("CLOUDLET_DATAPLANE", "proxy").strip().lower() == "native"


class NativeValkey:
    """The native cache's valkey as the tests reach it: admin() (commands by the names clients
    know, sent under their secret names) and set_user (as the control plane's ACL sync)."""

    def __init__(self, env: NativeDataPlaneEnv) -> None:
        self.env = env
        self.acl_commands: list[tuple[str, ...]] = []  # what a replica started later gets too

    async def on_replica_start(self, replica: Any) -> None:
        for args in self.acl_commands:
            await replica.client().execute_command(*args)

    def _acl(self, *args: str) -> None:
        self.acl_commands.append(args)
        for p in self.env.proc.processes():
            self.env.lt.run(p.client().execute_command(*args))

    @property
    def socket(self) -> Path:
        return self.env.proc.socket

    def admin(self) -> redis.Redis:
        from cloudlet.dataplane.native_plane.renames import Renames

        renames = Renames(self.env.secret)

        class Admin(redis.Redis):
            def execute_command(self, *args: Any, **options: Any) -> Any:
                first = args[0].decode() if isinstance(args[0], bytes) else str(args[0])
                top, _, rest = first.partition(" ")
                secret = renames.admin_name(top)
                if secret != top:
                    renamed = f"{secret} {rest}" if rest else secret
                    if first in self.response_callbacks:
                        self.response_callbacks[renamed] = self.response_callbacks[first]
                    args = (renamed, *args[1:])
                return super().execute_command(*args, **options)

        return Admin(unix_socket_path=str(self.socket), username=ADMIN_USER, password=self.env.admin_pw)

    def set_user(self, name: str, access_string: str) -> None:
        from cloudlet.services.elasticache import acl_sync

        proc = self.env.proc
        restrictions = self.env.lt.run(acl_sync.restrictions_of(proc))
        self._acl(*acl_sync.setuser_args(self.env.secret, name, access_string, restrictions, proc.link.renames))

    def open_default_user(self) -> None:
        """The default user as the control plane sets it on a cache with no user group: valkey
        admits every connection as it, with no AUTH."""
        self._acl("ACL", "SETUSER", "default", "reset", "on", "nopass", "~*", "&*", "+@all")

    def stop(self) -> None:
        self.env.lt.run(self.env.proc.stop(graceful=False))


class NativeDataPlaneEnv(DataPlaneEnv):
    """dp_env with CLOUDLET_DATAPLANE=native: the cache's valkey made and started by the native
    data plane (module, hand-off, verifier), as the control plane makes it."""

    def _start_backend(self) -> None:
        from cloudlet.dataplane.native_plane.plane import NativeDataPlane
        from cloudlet.services.elasticache.base import ElastiCacheBase

        socket_path = ElastiCacheBase.socket_path
        (self.tmp / "cache").mkdir()
        self.lt = LoopThread()
        self.admin_pw = backend_password(self.secret, ADMIN_USER)
        self.address = f"127.77.{random.randint(200, 254)}.{random.randint(2, 254)}"
        self.port = random.randint(20000, 40000)
        hostname = "cache-01-abc123.serverless.use1.cache.amazonaws.com"

        async def make() -> NativeDataPlane:
            return NativeDataPlane(self.world)

        self.dp = self.lt.run(make())
        valkey = NativeValkey(self)
        self.proc = self.lt.run(self.dp.new_process(
            name="cache-01", hostname=hostname, address=self.address, port=self.port,
            reader_port=self.port + 1, workdir=self.tmp / "cache", socket_path=socket_path(self.tmp / "cache"),
            replica_socket=socket_path(self.tmp / "cache" / "replica"), backend_secret=self.secret,
            admin_password=self.admin_pw, default_rules="off", maxmemory_bytes=0, on_restart=None,
            on_replica_start=lambda replica: valkey.on_replica_start(replica),
        ), timeout=60)
        self.lt.run(self.proc.start(), timeout=60)
        self.valkey = valkey  # type: ignore[assignment]
        self.spec = self._spec(hostname, self.proc.socket)
        for u in DEFAULT_USERS.values():
            self.valkey.set_user(u.user_name, u.access_string)
        self.lt.run(self.dp.open_cache(self.spec))

    def close(self) -> None:
        try:
            self.lt.run(self.dp.stop())
            self.lt.run(self.proc.stop(graceful=False))
        finally:
            self.lt.stop()


@pytest.fixture
def dp_env(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[DataPlaneEnv]:
    marker = request.node.get_closest_marker("dp_config")
    overrides = dict(marker.kwargs) if marker else {}
    proxy_only = request.node.get_closest_marker("proxy_only")
    if NATIVE and proxy_only is not None:
        pytest.skip(f"not with the native data plane: {proxy_only.args[0]}")
    env = (NativeDataPlaneEnv if NATIVE else DataPlaneEnv)(tmp_path, overrides)
    try:
        yield env
    finally:
        env.close()


def raise_nofile(n: int = 8192) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < n:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(n, hard), hard))


def have_valkey_cli() -> bool:
    return shutil.which("valkey-cli") is not None


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "dp_config(**kw): Config overrides for the dp_env fixture")
    config.addinivalue_line("markers", "proxy_only(why): the test is about the proxy data plane only")
