"""Request bodies sent compressed (`Content-Encoding: gzip`, the models' `requestcompression`).

SDKs gzip large PutMetricData bodies. The signature covers the compressed bytes, so
this runs after authentication, when the protocol parses; the inflated size is bounded
so a small bomb cannot fill memory.
"""

from __future__ import annotations

import dataclasses
import zlib

from cloudlet.core.errors import AWSError
from cloudlet.protocol.http import HttpRequest

# AWS's request limit for the services that accept gzip (PutMetricData: 1 MB uncompressed) with room.
MAX_INFLATED_BYTES = 16 * 1024 * 1024


def decoded(req: HttpRequest) -> HttpRequest:
    """REQ with its body inflated when Content-Encoding names gzip; REQ itself otherwise."""
    encodings = [e.strip().lower() for e in req.headers.get("Content-Encoding", "").split(",") if e.strip()]
    if "gzip" not in encodings:
        return req
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        body = inflater.decompress(req.body, MAX_INFLATED_BYTES)
    except zlib.error:
        raise AWSError("SerializationException", "The request body is not valid gzip.", status=400) from None
    if inflater.unconsumed_tail:
        raise AWSError("RequestEntityTooLarge", f"Request must be smaller than {MAX_INFLATED_BYTES} bytes.", status=413)
    return dataclasses.replace(req, body=body)
