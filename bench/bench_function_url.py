"""A warm function-URL request against its peer, the same function's warm Invoke API call.

Starts a real cloudlet, creates one python3.12 function with a public URL (AuthType NONE,
the two resource-policy statements), then alternates, over one keep-alive connection each:
a plain HTTP GET of the URL (Host header; the event built, the policy evaluated, the
response mapped) and a boto3 Invoke of the function (SigV4, rest-json, IAM). Prints p50s
and the ratio as a GOAL line (the URL path should cost no more than the API path: <= 1.10x).

Usage: python bench/bench_function_url.py [-n 500]
"""

from __future__ import annotations

import argparse
import http.client
import io
import json
import shutil
import statistics
import sys
import tempfile
import time
import urllib.parse
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "src"))
sys.path.insert(0, str(REPO / "bench"))

from bench_api import start_cloudlet  # noqa: E402
from goals import goal_line  # noqa: E402

from cloudlet.cli import terminate_tree  # noqa: E402
from cloudlet.config import Config  # noqa: E402

SRC = "def handler(event, context):\n    return {'statusCode': 200, 'body': 'ok'}\n"
TRUST = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]})
TARGET = 1.10


def goal(name: str, value: float, peer: str, peer_value: float, unit: str, target: float) -> str:
    return goal_line(name, value, unit, peer, peer_value, "<=", target, "x")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=500, help="requests of each kind")
    args = parser.parse_args()
    import boto3

    tmp = Path(tempfile.mkdtemp(prefix="bench-url-"))
    proc, endpoint, _ = start_cloudlet(tmp / "data", CLOUDLET_PERSIST="0")
    try:
        cfg = Config()
        session = boto3.session.Session(aws_access_key_id=cfg.access_key_id,
                                        aws_secret_access_key=cfg.secret_access_key, region_name="us-east-1")
        iam, lam = session.client("iam", endpoint_url=endpoint), session.client("lambda", endpoint_url=endpoint)
        role = iam.create_role(RoleName="bench-url", AssumeRolePolicyDocument=TRUST)["Role"]["Arn"]
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as zf:
            zf.writestr("app.py", SRC)
        lam.create_function(FunctionName="bench-url", Role=role, Runtime="python3.12", Handler="app.handler",
                            Code={"ZipFile": buf.getvalue()})
        lam.get_waiter("function_active_v2").wait(FunctionName="bench-url", WaiterConfig={"Delay": 1})
        url = lam.create_function_url_config(FunctionName="bench-url", AuthType="NONE")["FunctionUrl"]
        lam.add_permission(FunctionName="bench-url", StatementId="u", Action="lambda:InvokeFunctionUrl",
                           Principal="*", FunctionUrlAuthType="NONE")
        lam.add_permission(FunctionName="bench-url", StatementId="i", Action="lambda:InvokeFunction",
                           Principal="*", InvokedViaFunctionUrl=True)
        host = urllib.parse.urlsplit(url).netloc
        conn = http.client.HTTPConnection("127.0.0.1", int(host.rsplit(":", 1)[1]))

        def via_url() -> float:
            t = time.perf_counter()
            conn.request("GET", "/bench?x=1", headers={"Host": host})
            resp = conn.getresponse()
            body = resp.read()
            assert resp.status == 200 and body == b"ok", (resp.status, body)
            return (time.perf_counter() - t) * 1000

        def via_api() -> float:
            t = time.perf_counter()
            out = lam.invoke(FunctionName="bench-url", Payload=b"{}")
            out["Payload"].read()
            return (time.perf_counter() - t) * 1000

        for _ in range(20):  # warm both paths (and the environment)
            via_url()
            via_api()
        url_ms, api_ms = [], []
        for _ in range(args.n):
            url_ms.append(via_url())
            api_ms.append(via_api())
        u, a = statistics.median(url_ms), statistics.median(api_ms)
        print(f"function URL GET p50 {u:.3f} ms, Invoke API p50 {a:.3f} ms ({args.n} each, alternating)")
        print(goal("function URL warm request", u, "Invoke API, same function", a, "ms", TARGET))
        return 0
    finally:
        terminate_tree(proc.pid)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
