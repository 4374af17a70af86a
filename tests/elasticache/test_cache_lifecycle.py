"""Serverless cache lifecycle on real valkey-server processes (provider level)."""

from __future__ import annotations

import os
import signal
import socket
import time

import pytest
from ec_harness import Harness, harness  # noqa: F401  (fixture)
from process_helpers import wait_gone

from cloudlet.core.errors import AWSError


def test_create_is_creating_then_available_with_endpoint(harness: Harness) -> None:
    out = harness.call("CreateServerlessCache", ServerlessCacheName="Cache-01", Engine="valkey",
                       Description="ElastiCache IAM auth application")["ServerlessCache"]
    assert out["Status"] == "creating"
    assert out["ServerlessCacheName"] == "cache-01"
    assert out["ARN"] == "arn:aws:elasticache:us-east-1:123456789012:serverlesscache:cache-01"
    host = out["Endpoint"]["Address"]
    assert host.startswith("cache-01-") and host.endswith(".serverless.use1.cache.amazonaws.com")
    assert len(host.split(".")[0]) == len("cache-01-") + 6
    assert out["Endpoint"]["Port"] == 6379 and out["ReaderEndpoint"] == {"Address": host, "Port": 6380}
    assert (out["Engine"], out["MajorEngineVersion"], out["FullEngineVersion"]) == ("valkey", "8", "8.0")
    harness.wait_status("cache-01", "available")
    address = harness.world.hosts.resolve(host)
    assert address is not None and address.startswith("127.78.")
    admin = harness.admin("cache-01")
    assert admin.ping()
    assert admin.config_get("maxmemory-policy") == {"maxmemory-policy": "volatile-lru"}
    # Its TCP port (for its read replica only) is in its own network namespace: not on the host's.
    port = int(admin.config_get("port")["port"])
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    # No user group: the default user serves everyone with all permissions.
    default = harness.as_user("cache-01", "default")
    default.set("k", "v")
    assert default.get("k") == "v"
    lines = harness.provider.status_lines()
    assert any("cache-01 available" in ln and host in ln and address in ln for ln in lines)


def test_delete_goes_through_deleting_and_frees_everything(harness: Harness) -> None:
    harness.call("CreateServerlessCache", ServerlessCacheName="gone", Engine="valkey")
    harness.wait_status("gone", "available")
    cache = harness.cache("gone")
    pid = cache.process.pid
    out = harness.call("DeleteServerlessCache", ServerlessCacheName="gone")["ServerlessCache"]
    assert out["Status"] == "deleting"
    harness.wait_status("gone", None)
    with pytest.raises(AWSError) as e:
        harness.call("DescribeServerlessCaches", ServerlessCacheName="gone")
    assert e.value.code == "ServerlessCacheNotFoundFault"
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    assert not cache.workdir.exists()
    assert harness.world.hosts.resolve(cache.hostname) is None


def test_crashed_valkey_is_restarted_with_data_kept(harness: Harness) -> None:
    harness.call("CreateServerlessCache", ServerlessCacheName="crashy", Engine="valkey")
    harness.wait_status("crashy", "available")
    harness.as_user("crashy", "default").set("survivor", "yes")
    old = harness.cache("crashy").process.pid
    os.kill(old, signal.SIGKILL)
    harness.wait_for(lambda: harness.cache("crashy").process.restarts == 1)
    harness.wait_for(lambda: _pings(harness, "crashy"))
    assert harness.cache("crashy").process.pid != old
    assert harness.cache_status("crashy") == "available"
    assert harness.as_user("crashy", "default").get("survivor") == "yes"
    assert "restart #1" in (harness.cache("crashy").workdir / "valkey.log").read_text()


def _pings(h: Harness, name: str) -> bool:
    try:
        return bool(h.admin(name).ping())
    except Exception:
        return False


def test_create_failed_when_valkey_cannot_start(tmp_path) -> None:
    h = Harness(tmp_path, valkey_server=str(tmp_path / "no-such-valkey"))
    try:
        h.call("CreateServerlessCache", ServerlessCacheName="broken", Engine="valkey")
        h.wait_status("broken", "create-failed")
        assert "no-such-valkey" in (h.cache("broken").workdir / "valkey.log").read_text()
        with pytest.raises(AWSError) as e:
            h.call("ModifyServerlessCache", ServerlessCacheName="broken", Description="x")
        assert e.value.code == "InvalidServerlessCacheStateFault"
        h.call("DeleteServerlessCache", ServerlessCacheName="broken")
        h.wait_status("broken", None)
    finally:
        h.close()


