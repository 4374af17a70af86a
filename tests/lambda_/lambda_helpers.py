"""Shared helpers for the Lambda tests: zips, a World with real providers."""

from __future__ import annotations

import io
import json
import zipfile
from typing import Any

from cloudlet.core.context import RequestContext

TRUST_LAMBDA = json.dumps({
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}],
})

HANDLER_SRC = '''
import os, time, json
count = 0
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
    return {"count": count, "rid": context.aws_request_id, "pid": os.getpid(),
            "env": {k: os.environ.get(k) for k in event.get("env", [])},
            "cc": context.client_context.custom if context.client_context else None}
'''


def make_zip(files: dict[str, str]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, text in files.items():
            zf.writestr(name, text)
    return buf.getvalue()


def ctx_for(world: Any, op: str = "Test", region: str = "us-east-1") -> RequestContext:
    return RequestContext("lambda", op, region, world.root, "req-test")
