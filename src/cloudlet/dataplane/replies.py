"""Replies the data plane writes itself: RESP2/RESP3 encoders, fixed error texts,
and the cluster topology a serverless endpoint presents.

ElastiCache Serverless looks to cluster clients like a cluster of one shard:
all 16384 slots on the endpoint's hostname, the primary on port 6379 and a
replica on the reader port 6380 (READONLY connections read from it).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

Value = bytes | str | int | None | list | tuple | dict

OK = b"+OK\r\n"
NOAUTH = b"-NOAUTH Authentication required.\r\n"
WRONGPASS = b"-WRONGPASS invalid username-password pair or user is disabled.\r\n"
HELLO_NOAUTH = (
    b"-NOAUTH HELLO must be called with the client already authenticated, otherwise the "
    b"HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and "
    b"select the RESP protocol version at the same time\r\n"
)
AUTH_DEFAULT_NOPASS = (
    b"-ERR AUTH <password> called without any password configured for the default user. "
    b"Are you sure your configuration is correct?\r\n"
)
NOPROTO = b"-NOPROTO unsupported protocol version\r\n"
HELLO_BAD_VERSION = b"-ERR Protocol version is not an integer or out of range\r\n"
CLIENT_NAME_INVALID = b"-ERR Client names cannot contain spaces, newlines or special characters.\r\n"
SERVICE_UNAVAILABLE = b"-ERR service is not available\r\n"

SLOTS = 16384


def error(text: str) -> bytes:
    # Valkey never lets a newline into an error line.
    return b"-" + text.replace("\r", " ").replace("\n", " ").encode() + b"\r\n"


def _quoted(arg: bytes) -> str:
    return arg[:128].decode("utf-8", "replace")


def unknown_command(args: list[bytes]) -> bytes:
    """Valkey's own reply to a command it does not have (how serverless refuses one)."""
    rest = "".join(f"'{_quoted(a)}' " for a in args[1:])
    return error(f"ERR unknown command '{_quoted(args[0])}', with args beginning with: {rest}")


def unknown_subcommand(args: list[bytes]) -> bytes:
    return error(f"ERR unknown subcommand '{_quoted(args[1])}'. Try {_quoted(args[0]).upper()} HELP.")


def wrong_args(command: str) -> bytes:
    return error(f"ERR wrong number of arguments for '{command.lower()}' command")


def encode(value: Value, proto: int) -> bytes:
    """Encode a value: bytes/str -> bulk, int -> integer, None -> null, list -> array, dict -> map."""
    out: list[bytes] = []
    _enc(value, proto, out)
    return b"".join(out)


def _enc(v: Value, proto: int, out: list[bytes]) -> None:
    if isinstance(v, str):
        v = v.encode()
    if isinstance(v, bytes):
        out.append(b"$%d\r\n%s\r\n" % (len(v), v))
    elif isinstance(v, bool):
        out.append(b":%d\r\n" % int(v))
    elif isinstance(v, int):
        out.append(b":%d\r\n" % v)
    elif v is None:
        out.append(b"_\r\n" if proto == 3 else b"$-1\r\n")
    elif isinstance(v, dict):
        out.append((b"%%%d\r\n" % len(v)) if proto == 3 else (b"*%d\r\n" % (2 * len(v))))
        for k, item in v.items():
            _enc(k, proto, out)
            _enc(item, proto, out)
    else:
        out.append(b"*%d\r\n" % len(v))
        for item in v:
            _enc(item, proto, out)


def verbatim(text: str, proto: int) -> bytes:
    """A text reply: RESP3 verbatim string (txt), RESP2 bulk string."""
    data = text.encode()
    if proto == 3:
        return b"=%d\r\ntxt:%s\r\n" % (len(data) + 4, data)
    return b"$%d\r\n%s\r\n" % (len(data), data)


