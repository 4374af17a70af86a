"""cloudlet's own connection to a cache's valkey: its admin ACL user, over the unix socket.

The control plane sends valkey a handful of commands (PING, INFO, CONFIG SET, ACL, CLUSTER,
SAVE, SCRIPT KILL, COMMAND LIST) and reads their replies in RESP2. This small client does
that instead of redis-py, whose import is several MiB of every cloudlet that runs a cache.
Replies are decoded as redis-py decodes them with decode_responses: strings, integers,
lists; INFO as a dict with numbers as numbers.

Requests may overlap (the supervisor, the script watchdog, ACL syncs, metrics, snapshots):
each takes an idle connection or opens one. A request that fails or is cancelled midway
closes its connection, so no later request reads a reply meant for it.
"""

from __future__ import annotations

import asyncio
from typing import Any

MAX_IDLE = 2  # connections kept open between requests


class AdminError(Exception):
    """Any failure of an admin request that is not a plain OSError or TimeoutError."""


class AdminReplyError(AdminError):
    """valkey answered with an error (the text without its leading '-')."""


class AdminLoading(AdminReplyError):
    """-LOADING: valkey is still loading its dataset."""


def _encode(args: tuple[Any, ...]) -> bytes:
    parts = [b"*%d\r\n" % len(args)]
    for a in args:
        data = a if isinstance(a, bytes) else str(a).encode()
        parts.append(b"$%d\r\n%s\r\n" % (len(data), data))
    return b"".join(parts)


async def _read(reader: asyncio.StreamReader) -> Any:
    try:
        return await _read_one(reader)
    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError) as e:
        raise ConnectionError(f"valkey closed the connection or sent too long a line: {e}") from e


async def _read_one(reader: asyncio.StreamReader) -> Any:
    line = await reader.readuntil(b"\r\n")
    kind, body = line[:1], line[1:-2]
    if kind == b"+":
        return body.decode()
    if kind == b"-":
        text = body.decode(errors="replace")
        return AdminLoading(text) if text.startswith("LOADING") else AdminReplyError(text)
    if kind == b":":
        return int(body)
    if kind == b"$":
        n = int(body)
        if n < 0:
            return None
        data = await reader.readexactly(n + 2)
        return data[:-2].decode(errors="replace")
    if kind == b"*":
        n = int(body)
        if n < 0:
            return None
        return [await _read_one(reader) for _ in range(n)]
    raise ConnectionError(f"valkey sent an unexpected reply: {line[:40]!r}")


def _number(value: str) -> Any:
    try:
        return int(value)
    except ValueError:
        pass
    try:
        return float(value)
    except ValueError:
        return value


def parse_info(text: str) -> dict[str, Any]:
    """INFO's "key:value" lines; values of "k=v,k=v" (db0, cmdstat_*) become dicts."""
    info: dict[str, Any] = {}
    for line in text.splitlines():
        if not line or line.startswith("#") or ":" not in line:
            continue
        key, value = line.split(":", 1)
        if "=" in value and "," in value:
            info[key] = {k: _number(v) for k, _, v in (p.rpartition("=") for p in value.split(","))}
        else:
            info[key] = _number(value)
    return info


class AdminClient:
    def __init__(self, socket_path: str, username: str, password: str, timeout: float = 30.0) -> None:
        self.socket_path = socket_path
        self.username = username
        self.password = password
        self.timeout = timeout
        self._idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []

    async def _connect(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        reader, writer = await asyncio.open_unix_connection(self.socket_path)
        try:
            writer.write(_encode(("AUTH", self.username, self.password)))
            reply = await _read(reader)
        except BaseException:
            writer.close()
            raise
        if isinstance(reply, Exception):
            writer.close()
            raise reply
        return reader, writer

    async def execute_command(self, *args: Any) -> Any:
        """One command's reply; an error reply raises AdminReplyError (AdminLoading for -LOADING)."""
        return await asyncio.wait_for(self._request(args), self.timeout)

    async def _request(self, args: tuple[Any, ...]) -> Any:
        conn = self._idle.pop() if self._idle else await self._connect()
        reader, writer = conn
        try:
            writer.write(_encode(args))
            reply = await _read(reader)
        except BaseException:
            writer.close()  # a reply may still be on its way: this connection is done
            raise
        if len(self._idle) < MAX_IDLE:
            self._idle.append(conn)
        else:
            writer.close()
        if isinstance(reply, Exception):
            raise reply
        return reply

    async def ping(self) -> bool:
        return await self.execute_command("PING") == "PONG"

    async def info(self, section: str | None = None) -> dict[str, Any]:
        text = await self.execute_command("INFO", *([section] if section else []))
        return parse_info(text)

    async def config_set(self, name: str, value: str) -> bool:
        return await self.execute_command("CONFIG", "SET", name, value) == "OK"

    async def script_kill(self) -> bool:
        return await self.execute_command("SCRIPT", "KILL") == "OK"

    async def save(self) -> bool:
        return await self.execute_command("SAVE") == "OK"

    async def command_list(self) -> list[str]:
        names: list[str] = await self.execute_command("COMMAND", "LIST")
        return names

    async def aclose(self) -> None:
        idle, self._idle = self._idle, []
        for _, writer in idle:
            writer.close()
