"""Serverless caches are cluster mode enabled: valkey's own cluster rules (CROSSSLOT,
slot commands, script keys, SELECT) through the endpoint, cluster clients that work,
and a cluster bus no client can reach."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
from collections.abc import Iterator

import pytest
import redis
from ec_harness import Harness
from redis.backoff import NoBackoff
from redis.cluster import RedisCluster
from redis.retry import Retry


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Harness]:
    h = Harness(tmp_path_factory.mktemp("cluster"))
    h.call("CreateServerlessCache", ServerlessCacheName="clu", Engine="valkey")
    h.wait_status("clu", "available", timeout=30)
    try:
        yield h
    finally:
        h.close()


def client(h: Harness, **kw: object) -> redis.Redis:
    return redis.Redis(host=h.cache("clu").address, port=6379, ssl=True, ssl_cert_reqs="none",
                       socket_timeout=10, retry=Retry(NoBackoff(), 0), **kw)  # type: ignore[arg-type]


def test_multi_key_commands_across_slots_fail_with_crossslot(env: Harness) -> None:
    r = client(env)
    for cmd in (["MSET", "a", "1", "b", "2"], ["MGET", "a", "b"], ["DEL", "k1", "k2"],
                ["SUNIONSTORE", "d", "s1", "s2"], ["RENAME", "a", "b"]):
        with pytest.raises(redis.ResponseError, match="hash to the same slot"):
            r.execute_command(*cmd)
    assert r.mset({"{u}a": "1", "{u}b": "2"}) and r.mget("{u}a", "{u}b") == [b"1", b"2"]
    # A transaction touching two slots is refused at EXEC, as a cluster node refuses it.
    pipe = r.pipeline(transaction=True)
    pipe.set("x1", "1").set("x2", "2")
    with pytest.raises(redis.ResponseError, match="hash to the same slot"):
        pipe.execute()
    # Scripts must declare their keys, and those must share a slot.
    with pytest.raises(redis.ResponseError, match="hash to the same slot"):
        r.eval("return redis.call('SET', KEYS[1], '1')", 2, "p", "q")
    # A script with flags (a shebang) may not reach keys outside its declared keys' slot.
    with pytest.raises(redis.ResponseError, match="do not hash to the same slot"):
        r.eval("#!lua\nreturn redis.call('SET', 'undeclared-elsewhere', '1')", 1, "{z}x")


def test_slot_commands_are_valkeys_own(env: Harness) -> None:
    r = client(env)
    r.set("{slot}one", "1")
    r.set("{slot}two", "2")
    slot = r.execute_command("CLUSTER", "KEYSLOT", "{slot}one")
    assert r.execute_command("CLUSTER", "COUNTKEYSINSLOT", slot) == 2
    assert sorted(r.execute_command("CLUSTER", "GETKEYSINSLOT", slot, 10)) == [b"{slot}one", b"{slot}two"]


def test_select_other_than_zero_is_refused(env: Harness) -> None:
    r = client(env)
    assert r.execute_command("SELECT", 0) in (True, b"OK")
    with pytest.raises(redis.ResponseError, match="SELECT is not allowed in cluster mode"):
        r.execute_command("SELECT", 1)


def test_topology_names_the_endpoint_never_valkey(env: Harness) -> None:
    cache = env.cache("clu")
    r = client(env)
    slots = r.execute_command("CLUSTER", "SLOTS")
    assert slots[0][:2] == [0, 16383] and slots[0][2][:2] == [cache.hostname.encode(), 6379]
    nodes = r.execute_command("CLUSTER", "NODES")
    text = nodes if isinstance(nodes, str) else str(nodes)
    if env.config.dataplane == "native":
        # valkey's own announcement: the conventional bus port, the same for every cache, on the
        # cache's address in its own network namespace (no host detail).
        assert cache.hostname in text and f"{cache.address}:6379@16379," in text
    else:
        assert cache.hostname in text and str(cache.process.bus_port) not in text
    primary_id = r.execute_command("CLUSTER", "MYID")
    replicas = r.execute_command("CLUSTER", "REPLICAS", primary_id)
    assert len(replicas) == 1 and b":6380@" in replicas[0]
    hello = r.execute_command("HELLO", "3")
    assert hello[b"mode"] == b"cluster"


def test_redis_py_cluster_client(env: Harness) -> None:
    cache = env.cache("clu")

    def remap(address: tuple[str, int]) -> tuple[str, int]:
        # What DNS does for a client in the VPC: the endpoint name to the cache's address.
        host, port = address
        return (cache.address if host == cache.hostname else host, port)

    rc = RedisCluster(host=cache.address, port=6379, ssl=True, ssl_cert_reqs="none", address_remap=remap)
    try:
        assert rc.set("cluster-key", "v") and rc.get("cluster-key") == b"v"
        # The client splits multi-key commands by slot itself.
        assert rc.mset_nonatomic({"ka": "1", "kb": "2", "kc": "3"}) and rc.mget_nonatomic(["ka", "kb", "kc"]) == \
            [b"1", b"2", b"3"]
        assert len(rc.get_nodes()) >= 1
        assert all(n.host == cache.address for n in rc.get_nodes())
    finally:
        rc.close()


@pytest.mark.skipif(shutil.which("valkey-cli") is None, reason="valkey-cli not installed")
def test_valkey_cli_cluster_mode(env: Harness) -> None:
    cache = env.cache("clu")
    base = ["valkey-cli", "--tls", "--insecure", "-c", "-h", cache.address, "-p", "6379"]
    for key in ("alpha", "beta", "gamma", "delta"):  # keys in four different slots
        out = subprocess.run([*base, "SET", key, key.upper()], capture_output=True, text=True, timeout=20, check=False)
        assert out.stdout.strip() == "OK", out.stderr
    out = subprocess.run([*base, "GET", "gamma"], capture_output=True, text=True, timeout=20, check=False)
    assert out.stdout.strip() == "GAMMA"
    out = subprocess.run([*base, "MSET", "alpha", "1", "beta", "2"], capture_output=True, text=True, timeout=20, check=False)
    assert "CROSSSLOT" in out.stdout + out.stderr


def _namespaces_allowed() -> bool:
    """Can this process make a network namespace (as root, or through a user namespace)?"""
    return subprocess.run(["unshare", "-n", "true"] if os.geteuid() == 0 else ["unshare", "-rn", "true"],
                          capture_output=True, check=False).returncode == 0


def test_cluster_bus_is_out_of_clients_reach(env: Harness) -> None:
    if shutil.which("unshare") is not None and not _namespaces_allowed():
        pytest.skip("this kernel allows no private network namespace: the bus stays on loopback (logged)")
    proc = env.cache("clu").process
    assert proc.bus_port > 0 and not proc.bus_exposed
    # An attacker on the machine trying to MEET the node or forge bus messages finds nothing.
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", proc.bus_port), timeout=1).close()
    # valkey itself is in cluster mode, all slots its own.
    info = env.admin("clu").execute_command("CLUSTER", "INFO")
    assert "cluster_state:ok" in info and "cluster_slots_assigned:16384" in info


def test_crash_restart_keeps_cluster_mode_and_data(env: Harness) -> None:
    r = client(env)
    r.set("{c}survivor", "1")
    proc = env.cache("clu").process
    old_pid = proc.pid
    # AOF flush (appendfsync everysec) before the crash.
    env.admin("clu").execute_command("BGREWRITEAOF")
    env.wait_for(lambda: env.admin("clu").info("persistence")["aof_rewrite_in_progress"] == 0)
    import signal
    os.kill(old_pid, signal.SIGKILL)
    env.wait_for(lambda: proc.pid != old_pid and proc.proc.returncode is None, timeout=20)

    def ok() -> bool:
        # Writable again too: a restarted node serves reads only until valkey's cluster
        # state is ok again (its start-up delay, about 2 s).
        try:
            c = client(env)
            return c.get("{c}survivor") == b"1" and bool(c.set("{c}after", "1"))
        except redis.RedisError:
            return False

    env.wait_for(ok, timeout=20)
    assert "cluster_slots_assigned:16384" in env.admin("clu").execute_command("CLUSTER", "INFO")
    # The replica followed the primary into its new namespace: the reader serves new writes again.
    client(env).set("{c}after-crash", "2")

    def replicated() -> bool:
        try:
            r = reader(env)
            r.execute_command("READONLY")  # a cluster replica serves reads to READONLY clients
            return r.get("{c}after-crash") == b"2"
        except redis.RedisError:
            return False

    env.wait_for(replicated, timeout=20)


def test_valkey_glide_cluster_and_standalone(env: Harness) -> None:
    glide = pytest.importorskip("glide")
    import asyncio

    cache = env.cache("clu")
    ca = (env.config.data_dir / "ca" / "ca.pem").read_bytes()

    def resolve(host: str, port: int) -> tuple[str, int]:
        # What DNS does for a client in the VPC: the endpoint name to the cache's address.
        return (cache.address if host == cache.hostname else host, port)

    async def run() -> None:
        tls = glide.TlsAdvancedConfiguration(root_pem_cacerts=ca)
        cluster = await glide.GlideClusterClient.create(glide.GlideClusterClientConfiguration(
            [glide.NodeAddress(cache.hostname, 6379)], use_tls=True, address_resolver=resolve,
            advanced_config=glide.AdvancedGlideClusterClientConfiguration(tls_config=tls)))
        try:
            for i in range(20):  # keys over many slots, routed by glide from CLUSTER SLOTS
                assert await cluster.set(f"glide-{i}", str(i)) == "OK"
            assert await cluster.get("glide-7") == b"7"
            assert await cluster.mget([f"glide-{i}" for i in range(5)]) == [b"0", b"1", b"2", b"3", b"4"]
        finally:
            await cluster.close()
        single = await glide.GlideClient.create(glide.GlideClientConfiguration(
            [glide.NodeAddress(cache.hostname, 6379)], use_tls=True, address_resolver=resolve,
            advanced_config=glide.AdvancedGlideClientConfiguration(tls_config=tls)))
        try:
            assert await single.get("glide-3") == b"3"
        finally:
            await single.close()

    asyncio.run(asyncio.wait_for(run(), 60))


def reader(h: Harness, **kw: object) -> redis.Redis:
    return redis.Redis(host=h.cache("clu").address, port=6380, ssl=True, ssl_cert_reqs="none",
                       socket_timeout=10, retry=Retry(NoBackoff(), 0), **kw)  # type: ignore[arg-type]


def test_reader_endpoint_is_a_real_replica(env: Harness) -> None:
    primary, replica = client(env), reader(env)
    assert replica.execute_command("READONLY") in (True, b"OK")
    assert primary.execute_command("ROLE")[0] == b"master"
    assert replica.execute_command("ROLE")[0] == b"slave"
    primary.set("{r}fresh", "v1")
    env.wait_for(lambda: replica.get("{r}fresh") == b"v1", timeout=5)  # eventually consistent
    if env.config.dataplane == "native":
        # valkey's own cluster replica: a write is redirected to the primary endpoint.
        with pytest.raises(redis.exceptions.MovedError, match=f"{env.cache('clu').hostname}:6379"):
            replica.set("{r}fresh", "from-reader")
    else:
        with pytest.raises(redis.exceptions.ReadOnlyError):
            replica.set("{r}fresh", "from-reader")
    assert primary.get("{r}fresh") == b"v1"
    # The same users and rules on both: the replica's ACLs are synced too.
    assert ADMIN not in replica.execute_command("ACL", "USERS")
    with pytest.raises(redis.ResponseError, match="unknown command 'KEYS'"):
        replica.keys("*")
    # Its cluster view is the reader node's.
    assert replica.execute_command("CLUSTER", "MYID") != primary.execute_command("CLUSTER", "MYID")


ADMIN = b"cloudlet-admin"