def command_array(args: Sequence[bytes]) -> bytes:
    """A command as a RESP multibulk request (what we send to valkey)."""
    parts = [b"*%d\r\n" % len(args)]
    for a in args:
        parts.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(parts)


class Topology:
    """The one-shard cluster view of a serverless cache endpoint."""

    def __init__(self, cache_arn: str, hostname: str, address: str, port: int, reader_port: int) -> None:
        self.hostname = hostname
        self.address = address
        self.port = port
        self.reader_port = reader_port
        self.primary_id = hashlib.sha1(f"{cache_arn}:{port}".encode()).hexdigest()
        self.replica_id = hashlib.sha1(f"{cache_arn}:{reader_port}".encode()).hexdigest()

    def slots(self, proto: int) -> bytes:
        primary = [self.hostname, self.port, self.primary_id, {}]
        replica = [self.hostname, self.reader_port, self.replica_id, {}]
        return encode([[0, SLOTS - 1, primary, replica]], proto)

    def _node(self, node_id: str, port: int, role: str) -> dict[str, Value]:
        return {
            "id": node_id,
            "tls-port": port,
            "ip": self.address,
            "endpoint": self.hostname,
            "hostname": self.hostname,
            "role": role,
            "replication-offset": 0,
            "health": "online",
        }

    def shards(self, proto: int) -> bytes:
        shard = {
            "slots": [0, SLOTS - 1],
            "nodes": [
                self._node(self.primary_id, self.port, "master"),
                self._node(self.replica_id, self.reader_port, "replica"),
            ],
        }
        return encode([shard], proto)

    def _replica_line(self, myself: bool) -> str:
        me = "myself," if myself else ""
        return (
            f"{self.replica_id} {self.address}:{self.reader_port}@0,{self.hostname} "
            f"{me}slave {self.primary_id} 0 0 1 connected\n"
        )

    def nodes(self, proto: int, myself_reader: bool) -> bytes:
        me_p = "myself," if not myself_reader else ""
        text = (
            f"{self.primary_id} {self.address}:{self.port}@0,{self.hostname} {me_p}master - 0 0 1 connected 0-{SLOTS - 1}\n"
            + self._replica_line(myself_reader)
        )
        return verbatim(text, proto)

    def replicas(self, node_id: str, proto: int) -> bytes:
        """CLUSTER REPLICAS: the reader node for the primary; valkey's errors otherwise."""
        if node_id == self.primary_id:
            return encode([self._replica_line(False).rstrip("\n")], proto)
        if node_id == self.replica_id:
            return error("ERR The specified node is not a master")
        return error(f"ERR Unknown node {node_id}")

    def info(self, proto: int) -> bytes:
        fields = [
            ("cluster_state", "ok"),
            ("cluster_slots_assigned", SLOTS),
            ("cluster_slots_ok", SLOTS),
            ("cluster_slots_pfail", 0),
            ("cluster_slots_fail", 0),
            ("cluster_known_nodes", 2),
            ("cluster_size", 1),
            ("cluster_current_epoch", 1),
            ("cluster_my_epoch", 1),
            ("cluster_stats_messages_sent", 0),
            ("cluster_stats_messages_received", 0),
            ("total_cluster_links_buffer_limit_exceeded", 0),
        ]
        return verbatim("".join(f"{k}:{v}\r\n" for k, v in fields), proto)

    def myid(self, reader: bool) -> bytes:
        node = self.replica_id if reader else self.primary_id
        return b"$40\r\n%s\r\n" % node.encode()


def crc16(data: bytes) -> int:
    """CRC16-CCITT (XMODEM), the hash cluster slots are computed with."""
    crc = 0
    for b in data:
        crc ^= b << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else (crc << 1)
            crc &= 0xFFFF
    return crc


def key_slot(key: bytes) -> int:
    s = key.find(b"{")
    if s >= 0:
        e = key.find(b"}", s + 1)
        if e > s + 1:
            key = key[s + 1 : e]
    return crc16(key) % SLOTS
