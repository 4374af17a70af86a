"""Turns botocore's serialized request dicts into cloudlet HttpRequests, and
cloudlet HttpResponses into the dicts botocore's parsers read: exactly what a
real client puts on, and takes off, the wire."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl

from botocore.awsrequest import HeadersDict
from botocore.utils import percent_encode_sequence
from multidict import CIMultiDict

from cloudlet.protocol.http import HttpRequest, HttpResponse


def to_http_request(serialized: dict[str, Any]) -> HttpRequest:
    path, _, pinned = serialized["url_path"].partition("?")
    query = serialized.get("query_string") or {}
    encoded = percent_encode_sequence(query) if isinstance(query, dict) else str(query)
    raw_query = "&".join(q for q in (pinned, encoded) if q)
    body = serialized.get("body", b"")
    headers = CIMultiDict(serialized.get("headers", {}))
    if isinstance(body, dict):
        body = percent_encode_sequence(body).encode("ascii")
    elif isinstance(body, str):
        body = body.encode("utf-8")
    return HttpRequest(
        method=serialized["method"],
        path=path,
        query=parse_qsl(raw_query, keep_blank_values=True),
        headers=headers,
        body=body or b"",
        raw_query=raw_query,
    )


def to_botocore_response(resp: HttpResponse) -> dict[str, Any]:
    return {"status_code": resp.status, "headers": HeadersDict(resp.headers), "body": resp.body}
