"""Requests signed by botocore's own SigV4 signers, for the front door tests."""

from __future__ import annotations

import contextlib
import datetime
import urllib.error
import urllib.request
from typing import Any
from unittest import mock
from urllib.parse import urlsplit

from botocore.auth import SigV4Auth, SigV4QueryAuth
from botocore.awsrequest import AWSPreparedRequest, AWSRequest
from botocore.credentials import Credentials


def _clock(when: datetime.datetime | None) -> Any:
    if when is None:
        return contextlib.nullcontext()
    return mock.patch("botocore.auth.get_current_datetime", return_value=when.replace(tzinfo=None))


def sign(
    method: str,
    url: str,
    service: str,
    key: str,
    secret: str,
    body: bytes = b"",
    headers: dict[str, str] | None = None,
    token: str | None = None,
    region: str = "us-east-1",
    when: datetime.datetime | None = None,
) -> AWSPreparedRequest:
    req = AWSRequest(method=method, url=url, data=body, headers=headers or {})
    with _clock(when):
        SigV4Auth(Credentials(key, secret, token), service, region).add_auth(req)
    return req.prepare()


def presign(
    method: str,
    url: str,
    service: str,
    key: str,
    secret: str,
    expires: int = 900,
    token: str | None = None,
    region: str = "us-east-1",
    when: datetime.datetime | None = None,
) -> str:
    req = AWSRequest(method=method, url=url)
    with _clock(when):
        SigV4QueryAuth(Credentials(key, secret, token), service, region, expires=expires).add_auth(req)
    return req.prepare().url


def send(prepared: AWSPreparedRequest | None = None, *, method: str = "GET", url: str = "",
         body: bytes | None = None, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    """Send a request exactly as given; returns (status, headers, body)."""
    if prepared is not None:
        method, url = prepared.method, prepared.url
        body = prepared.body if isinstance(prepared.body, bytes) else (prepared.body or b"")
        if isinstance(body, str):
            body = body.encode()
        headers = {k: v.decode() if isinstance(v, bytes) else v for k, v in prepared.headers.items()}
    r = urllib.request.Request(url, data=body if body else None, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(r, timeout=30) as resp:
            return resp.status, dict(resp.headers), resp.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


def host_of(url: str) -> str:
    return urlsplit(url).netloc
