"""What a cache costs cloudlet's own process (issue 18: memory per idle cache at most a bare
valkey's): with a cache up and serving TLS, cloudlet has not loaded cryptography (its leaf
certificate comes from the openssl command) nor redis-py (its admin connections use
admin_client). The certificate it serves verifies, hostname and address, against the CA.
Checked in a fresh interpreter whose data dir has its CA, as `cloudlet start` leaves it."""

from __future__ import annotations

import json
import shutil
import socket
import ssl
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(shutil.which("valkey-server") is None, reason="valkey-server not installed")

SERVE = r"""
import asyncio, json, sys, time
from pathlib import Path
from cloudlet.config import Config
from cloudlet.core.context import RequestContext
from cloudlet.protocol import local
from cloudlet.services.registry import build_world

world = build_world(Config.from_env({}, data_dir=Path(sys.argv[1]), cache_net="127.86", persist=False))
ec = world.providers["elasticache"]

async def call(op, **params):
    ctx = RequestContext("elasticache", op, "us-east-1", world.root, "req-1")
    return await local.call_async(ec.handler_for(op), ctx, params)

async def main():
    await ec.start()
    try:
        await call("CreateServerlessCache", ServerlessCacheName="certs", Engine="valkey")
        deadline = time.monotonic() + 60
        while True:
            cache = (await call("DescribeServerlessCaches", ServerlessCacheName="certs"))["ServerlessCaches"][0]
            if cache["Status"] == "available" or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.05)
        st = ec.store.get(world.config.account_id, "us-east-1").caches["certs"]
        print(json.dumps({
            "status": cache["Status"], "hostname": st.hostname, "address": st.address,
            "loaded": sorted(m for m in ("cryptography", "redis", "valkey") if m in sys.modules),
        }), flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
    finally:
        await ec.stop()

asyncio.run(main())
"""


def test_a_serving_cache_leaves_cryptography_and_redis_py_unloaded(tmp_path: Path) -> None:
    data = tmp_path / "data"
    subprocess.run([sys.executable, "-m", "cloudlet.cli_ca", str(data)], check=True, timeout=60)
    proc = subprocess.Popen([sys.executable, "-c", SERVE, str(data)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line, proc.stderr.read() if proc.stderr else ""
        seen = json.loads(line)
        assert seen["status"] == "available"
        assert seen["loaded"] == []
        ctx = ssl.create_default_context(cafile=str(data / "ca" / "ca.pem"))  # verifies chain and name
        for name in (seen["hostname"], seen["address"]):
            for port in (6379, 6380):
                with socket.create_connection((seen["address"], port), timeout=20) as raw, \
                        ctx.wrap_socket(raw, server_hostname=name) as tls:
                    tls.sendall(b"PING\r\n")
                    assert tls.recv(64) == b"+PONG\r\n"  # no user group: the default user serves
        wrong = ssl.create_default_context(cafile=str(data / "ca" / "ca.pem"))
        with socket.create_connection((seen["address"], 6379), timeout=20) as raw:
            with pytest.raises(ssl.SSLCertVerificationError):
                wrong.wrap_socket(raw, server_hostname="another-cache.serverless.local")
    finally:
        if proc.stdin is not None:
            proc.stdin.write("\n")
            proc.stdin.close()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
