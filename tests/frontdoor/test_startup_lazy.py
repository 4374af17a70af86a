"""What a started, idle cloudlet has not loaded: the parts that start-up time and idle memory
(issue 18: 0.3 s, 50 MiB) leave to their first use. Checked in a fresh interpreter, after
the front door started on an empty data dir, as `cloudlet start` runs it."""

from __future__ import annotations

import json
import os
import ssl
import subprocess
import sys
from pathlib import Path

CHECK = r"""
import asyncio, json, os, ssl, sys
from pathlib import Path
from cloudlet.config import Config
from cloudlet.server import FrontDoor
from cloudlet.services.registry import build_world
import aiohttp.connector

front = FrontDoor(build_world(Config.from_env({}, data_dir=Path(sys.argv[1]))))
async def main():
    await front.start()
    await front.stop()
asyncio.run(main())
print(json.dumps({
    "loaded": sorted(m for m in ("cryptography", "redis", "psutil", "cloudlet.dataplane.server") if m in sys.modules),
    "models": __import__("cloudlet.protocol.registry").protocol.registry.load_model.cache_info().currsize,
    "aiohttp_client_cas": len(aiohttp.connector._SSL_CONTEXT_VERIFIED.get_ca_certs()),
    "ssl_cert_file": os.environ.get("SSL_CERT_FILE"),
    "later_context_cas": len(ssl.create_default_context().get_ca_certs()),
}))
"""


def test_idle_server_leaves_heavy_parts_to_their_first_use(tmp_path: Path) -> None:
    bundle = ssl.get_default_verify_paths().cafile or ssl.get_default_verify_paths().openssl_cafile
    assert bundle and Path(bundle).exists(), "this machine has no CA bundle to check with"
    env = {**os.environ, "SSL_CERT_FILE": bundle, "XDG_CACHE_HOME": str(tmp_path / "cache")}
    out = subprocess.run([sys.executable, "-c", CHECK, str(tmp_path / "data")], capture_output=True, text=True,
                         env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    seen = json.loads(out.stdout.strip().splitlines()[-1])
    # The data plane's TLS stack, the valkey client and psutil wait for a cache or the CLI.
    assert seen["loaded"] == []
    # No botocore model before a request names its service.
    assert seen["models"] == 0
    # aiohttp's unused client contexts hold no CA bundle, and nothing else lost it: the
    # variable is as it was, and a context made afterwards loads the bundle.
    assert seen["aiohttp_client_cas"] == 0
    assert seen["ssl_cert_file"] == bundle
    assert seen["later_context_cas"] > 0
