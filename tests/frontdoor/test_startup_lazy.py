"""What a started, idle cloudlet has not loaded: the parts that start-up time and idle memory
(issue 18: 0.3 s, 50 MiB) leave to their first use. Checked in a fresh interpreter, after
the front door started on an empty data dir, as `cloudlet start` runs it; then what a first
call loads (its own service's provider only), and what a restart with state brings back
without any call."""

from __future__ import annotations

import json
import os
import ssl
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote

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
    "loaded": sorted(m for m in ("cryptography", "redis", "psutil", "cloudlet.dataplane.server",
                                          "sqlite3", "frozenlist._frozenlist") if m in sys.modules),
    "state_file": os.path.exists(front.world.persistence.db.path),
    "frozenlist_env": os.environ.get("FROZENLIST_NO_EXTENSIONS"),
    "provider_modules": sorted(m for m in sys.modules if m.startswith("cloudlet.services.") and m.endswith(".provider")),
    "built": [s for s in front.providers if front.providers.is_built(s)],
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
    # The data plane's TLS stack, the valkey client and psutil wait for a cache or the CLI;
    # SQLite for the state file's first write (a fresh data dir has none to read); aiohttp's
    # signal lists are pure Python (the compiled frozenlist links the C++ runtime), and the
    # variable that asked for it is gone again (a function's environment never sees it).
    assert seen["loaded"] == []
    assert seen["state_file"] is False
    assert seen["frozenlist_env"] is None
    # No botocore model before a request names its service, and no provider: each service's
    # is imported and built at its first call.
    assert seen["models"] == 0
    assert seen["provider_modules"] == [] and seen["built"] == []
    # aiohttp's unused client contexts hold no CA bundle, and nothing else lost it: the
    # variable is as it was, and a context made afterwards loads the bundle.
    assert seen["aiohttp_client_cas"] == 0
    assert seen["ssl_cert_file"] == bundle
    assert seen["later_context_cas"] > 0


# A real server in this interpreter: one signed call (as boto3 signs it), then what is loaded.
FIRST_CALL = r"""
import asyncio, http.client, json, os, signal, sys
from pathlib import Path
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from cloudlet.config import Config
from cloudlet import server

config = Config.from_env({}, data_dir=Path(sys.argv[1]), port=int(sys.argv[2]), console_port=0)
BODY = sys.argv[3]
SERVICE = sys.argv[4]

def call():
    req = AWSRequest("POST", config.endpoint_url + "/", data=BODY,
                     headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"})
    SigV4Auth(Credentials(config.access_key_id, config.secret_access_key), SERVICE, "us-east-1").add_auth(req)
    conn = http.client.HTTPConnection("127.0.0.1", config.port, timeout=30)
    conn.request("POST", "/", body=BODY, headers=dict(req.prepare().headers.items()))
    return conn.getresponse().status

async def ready():
    status = await asyncio.to_thread(call)
    import gc
    front = next(o for o in gc.get_objects() if isinstance(o, server.FrontDoor))
    await front.providers.restored()  # what the health check waits for
    print(json.dumps({
        "status": status,
        "built": [s for s in front.providers if front.providers.is_built(s)],
        "provider_modules": sorted(m for m in sys.modules
                                   if m.startswith("cloudlet.services.") and m.endswith(".provider")),
    }), flush=True)
    os.kill(os.getpid(), signal.SIGTERM)

asyncio.run(server.serve(config, ready))
"""


def _first_call(tmp_path: Path, body: str, service: str) -> dict[str, object]:
    from cloudlet_process import free_port

    out = subprocess.run([sys.executable, "-c", FIRST_CALL, str(tmp_path / "data"), str(free_port()), body, service],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    seen: dict[str, object] = json.loads(out.stdout.strip().splitlines()[-1])
    return seen


def test_first_call_builds_its_own_service_only_and_state_comes_back_without_a_call(tmp_path: Path) -> None:
    seen = _first_call(tmp_path, "Action=GetCallerIdentity&Version=2011-06-15", "sts")
    assert seen["status"] == 200
    assert seen["built"] == ["sts"]
    assert seen["provider_modules"] == ["cloudlet.services.sts.provider"]
    # An acknowledged write (an IAM role) leaves IAM state in the file: the next start builds
    # and restores IAM by itself, before any IAM call (here an STS call is the only one).
    trust = json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]})
    role = f"Action=CreateRole&Version=2010-05-08&RoleName=kept&AssumeRolePolicyDocument={quote(trust)}"
    assert _first_call(tmp_path, role, "iam")["status"] == 200
    seen = _first_call(tmp_path, "Action=GetCallerIdentity&Version=2011-06-15", "sts")
    assert seen["status"] == 200
    assert "iam" in seen["built"] and "sts" in seen["built"]
