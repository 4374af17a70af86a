"""GetFunction's Code.Location: the zip, served by cloudlet's own endpoint.

AWS answers a presigned S3 URL valid for 10 minutes; cloudlet answers
ENDPOINT/_cloudlet/lambda/code/TOKEN, where TOKEN is unguessable and issued by
GetFunction, so no signature is needed to download it (as with a presigned URL).
"""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

PREFIX = "/_cloudlet/lambda/code/"


def code_download(path: Path | None) -> web.StreamResponse:
    """The zip at PATH (what the token in the URL named), or S3's answer to a bad URL."""
    if path is None or not path.exists():
        # S3's answer to an unknown or expired presigned object URL.
        body = b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>'
        return web.Response(status=403, body=body, content_type="application/xml")
    return web.FileResponse(path, headers={"Content-Type": "application/zip"})
