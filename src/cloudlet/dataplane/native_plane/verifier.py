"""The verifier: the cloudlet module asks it about every AUTH / HELLO AUTH of a native cache.

One unix socket per valkey-server (so an answer knows which valkey's client it is about).
Request (from the module's thread): "<client id> <peer ip> <peer port> <user length>
<password length>\\n<user><password>"; answer one line: "OK <acl user>", "ADMIN",
"ERR <error reply>" or "NEXT" (never used: cloudlet decides every AUTH). Several requests
may come on one connection, one after the other.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from pathlib import Path

log = logging.getLogger("cloudlet.dataplane.native")

MAX_HEAD = 256
MAX_FIELD = 1 << 20  # a password (an IAM token is ~1.5 KB) never comes near this

# (client id, peer ip, peer port, user, password) -> the answer line (without newline)
Decide = Callable[[int, str, int, bytes, bytes], bytes]


class Verifier:
    def __init__(self, path: Path, decide: Decide) -> None:
        self.path = path
        self.decide = decide
        self.server: asyncio.AbstractServer | None = None

    async def start(self) -> None:
        self.path.unlink(missing_ok=True)
        self.server = await asyncio.start_unix_server(self._serve, path=str(self.path))
        self.path.chmod(0o600)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readline()
                if not head:
                    return
                fields = head[:MAX_HEAD].split()
                if len(fields) != 5 or not all(f.isdigit() for f in (fields[0], fields[2], fields[3], fields[4])):
                    log.warning("verifier %s: malformed request %r", self.path.name, head[:80])
                    return
                user_len, pw_len = int(fields[3]), int(fields[4])
                if user_len > MAX_FIELD or pw_len > MAX_FIELD:
                    return
                body = await reader.readexactly(user_len + pw_len)
                try:
                    answer = self.decide(int(fields[0]), fields[1].decode(errors="replace"), int(fields[2]),
                                         body[:user_len], body[user_len:])
                except Exception:  # a bug must refuse the login, not leave the client blocked
                    log.exception("verifier %s: decision failed", self.path.name)
                    answer = b"ERR -ERR service is not available"
                writer.write(answer + b"\n")
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            return
        finally:
            writer.close()

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()
            self.server = None
        self.path.unlink(missing_ok=True)
