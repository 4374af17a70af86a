"""Policy engine throughput, and the latency enforcement adds to an API request.

  python3 bench/bench_policy.py                 # engine, and two real cloudlets: enforcement on vs off
  python3 bench/bench_policy.py --engine-only   # engine only: decisions per second

Engine set: 10 policies x 5 statements (50), with wildcards in actions and
resources, conditions (StringLike with a variable, IpAddress, DateLessThan,
Bool, ForAnyValue) and a few Deny statements that do not match the request.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "src"))

from cloudlet.core.policies import PolicyDoc  # noqa: E402
from cloudlet.policy.engine import evaluate  # noqa: E402
from cloudlet.policy.grammar import parse_policy_document  # noqa: E402


def policy_set() -> list[PolicyDoc]:
    docs = []
    for p in range(10):
        statements: list[dict[str, Any]] = [
            {"Sid": f"S{p}a", "Effect": "Allow", "Action": [f"ec2:Describe{p}*", "ec2:Get*"], "Resource": "*"},
            {"Sid": f"S{p}b", "Effect": "Allow", "Action": "s3:Get*",
             "Resource": f"arn:aws:s3:::bucket-{p}/home/${{aws:username}}/*",
             "Condition": {"StringLike": {"s3:prefix": ["home/${aws:username}/*"]}}},
            {"Sid": f"S{p}c", "Effect": "Deny", "Action": "iam:*", "Resource": "*",
             "Condition": {"NotIpAddress": {"aws:SourceIp": ["10.0.0.0/8", "127.0.0.0/8"]}}},
            {"Sid": f"S{p}d", "Effect": "Allow", "Action": ["elasticache:Connect", "elasticache:Describe*"],
             "Resource": f"arn:aws:elasticache:*:123456789012:serverlesscache:cache-{p}*",
             "Condition": {"DateLessThan": {"aws:CurrentTime": "2099-01-01T00:00:00Z"},
                           "Bool": {"aws:SecureTransport": "true"}}},
            {"Sid": f"S{p}e", "Effect": "Allow", "Action": "lambda:Invoke*",
             "Resource": f"arn:aws:lambda:us-east-1:123456789012:function:fn-{p}-*",
             "Condition": {"ForAnyValue:StringEquals": {"aws:TagKeys": ["team", "env"]}}},
        ]
        doc = {"Version": "2012-10-17", "Statement": statements}
        parse_policy_document(json.dumps(doc), "identity")
        docs.append(PolicyDoc(f"arn:aws:iam::123456789012:policy/p{p}", doc))
    return docs


def bench_engine(seconds: float = 2.0) -> float:
    docs = policy_set()
    ctx = {
        "aws:username": "alice", "aws:sourceip": "127.0.0.1", "aws:securetransport": "true",
        "aws:currenttime": "2026-01-01T00:00:00Z", "aws:tagkeys": ["env"],
    }
    # The allowing statement is in the last policy, so every statement is examined.
    action, resource = "elasticache:Connect", "arn:aws:elasticache:us-east-1:123456789012:serverlesscache:cache-9x"
    assert evaluate(action, resource, ctx, identity=docs).allowed
    assert not evaluate("iam:ListRoles", "*", ctx, identity=docs).allowed
    n = 0
    t0 = time.perf_counter()
    while (elapsed := time.perf_counter() - t0) < seconds:
        for _ in range(200):
            evaluate(action, resource, ctx, identity=docs)
        n += 200
    return n / elapsed


def bench_server(requests: int = 300) -> dict[str, float]:
    sys.path.insert(0, str(REPO / "tests"))
    import boto3
    from conftest import CloudletProcess  # the same launcher the tests use

    results: dict[str, float] = {}
    servers: list[Any] = []
    clients: list[Any] = []
    try:
        for label, enforce in (("on", "1"), ("off", "0")):
            tmp = Path(tempfile.mkdtemp(prefix=f"cloudlet-bench-{label}-"))
            srv = CloudletProcess(tmp / "data", {"CLOUDLET_ENFORCE_IAM": enforce, "CLOUDLET_LOG_LEVEL": "WARNING"})
            servers.append(srv)
            root = dict(endpoint_url=srv.endpoint_url, region_name="us-east-1",
                        aws_access_key_id=srv.env["AWS_ACCESS_KEY_ID"],
                        aws_secret_access_key=srv.env["AWS_SECRET_ACCESS_KEY"])
            iam = boto3.client("iam", **root)
            iam.create_user(UserName="bench")
            key = iam.create_access_key(UserName="bench")["AccessKey"]
            for p in policy_set():
                name = p.source.rsplit("/", 1)[1]
                arn = iam.create_policy(PolicyName=name, PolicyDocument=json.dumps(p.document))["Policy"]["Arn"]
                iam.attach_user_policy(UserName="bench", PolicyArn=arn)
            ec2 = boto3.client("ec2", endpoint_url=srv.endpoint_url, region_name="us-east-1",
                               aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"])
            clients.append(ec2)
        # Interleave the two servers so drift affects both alike.
        samples: dict[str, list[float]] = {"on": [], "off": []}
        allow = json.dumps({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "ec2:DescribeVpcs", "Resource": "*"}]})
        for srv in servers:
            boto3.client("iam", endpoint_url=srv.endpoint_url, region_name="us-east-1",
                         aws_access_key_id=srv.env["AWS_ACCESS_KEY_ID"],
                         aws_secret_access_key=srv.env["AWS_SECRET_ACCESS_KEY"]).put_user_policy(
                UserName="bench", PolicyName="vpcs", PolicyDocument=allow)
        for client in clients:
            for _ in range(20):
                client.describe_vpcs()  # warm connections and caches
        for _ in range(requests):
            for label, client in zip(("on", "off"), clients, strict=False):
                t0 = time.perf_counter()
                client.describe_vpcs()
                samples[label].append(time.perf_counter() - t0)
        for label in ("on", "off"):
            results[f"median_ms_{label}"] = statistics.median(samples[label]) * 1000
        results["added_ms"] = results["median_ms_on"] - results["median_ms_off"]
        results["ratio"] = results["median_ms_on"] / results["median_ms_off"]
    finally:
        for srv in servers:
            srv.stop()
    return results


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--engine-only", action="store_true", help="skip the enforcement on/off measurement")
    ap.add_argument("--seconds", type=float, default=2.0)
    args = ap.parse_args()
    rate = bench_engine(args.seconds)
    print(f"engine: {rate:,.0f} decisions/s (10 policies, 50 statements; {1e6 / rate:.1f} us/decision)")
    if not args.engine_only:
        r = bench_server()
        print(f"server: DescribeVpcs median {r['median_ms_on']:.2f} ms enforced vs {r['median_ms_off']:.2f} ms "
              f"not enforced: +{r['added_ms']:.2f} ms per request, ratio {r['ratio']:.2f}")


if __name__ == "__main__":
    main()
