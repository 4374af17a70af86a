"""aiohttp's server side (`web`), imported without parsing the system CA bundle.

aiohttp builds two default *client* SSL contexts when it is imported
(aiohttp/connector.py), each loading the system CA bundle: ~20 ms and ~1 MiB apiece, a
tenth of cloudlet's start-up and of its idle memory, for a client cloudlet never uses (the
front door and the Runtime API are servers; the data plane makes its own contexts).
While aiohttp is imported, SSL_CERT_FILE names an empty file, so OpenSSL keeps only the
CA directory (looked up lazily, at a verification); the variable is put back at once, so
nothing else (another SSL context, a child process) sees the change.

frozenlist (aiohttp's signal lists, read at start-up and shutdown only) is loaded in its
pure-Python form (FROZENLIST_NO_EXTENSIONS, put back the same way): its compiled form
links the C++ runtime, ~0.9 MiB of resident memory for lists no request touches.
"""

from __future__ import annotations

import os
import sys


def _import_quietly() -> None:
    if "aiohttp" in sys.modules:  # someone was first: nothing to save any more
        return
    quiet = {"SSL_CERT_FILE": os.devnull, "FROZENLIST_NO_EXTENSIONS": "1"}
    saved = {name: os.environ.get(name) for name in quiet}
    os.environ.update(quiet)
    try:
        import aiohttp.web  # noqa: F401
    finally:
        for name, value in saved.items():
            if value is None:
                del os.environ[name]
            else:
                os.environ[name] = value


_import_quietly()

from aiohttp import web  # noqa: E402

__all__ = ["web"]
