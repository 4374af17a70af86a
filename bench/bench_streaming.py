"""Lambda response streaming: time to the first byte of a Node.js handler that writes a
first part, works 200 ms, then writes the rest, read with InvokeWithResponseStream, against
the whole answer of the same work through a plain Invoke (which waits for the end), in one
run; and a streaming invoke of a handler that writes at once, against a plain Invoke of a
buffered handler (the cost of the event stream itself). Prints p50/p99 and the ratios.

    python3 bench/bench_streaming.py [-n 30]
"""

from __future__ import annotations

import argparse
import io
import os
import shutil
import statistics
import time
import uuid
import zipfile
from typing import Any

from bench_invoke import TRUST, start_cloudlet, summary

STREAMING = """exports.handler = awslambda.streamifyResponse(async (event, stream) => {
  stream.write("first part;");
  await new Promise((r) => setTimeout(r, event.work ?? 0));
  stream.write("the rest");
  stream.end();
});
"""
BUFFERED = "exports.handler = async (event) => 'first part;the rest';\n"


def _zip(src: str) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("index.js", src)
    return buf.getvalue()


def run(url: str, n: int) -> dict[str, list[float]]:
    import boto3
    from botocore.config import Config as BotoConfig

    kw: dict[str, Any] = dict(
        endpoint_url=url, region_name="us-east-1",
        aws_access_key_id=os.environ.get("AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLE"),
        aws_secret_access_key=os.environ.get("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
        config=BotoConfig(retries={"max_attempts": 0}, read_timeout=300))
    iam, lam = boto3.client("iam", **kw), boto3.client("lambda", **kw)
    role = iam.create_role(RoleName="bench-" + uuid.uuid4().hex[:8], AssumeRolePolicyDocument=TRUST)["Role"]["Arn"]
    names = {}
    for kind, src in (("streaming", STREAMING), ("buffered", BUFFERED)):
        names[kind] = name = f"bench-{kind}-{uuid.uuid4().hex[:6]}"
        lam.create_function(FunctionName=name, Role=role, Runtime="nodejs20.x", Handler="index.handler",
                            Code={"ZipFile": _zip(src)})
        lam.get_waiter("function_active_v2").wait(FunctionName=name, WaiterConfig={"Delay": 0.05, "MaxAttempts": 6000})
    out: dict[str, list[float]] = {k: [] for k in ("ttfb", "whole", "stream0", "plain0")}
    for i in range(n + 3):
        t = time.perf_counter()
        events = iter(lam.invoke_with_response_stream(FunctionName=names["streaming"], Payload=b'{"work": 200}')
                      ["EventStream"])
        first = next(events)
        ttfb = (time.perf_counter() - t) * 1000
        assert first["PayloadChunk"]["Payload"] == b"first part;", first
        list(events)
        t = time.perf_counter()
        body = lam.invoke(FunctionName=names["streaming"], Payload=b'{"work": 200}')["Payload"].read()
        whole = (time.perf_counter() - t) * 1000
        assert body == b"first part;the rest", body
        t = time.perf_counter()
        list(lam.invoke_with_response_stream(FunctionName=names["streaming"], Payload=b"{}")["EventStream"])
        stream0 = (time.perf_counter() - t) * 1000
        t = time.perf_counter()
        lam.invoke(FunctionName=names["buffered"], Payload=b"{}")["Payload"].read()
        plain0 = (time.perf_counter() - t) * 1000
        if i >= 3:  # the first rounds warm the environments
            for k, v in (("ttfb", ttfb), ("whole", whole), ("stream0", stream0), ("plain0", plain0)):
                out[k].append(v)
    for name in names.values():
        lam.delete_function(FunctionName=name)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-n", type=int, default=30)
    args = ap.parse_args()
    if shutil.which("node") is None:
        print("no node on this machine: skipped")
        return 0
    proc, url = start_cloudlet()
    try:
        res = run(url, args.n)
    finally:
        proc.terminate()
        proc.wait(10)
    rows = [summary("stream: first byte (200 ms work)", res["ttfb"]),
            summary("plain Invoke: whole (200 ms work)", res["whole"]),
            summary("stream: whole, no work", res["stream0"]),
            summary("plain Invoke, buffered handler", res["plain0"])]
    print(f"{'':36s} {'p50 ms':>10s} {'p99 ms':>10s}")
    for name, p50, p99 in rows:
        print(f"{name:36s} {p50:10.3f} {p99:10.3f}")
    med = statistics.median
    print(f"\nfirst byte streamed / whole buffered   {med(res['ttfb']) / med(res['whole']):8.3f}x")
    print(f"stream (no work) / plain Invoke        {med(res['stream0']) / med(res['plain0']):8.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
