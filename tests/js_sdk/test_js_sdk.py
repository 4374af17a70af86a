"""A second SDK: the tutorial's control-plane calls through the AWS SDK for JavaScript v3.

botocore shaped cloudlet's protocol layer; the JS SDK serializes, signs and parses on its
own (its query/ec2/json/rest-json codecs, its SigV4 signer, its error and clock-skew
handling). `tutorial_calls.js` runs the calls against the session cloudlet and prints one
JSON report; `metrics_and_urls.js` does the same for CloudWatch metrics (client-cloudwatch
speaks awsJson1_0, query-compatible) and Lambda function URLs (config through the SDK,
serving through node:http and @smithy/signature-v4). A test fails on any failed step. The SDK comes from `npm ci` with the
pinned package-lock.json, installed once into tests/js_sdk/node_modules.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).resolve().parent
NODE_MODULES = HERE / "node_modules"
# Written after a successful `npm ci`: the hash of the lock file it installed.
STAMP = NODE_MODULES / ".cloudlet-lock.sha256"
MIN_NODE_MAJOR = 20  # the SDK's package.json engines

# Steps the report must hold: a script that stopped early cannot pass.
REQUIRED_STEPS = [
    "sts:GetCallerIdentity",
    "elasticache:CreateServerlessCache",
    "elasticache:DescribeServerlessCaches until available",
    "iam:CreateRole/CreatePolicy/AttachRolePolicy",
    "elasticache:CreateUser/CreateUserGroup/ModifyServerlessCache",
    "ec2:DescribeVpcs/Subnets/SecurityGroups with filters",
    "lambda:Invoke",
    "logs:FilterLogEvents",
    "error: sts GetCallerIdentity wrong secret -> SignatureDoesNotMatch 403",
    "cleanup: iam DetachRolePolicy/DeleteRole/DeletePolicy",
]
METRICS_AND_URL_STEPS = [
    "cloudwatch:PutMetricData (Value, Values/Counts, StatisticValues, dimensions, StorageResolution 1)",
    "cloudwatch:PutMetricData over 10 KB goes gzip-compressed (requestcompression) and is read",
    "cloudwatch:GetMetricStatistics with Statistics and with ExtendedStatistics",
    "cloudwatch:GetMetricData (MetricStat at 1 s and 60 s, an expression)",
    "cloudwatch:ListMetrics by namespace, name and dimension filter",
    "error: cloudwatch PutMetricData to AWS/ namespace -> InvalidParameterValueException 400",
    "error: cloudwatch GetMetricStatistics Period 45 -> InvalidParameterValueException 400",
    "lambda:CreateFunctionUrlConfig/GetFunctionUrlConfig/ListFunctionUrlConfigs",
    "http: the URL without a public permission -> 403 Forbidden",
    "http: the URL by Host header; fetch by its *.localhost name",
    "http: AWS_IAM URL signed by @smithy/signature-v4; unsigned, wrong key, tampered body refused",
    "lambda:DeleteFunctionUrlConfig, then Get -> ResourceNotFoundException 404",
]


def _tools() -> tuple[str, str]:
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        pytest.skip("the AWS SDK for JavaScript v3 test needs node and npm on PATH (not found)")
    version = subprocess.run([node, "--version"], capture_output=True, text=True, check=True).stdout.strip()
    major = int(version.lstrip("v").split(".")[0])
    if major < MIN_NODE_MAJOR:
        pytest.skip(f"the AWS SDK for JavaScript v3 needs node >= {MIN_NODE_MAJOR}; this machine has {version}")
    return node, npm


def _install(npm: str) -> None:
    """`npm ci` unless node_modules already holds exactly this lock file's packages."""
    digest = hashlib.sha256((HERE / "package-lock.json").read_bytes()).hexdigest()
    if STAMP.is_file() and STAMP.read_text().strip() == digest:
        return
    cp = subprocess.run(
        [npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"],
        cwd=HERE, capture_output=True, text=True, timeout=600,
    )
    assert cp.returncode == 0, f"npm ci exited {cp.returncode}:\n{cp.stdout[-3000:]}\n{cp.stderr[-3000:]}"
    STAMP.write_text(digest + "\n")


def _env(server: Any) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(server.env)
    env["AWS_REGION"] = server.env["AWS_DEFAULT_REGION"]  # the JS SDK reads AWS_REGION
    # No profile on this machine may change what the SDK sends.
    env["AWS_CONFIG_FILE"] = os.devnull
    env["AWS_SHARED_CREDENTIALS_FILE"] = os.devnull
    return env


def _run(server: Any, script: str, required: list[str]) -> dict[str, Any]:
    node, npm = _tools()
    _install(npm)
    cp = subprocess.run(
        [node, script], cwd=HERE, env=_env(server), capture_output=True, text=True, timeout=240,
    )
    try:
        report: dict[str, Any] = json.loads(cp.stdout)
    except ValueError:
        pytest.fail(f"node exited {cp.returncode} without a JSON report:\n{cp.stdout[-3000:]}\n{cp.stderr[-3000:]}")
    steps = report["steps"]
    failed = [s for s in steps if not s["ok"]]
    assert not failed, "JS SDK steps failed:\n" + "\n".join(f"- {s['name']}: {json.dumps(s['error'])}" for s in failed)
    names = [s["name"] for s in steps]
    assert [n for n in required if n not in names] == []
    assert report["ok"] is True and cp.returncode == 0, cp.stderr[-3000:]
    return report


def test_tutorial_calls_through_the_js_sdk(cloudlet_server: Any) -> None:
    _run(cloudlet_server, "tutorial_calls.js", REQUIRED_STEPS)


def test_metrics_and_function_urls_through_the_js_sdk(cloudlet_server: Any) -> None:
    """client-cloudwatch 3.1164 speaks awsJson1_0 (query-compatible); function URLs by node:http."""
    report = _run(cloudlet_server, "metrics_and_urls.js", METRICS_AND_URL_STEPS)
    assert report["protocol"] == "json"
