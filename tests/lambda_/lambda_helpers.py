"""Shared helpers for the Lambda tests: zips, a World with real providers."""

from __future__ import annotations

import io
import zipfile
from typing import Any

from provider_world import TRUST_LAMBDA

from cloudlet.core.context import RequestContext

HANDLER_SRC = '''
import os, time, json, uuid
count = 0
EID = uuid.uuid4().hex  # names this execution environment
print("init: module loaded")
def handler(event, context):
    global count
    count += 1
    print("hello", json.dumps(event))
    if event.get("boom"):
        raise ValueError("bad thing")
    if event.get("sleep"):
        time.sleep(event["sleep"])
    if event.get("exit"):
        os._exit(1)
    return {"count": count, "rid": context.aws_request_id, "pid": os.getpid(), "eid": EID,
            "pidns": os.readlink("/proc/self/ns/pid"),
            "env": {k: os.environ.get(k) for k in event.get("env", [])},
            "cc": context.client_context.custom if context.client_context else None}
'''


def make_zip(files: dict[str, str]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, text in files.items():
            zf.writestr(name, text)
    return buf.getvalue()


def lambda_role(boto3_client: Any, name: str, policy_arn: str | None = None) -> str:
    """The ARN of role NAME, which Lambda may assume; created (with POLICY_ARN attached) on first use."""
    iam = boto3_client("iam")
    try:
        return str(iam.get_role(RoleName=name)["Role"]["Arn"])
    except iam.exceptions.NoSuchEntityException:
        pass
    arn = str(iam.create_role(RoleName=name, AssumeRolePolicyDocument=TRUST_LAMBDA)["Role"]["Arn"])
    if policy_arn is not None:
        iam.attach_role_policy(RoleName=name, PolicyArn=policy_arn)
    return arn


def ctx_for(world: Any, op: str = "Test", region: str = "us-east-1") -> RequestContext:
    return RequestContext("lambda", op, region, world.root, "req-test")
