"""GetFunction's Code.Location: the zip, served by cloudlet's own endpoint.

AWS answers a presigned S3 URL valid for 10 minutes; cloudlet answers
ENDPOINT/_cloudlet/lambda/code/TOKEN, where TOKEN is unguessable and issued by
GetFunction, so no signature is needed to download it (as with a presigned URL).
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

PREFIX = "/_cloudlet/lambda/code/"


def code_download(world: Any, raw_path: str) -> web.StreamResponse:
    token = raw_path[len(PREFIX):]
    provider = world.providers.get("lambda")
    path = provider.code_for_token(token) if provider is not None else None
    if path is None or not path.exists():
        # S3's answer to an unknown or expired presigned object URL.
        body = b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>'
        return web.Response(status=403, body=body, content_type="application/xml")
    return web.FileResponse(path, headers={"Content-Type": "application/zip"})
