"""Puts fuzz params on the wire as a real SDK would (botocore's serializer with
validation off, SigV4 by botocore's signer) and reads the answer back with
botocore's parser for the protocol."""

from __future__ import annotations

import json
import random
import time
from dataclasses import dataclass
from typing import Any

import urllib3
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSPreparedRequest, HeadersDict, create_request_object, prepare_request_dict
from botocore.credentials import Credentials
from botocore.model import OperationModel, ServiceModel
from botocore.parsers import create_parser
from botocore.serialize import create_serializer

#: A request that takes longer than this is a hang, as far as the fuzz is concerned.
REQUEST_TIMEOUT = 20.0


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes
    seconds: float
    parsed: dict[str, Any]

    @property
    def code(self) -> str:
        return str(self.parsed.get("Error", {}).get("Code", ""))


class Wire:
    def __init__(self, endpoint: str, key: str, secret: str, region: str = "us-east-1") -> None:
        self.endpoint = endpoint
        self.credentials = Credentials(key, secret)
        self.region = region
        self.pool = urllib3.PoolManager(
            maxsize=2, retries=False, timeout=urllib3.Timeout(connect=5.0, read=REQUEST_TIMEOUT)
        )

    def prepare(
        self, model: ServiceModel, op: OperationModel, params: dict[str, Any], rng: random.Random | None = None,
        garble: bool = False,
    ) -> AWSPreparedRequest:
        """Serialized and signed; with `garble`, one serialized value is replaced on the
        wire by a value of another type (what the serializer itself would refuse)."""
        serializer = create_serializer(model.protocol, include_validation=False)
        request = serializer.serialize_to_request(params, op)
        if garble and rng is not None:
            _garble(rng, model.protocol, request)
        prepare_request_dict(request, endpoint_url=self.endpoint, user_agent="cloudlet-fuzz/1")
        aws_request = create_request_object(request)
        SigV4Auth(self.credentials, model.signing_name or model.endpoint_prefix, self.region).add_auth(aws_request)
        return aws_request.prepare()

    def send(self, prepared: AWSPreparedRequest) -> tuple[int, dict[str, str], bytes, float]:
        body = prepared.body if prepared.body is not None else b""
        if isinstance(body, str):
            body = body.encode("utf-8")
        headers = {k: v.decode() if isinstance(v, bytes) else v for k, v in prepared.headers.items()}
        t0 = time.monotonic()
        resp = self.pool.request(prepared.method, prepared.url, body=body, headers=headers, redirect=False)
        return resp.status, dict(resp.headers), resp.data, time.monotonic() - t0

    def call(self, model: ServiceModel, op: OperationModel, prepared: AWSPreparedRequest) -> Answer:
        status, headers, body, seconds = self.send(prepared)
        return Answer(status, headers, body, seconds, parse(model, op, status, headers, body))


def parse(model: ServiceModel, op: OperationModel | None, status: int, headers: dict[str, str], body: bytes) -> dict[str, Any]:
    """botocore's own reading of a response (errors need no operation)."""
    parser = create_parser(model.protocol)
    output = op.output_shape if op is not None and status < 300 else None
    if status < 300 and op is not None and output is not None and _streams(op):
        return {}
    parsed: dict[str, Any] = parser.parse(
        {"status_code": status, "headers": HeadersDict(headers), "body": body}, output
    )
    return parsed


def _streams(op: OperationModel) -> bool:
    shape = op.output_shape
    payload = shape.serialization.get("payload") if shape is not None else None
    return bool(payload and shape is not None and shape.members[payload].type_name in ("blob", "string"))


_ODD_JSON: list[Any] = [None, True, 12, -1.5, "text", [], [1, "a"], {}, {"x": {"y": []}}, "9" * 400]
_ODD_FORM = ["", "not-a-number", "true", "-1", "\u0000", "🙂", "%", "x" * 2000, "1e999", "2024-13-45T99:99:99Z"]


def _garble(rng: random.Random, protocol: str, request: dict[str, Any]) -> None:
    body = request.get("body")
    if protocol in ("query", "ec2"):
        if isinstance(body, dict):
            keys = [k for k in body if k not in ("Action", "Version")]
            if keys:
                body[rng.choice(keys)] = rng.choice(_ODD_FORM)
            else:
                body[rng.choice(["Bogus", "Bogus.member.1", "x.1.y"])] = rng.choice(_ODD_FORM)
        return
    if isinstance(body, bytes) and body.strip():
        try:
            doc = json.loads(body)
        except ValueError:
            return
        if isinstance(doc, dict) and doc:
            _garble_json(rng, doc)
            request["body"] = json.dumps(doc).encode()
            return
    if protocol == "rest-json":
        query = request.get("query_string")
        if isinstance(query, dict) and query:
            query[rng.choice(list(query))] = rng.choice(_ODD_FORM)
            return
    request["body"] = json.dumps({"Bogus": rng.choice(_ODD_JSON)}).encode()


def _garble_json(rng: random.Random, doc: dict[str, Any]) -> None:
    node: Any = doc
    while True:
        key = rng.choice(list(node))
        child = node[key]
        deeper = isinstance(child, dict) and child and rng.random() < 0.5
        if deeper:
            node = child
            continue
        if isinstance(child, list) and child and isinstance(child[0], dict) and rng.random() < 0.5:
            node = child[0]
            continue
        node[key] = rng.choice(_ODD_JSON)
        return