def test_modify_usage_limits_reconfigures_valkey(harness: Harness) -> None:
    harness.call("CreateServerlessCache", ServerlessCacheName="lim", Engine="redis",
                 CacheUsageLimits={"DataStorage": {"Maximum": 10, "Unit": "GB"}})
    harness.wait_status("lim", "available")
    assert harness.admin("lim").config_get("maxmemory")["maxmemory"] == str(10 * 1024**3)
    out = harness.call("ModifyServerlessCache", ServerlessCacheName="lim",
                       CacheUsageLimits={"DataStorage": {"Maximum": 2, "Unit": "GB"}})["ServerlessCache"]
    assert out["Status"] == "modifying"
    with pytest.raises(AWSError) as e:
        harness.call("ModifyServerlessCache", ServerlessCacheName="lim", Description="again")
    assert e.value.code == "InvalidServerlessCacheStateFault"
    harness.wait_status("lim", "available")
    assert harness.admin("lim").config_get("maxmemory")["maxmemory"] == str(2 * 1024**3)
    assert "maxmemory 2147483648" in (harness.cache("lim").workdir / "valkey.conf").read_text()
    desc = harness.call("DescribeServerlessCaches", ServerlessCacheName="lim")["ServerlessCaches"][0]
    assert desc["CacheUsageLimits"]["DataStorage"] == {"Maximum": 2, "Unit": "GB"}
    # A redis cache runs on valkey, which is Redis OSS 7.2 (INFO redis_version).
    assert (desc["Engine"], desc["FullEngineVersion"]) == ("redis", "7.2")


def test_stop_kills_every_valkey(tmp_path) -> None:
    h = Harness(tmp_path)
    h.call("CreateServerlessCache", ServerlessCacheName="a1", Engine="valkey")
    h.call("CreateServerlessCache", ServerlessCacheName="a2", Engine="valkey")
    h.wait_status("a1", "available")
    h.wait_status("a2", "available")
    pids = [h.cache("a1").process.pid, h.cache("a2").process.pid]
    h.close()
    time.sleep(0.1)
    for pid in pids:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)


_ORPHAN_SCRIPT = """
import sys, time
sys.path[:0] = [{src!r}, {tests!r}]
from ec_harness import Harness
from pathlib import Path
h = Harness(Path({data!r}))
h.call("CreateServerlessCache", ServerlessCacheName="orphan", Engine="valkey")
h.wait_status("orphan", "available")
print(h.cache("orphan").process.pid, flush=True)
time.sleep(60)
"""


def test_valkey_dies_when_cloudlet_is_killed(tmp_path) -> None:
    import subprocess
    import sys
    from pathlib import Path

    here = Path(__file__).resolve().parent
    script = _ORPHAN_SCRIPT.format(src=str(here.parent.parent / "src"), tests=str(here), data=str(tmp_path))
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        pid = int(proc.stdout.readline())
        os.kill(pid, 0)  # valkey is running
        proc.kill()  # SIGKILL: cloudlet gets no chance to clean up
        proc.wait()
        assert wait_gone(pid), f"valkey {pid} outlived its parent"
    finally:
        if proc.poll() is None:
            proc.kill()


def test_endpoint_listens_while_available_and_closes_on_delete(harness: Harness) -> None:

    harness.call("CreateServerlessCache", ServerlessCacheName="ep", Engine="valkey")
    harness.wait_status("ep", "available")
    address = harness.cache("ep").address
    for port in (6379, 6380):
        with socket.create_connection((address, port), timeout=2):
            pass
    harness.call("DeleteServerlessCache", ServerlessCacheName="ep")
    harness.wait_status("ep", None)
    with pytest.raises(OSError):
        socket.create_connection((address, 6379), timeout=2).close()


def test_storage_limit_evicts_volatile_keys_then_refuses_writes(harness: Harness) -> None:
    """AWS's semantics at the DataStorage maximum, as the cache's valkey is configured.
    (The API's minimum is 1 GB; the test lowers maxmemory directly to reach it quickly.)"""
    import redis

    harness.call("CreateServerlessCache", ServerlessCacheName="full", Engine="valkey",
                 CacheUsageLimits={"DataStorage": {"Maximum": 1, "Unit": "GB"}})
    harness.wait_status("full", "available")
    admin = harness.admin("full")
    used = int(admin.info("memory")["used_memory"])
    # Headroom for the replication backlog (1 MiB, filled as writes reach the read replica).
    admin.config_set("maxmemory", str(used + 8 * 1024 * 1024))
    client = harness.as_user("full", "default")
    for i in range(1600):  # ~16 MB of keys with a TTL: the oldest are evicted, writes still succeed
        client.set(f"ttl:{i}", "x" * 10_000, ex=3600)
    assert int(admin.info("stats")["evicted_keys"]) > 0
    with pytest.raises(redis.exceptions.OutOfMemoryError):
        for i in range(3000):  # keys without a TTL cannot be evicted: OOM once memory is full
            client.set(f"plain:{i}", "x" * 10_000)
