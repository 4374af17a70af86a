"""RESP on the client side of the data plane: an incremental command scanner and encoders.

The scanner frames client input exactly as valkey does (a buffer starting with
'*' is a multibulk request, anything else an inline line), so the proxy and the
valkey behind it can never disagree about where a command starts. It reads only
what it must: each command's name. Commands whose name is in `capture` are
returned whole (bounded); everything else is passed through as byte ranges,
bulk payloads skipped by count, never copied into a buffer. Runs of ordinary
commands are framed by one regex match (resp_fast); the Python code below
handles the rest.

Names and keywords are compared as valkey compares them: case-insensitively,
as C strings, so "CONFIG\\0anything" is CONFIG (see `keyword`).
"""

from __future__ import annotations

import re
from collections.abc import Collection

from cloudlet.dataplane.resp_fast import plain_run

# Valkey's own limits for clients that have not authenticated yet.
PREAUTH_MAX_ARGS = 10
PREAUTH_MAX_BULK = 16384
# Valkey's limit on an inline request line (PROTO_INLINE_MAX_SIZE).
INLINE_MAX = 64 * 1024
# A captured command (AUTH, HELLO, CLUSTER ...) after authentication.
CAPTURE_MAX_ARGS = 1024
CAPTURE_MAX_BULK = 64 * 1024
# Longest multibulk/bulk header line accepted while waiting for its CRLF.
HEADER_MAX = 64 * 1024
# Valkey's multibulk/bulk length ceilings (INT_MAX args, proto-max-bulk-len 512 MiB).
MAX_ARGS = 2**31 - 1
MAX_BULK = 512 * 1024 * 1024
# ElastiCache Serverless: "clients cannot issue a request with more than 3,999 arguments"
# (user guide, "Valkey and Redis OSS configuration and limits"). Longer requests are
# dropped by the scanner and answered with an error in their place.
MAX_REQUEST_ARGS = 3999
# Longer than any name in a capture set: a name with no NUL in its first
# NAME_PEEK bytes is never captured, so only that much of it must be buffered.
NAME_PEEK = 33
# With big values the fast path keeps missing; then it gets one try per this many commands.
RETRY_AFTER_MISSES = 8


class ProtocolError(Exception):
    """Malformed input; the text is what valkey would answer after 'ERR '."""


def keyword(arg: bytes) -> bytes:
    """A command name or keyword as valkey matches it: up to the first NUL, upper-cased.

    Valkey looks names up in a dict whose key compare is strcasecmp and matches
    options with strcasecmp, so "CONFIG\\0x" can run CONFIG and "AUTH\\0x" is AUTH.
    """
    if b"\0" in arg:
        arg = arg[: arg.index(b"\0")]
    return arg.upper()


class Command:
    """A captured command: its arguments, and whether it came as an inline line."""

    __slots__ = ("args", "dropped_argc", "inline", "seq")

    def __init__(self, args: list[bytes], inline: bool, seq: int = 0, dropped_argc: int = 0) -> None:
        self.args = args
        self.inline = inline
        self.seq = seq  # the scanner's seq when it framed this command (see CommandScanner.seq)
        # A request over MAX_REQUEST_ARGS: its bytes are dropped, args holds only its name.
        self.dropped_argc = dropped_argc

    @property
    def name(self) -> bytes:
        return keyword(self.args[0])


# What feed() yields: raw bytes to pass through, or a captured Command.
Item = bytes | Command


def _int(line: bytes) -> int | None:
    """A strict decimal (what valkey's string2ll accepts), else None."""
    if not line:
        return None
    digits = line[1:] if line[:1] == b"-" else line
    if not digits.isdigit() or (len(digits) > 1 and digits[:1] == b"0"):
        return None
    return int(line)


def split_inline(line: bytes) -> list[bytes]:
    """Split an inline request line as valkey's sdssplitargs does (quotes, escapes)."""
    args: list[bytes] = []
    i, n = 0, len(line)
    while True:
        while i < n and line[i] in b" \n\r\t\v\f\0":
            i += 1
        if i >= n:
            return args
        cur = bytearray()
        inq = insq = False
        while True:
            if inq:
                if i >= n:
                    raise ProtocolError("Protocol error: unbalanced quotes in request")
                c = line[i]
                if (
                    c == 0x5C
                    and i + 3 < n
                    and line[i + 1] == 0x78
                    and chr(line[i + 2]) in "0123456789abcdefABCDEF"
                    and chr(line[i + 3]) in "0123456789abcdefABCDEF"
                ):
                    cur.append(int(line[i + 2 : i + 4], 16))
                    i += 3
                elif c == 0x5C and i + 1 < n:
                    i += 1
                    cur.append({0x6E: 10, 0x72: 13, 0x74: 9, 0x62: 8, 0x61: 7}.get(line[i], line[i]))
                elif c == 0x22:
                    if i + 1 < n and line[i + 1] not in b" \n\r\t\v\f\0":
                        raise ProtocolError("Protocol error: unbalanced quotes in request")
                    inq = False
                    i += 1
                    break
                else:
                    cur.append(c)
            elif insq:
                if i >= n:
                    raise ProtocolError("Protocol error: unbalanced quotes in request")
                c = line[i]
                if c == 0x5C and i + 1 < n and line[i + 1] == 0x27:
                    i += 1
                    cur.append(0x27)
                elif c == 0x27:
                    if i + 1 < n and line[i + 1] not in b" \n\r\t\v\f\0":
                        raise ProtocolError("Protocol error: unbalanced quotes in request")
                    insq = False
                    i += 1
                    break
                else:
                    cur.append(c)
            else:
                if i >= n:
                    break
                c = line[i]
                if c in b" \n\r\t\v\f\0":
                    break
                if c == 0x22:
                    inq = True
                elif c == 0x27:
                    insq = True
                else:
                    cur.append(c)
            i += 1
        args.append(bytes(cur))


class CommandScanner:
    """Incremental framing of a client's byte stream into commands.

    capture_all: return every command whole (before authentication), with
    valkey's unauthenticated limits on argument count and bulk length.
    Otherwise only commands named in `capture` are returned whole; the rest flow
    through as bytes. Raises ProtocolError on input valkey would refuse.
    """

    def __init__(self, capture: Collection[bytes], capture_all: bool = False) -> None:
        if any(len(name) >= NAME_PEEK for name in capture):
            raise ValueError(f"captured names must be shorter than {NAME_PEEK} bytes")
        self.capture = capture
        self.capture_all = capture_all
        self._tail = b""  # unconsumed bytes: an incomplete header, or a whole incomplete captured command
        self._body_left = 0  # bytes of a passed-through bulk (payload + CRLF) still to come
        self._args_left = 0  # bulk arguments of the passed-through command still to come
        self._dropping = False  # the command streaming by is over MAX_REQUEST_ARGS: not forwarded
        # Grows by one per captured command and by at least one per run of passed-through
        # commands, so two captured commands were adjacent iff their seq differ by one.
        self.seq = 0
        self._run: re.Pattern[bytes] | None = None  # resp_fast.plain_run(capture), on first use
        self._misses = 0  # fast-path attempts in a row that took no command
        self._fast_off = 0  # commands to frame the Python way before the fast path is tried again

    def set_capture_all(self, on: bool) -> None:
        self.capture_all = on

    @property
    def buffered(self) -> int:
        return len(self._tail)

    def feed(self, data: bytes) -> list[Item]:
        buf = self._tail + data if self._tail else data
        self._tail = b""
        n = len(buf)
        pos = 0
        fwd = 0  # start of bytes to pass through not yet emitted
        out: list[Item] = []
        while pos < n:
            if self._body_left:
                take = min(self._body_left, n - pos)
                pos += take
                self._body_left -= take
                if self._dropping:
                    fwd = pos
                if self._body_left:
                    break
                self._args_left -= 1
                if not self._args_left:
                    self.seq += 1
                    self._dropping = False
                continue
            if self._args_left:
                nl = buf.find(b"\r\n", pos)
                if nl < 0:
                    if n - pos > HEADER_MAX:
                        raise ProtocolError("Protocol error: too big bulk count string")
                    self._tail = buf[pos:]
                    break
                if buf[pos] != 0x24:  # '$'
                    raise ProtocolError(f"Protocol error: expected '$', got '{chr(buf[pos])}'")
                ln = _int(buf[pos + 1 : nl])
                if ln is None or ln < 0 or ln > MAX_BULK:
                    raise ProtocolError("Protocol error: invalid bulk length")
                self._body_left = ln + 2
                pos = nl + 2
                if self._dropping:
                    fwd = pos
                continue
            # At the start of a command.
            if buf[pos] == 0x2A:  # '*'
                if not self.capture_all:
                    pos = self._skip_plain(buf, pos, n)
                    if pos >= n or buf[pos] != 0x2A:
                        continue
                got = self._multibulk(buf, pos, n)
                if got is None:  # incomplete: keep from the command's start
                    self._tail = buf[pos:]
                    break
                end, cmd, args_left, body_at = got
                if cmd is not None and cmd.dropped_argc:
                    # Over the argument limit: answered in its place, its bytes never forwarded.
                    if pos > fwd:
                        out.append(buf[fwd:pos])
                    self.seq += 1
                    cmd.seq = self.seq
                    out.append(cmd)
                    self._args_left = args_left
                    self._dropping = True
                    pos = fwd = body_at
                elif cmd is not None:
                    if pos > fwd:
                        out.append(buf[fwd:pos])
                    self.seq += 1
                    cmd.seq = self.seq
                    out.append(cmd)
                    pos = fwd = end
                elif args_left < 0:  # empty multibulk (*0 / *-1): valkey skips it
                    pos = end
                else:
                    # Pass-through: the name is read; the rest streams by count.
                    pos = body_at
                    self._args_left = args_left
                    if not args_left:
                        self.seq += 1
            else:
                nl = buf.find(b"\n", pos)
                if nl < 0:
                    if n - pos > INLINE_MAX:
                        raise ProtocolError("Protocol error: too big inline request")
                    self._tail = buf[pos:]
                    break
                line = buf[pos:nl]
                if line.endswith(b"\r"):
                    line = line[:-1]
                args = split_inline(line)
                if pos > fwd:
                    out.append(buf[fwd:pos])
                if args:
                    if self.capture_all and len(args) > PREAUTH_MAX_ARGS:
                        raise ProtocolError("Protocol error: unauthenticated multibulk length")
                    self.seq += 1
                    out.append(Command(args, inline=True, seq=self.seq))
                pos = fwd = nl + 1
        # Pass-through bytes not yet emitted (all of buf, uncopied, when nothing was captured).
        if pos > fwd:
            out.append(buf[fwd:pos] if fwd or pos != n else buf)
        return out

    def _skip_plain(self, buf: bytes, pos: int, n: int) -> int:
        """Hot path: step over whole pass-through multibulk commands, return where it stopped.

        Runs of ordinary commands go by one regex match; commands the regex
        leaves (big or many arguments, a NUL in the name) by `_skip_some`.
        Anything else (incomplete, captured, malformed) stops it, for the
        general path to handle. After two misses in a row (a stream of big
        values) the regex gets one try per RETRY_AFTER_MISSES commands.
        """
        run = self._run
        if run is None:
            run = self._run = plain_run(frozenset(self.capture))
        match = run.match
        while True:
            if self._fast_off <= 0:
                end = match(buf, pos).end()  # type: ignore[union-attr]  # a *+ run always matches
                if end > pos:
                    self.seq += 1
                    self._misses = 0
                    pos = end
                else:
                    self._misses += 1
                    if self._misses >= 2:
                        self._fast_off = RETRY_AFTER_MISSES
            if pos >= n or buf[pos] != 0x2A:
                return pos
            fast_off = self._fast_off
            end, count = self._skip_some(buf, pos, n, fast_off or 1)
            if not count:
                return pos
            self._fast_off = fast_off - count if fast_off > count else 0
            self.seq += count
            pos = end

    def _skip_some(self, buf: bytes, pos: int, n: int, limit: int) -> tuple[int, int]:
        """Step over up to `limit` whole pass-through commands: (where it stopped, how many).

        int() is laxer than valkey's parser, but only on input valkey refuses
        (and then closes the connection), so the two never frame an accepted
        command differently. An incomplete command (a partial name included)
        is never taken: its end lies past n.
        """
        capture = self.capture
        find = buf.find
        count = 0
        while count < limit and pos < n and buf[pos] == 0x2A:
            nl = find(b"\r\n", pos)
            if nl < 0:
                break
            p = nl + 2
            try:
                argc = int(buf[pos + 1 : nl])
                nl = find(b"\r\n", p)
                if nl < 0 or buf[p] != 0x24 or argc <= 0 or argc > MAX_REQUEST_ARGS:
                    break
                ln = int(buf[p + 1 : nl])
            except ValueError:
                break
            if ln < 0 or ln > MAX_BULK:
                break
            if ln < NAME_PEEK:
                name = buf[nl + 2 : nl + 2 + ln]
                if name.upper() in capture or b"\0" in name and self._captured(name):
                    break
            elif self._captured(buf[nl + 2 : nl + 2 + NAME_PEEK]):
                break
            p = nl + 4 + ln
            argc -= 1
            while argc and p < n:
                nl = find(b"\r\n", p)
                if nl < 0 or buf[p] != 0x24:
                    break
                try:
                    ln = int(buf[p + 1 : nl])
                except ValueError:
                    break
                if ln < 0 or ln > MAX_BULK:
                    break
                p = nl + 4 + ln
                argc -= 1
            if argc or p > n:
                break
            pos = p
            count += 1
        return pos, count

    def _captured(self, head: bytes) -> bool:
        """Whether a name starting with head (all of it, or its first NAME_PEEK bytes) is captured."""
        return keyword(head) in self.capture

    def _multibulk(
        self, buf: bytes, pos: int, n: int
    ) -> tuple[int, Command | None, int, int] | None:
        """Frame the command at pos.

        Returns None when more input is needed, else (end, command, args_left,
        body_at): a captured command and the offset after it; or, passing
        through, the remaining argument count and the offset after the name.
        args_left -1 marks an empty multibulk (end is after its header).
        """
        nl = buf.find(b"\r\n", pos)
        if nl < 0:
            if n - pos > HEADER_MAX:
                raise ProtocolError("Protocol error: too big mbulk count string")
            return None
        argc = _int(buf[pos + 1 : nl])
        if argc is None or argc > MAX_ARGS:
            raise ProtocolError("Protocol error: invalid multibulk length")
        if argc <= 0:
            return nl + 2, None, -1, nl + 2
        capture_all = self.capture_all
        if argc > MAX_REQUEST_ARGS and not capture_all:
            return nl + 2, Command([b""], inline=False, dropped_argc=argc), argc, nl + 2
        if capture_all and argc > PREAUTH_MAX_ARGS:
            raise ProtocolError("Protocol error: unauthenticated multibulk length")
        p = nl + 2
        args: list[bytes] = []
        max_bulk = PREAUTH_MAX_BULK if capture_all else CAPTURE_MAX_BULK
        capturing = capture_all
        i = 0
        while i < argc:
            if p >= n:
                return None
            if buf[p] != 0x24:
                raise ProtocolError(f"Protocol error: expected '$', got '{chr(buf[p])}'")
            nl = buf.find(b"\r\n", p)
            if nl < 0:
                if n - p > HEADER_MAX:
                    raise ProtocolError("Protocol error: too big bulk count string")
                return None
            ln = _int(buf[p + 1 : nl])
            if ln is None or ln < 0 or ln > MAX_BULK:
                raise ProtocolError("Protocol error: invalid bulk length")
            if capture_all and ln > PREAUTH_MAX_BULK:
                raise ProtocolError("Protocol error: unauthenticated bulk length")
            if i == 0 and not capturing:
                # Only the name decides, and only its first NAME_PEEK bytes can.
                if ln > NAME_PEEK:
                    if nl + 2 + NAME_PEEK > n:
                        return None
                    if not self._captured(buf[nl + 2 : nl + 2 + NAME_PEEK]):
                        return p, None, argc, p  # stream the name too, from its header
                elif nl + 2 + ln + 2 > n:
                    return None
                elif not self._captured(buf[nl + 2 : nl + 2 + ln]):
                    return 0, None, argc - 1, nl + 2 + ln + 2
                capturing = True
                if argc > CAPTURE_MAX_ARGS:
                    raise ProtocolError("Protocol error: command has too many arguments")
            if ln > max_bulk:
                raise ProtocolError("Protocol error: argument too long for this command")
            end = nl + 2 + ln
            if end + 2 > n:
                return None
            args.append(buf[nl + 2 : end])
            p = end + 2
            i += 1
        return p, Command(args, inline=False), 0, p


def reply_end(buf: bytes, pos: int = 0, depth: int = 0) -> int | None:
    """Offset just past the one complete server reply at pos, None if incomplete.

    Used only for valkey's answer to the proxy's own AUTH/HELLO handshake.
    """
    if depth > 16:
        raise ProtocolError("reply nested too deeply")
    nl = buf.find(b"\r\n", pos)
    if nl < 0:
        return None
    kind = buf[pos : pos + 1]
    if kind in (b"+", b"-", b":", b"_", b"#", b",", b"("):
        return nl + 2
    n = _int(buf[pos + 1 : nl])
    if n is None:
        raise ProtocolError(f"bad reply header {buf[pos:nl]!r}")
    if kind in (b"$", b"!", b"="):
        if n < 0:
            return nl + 2
        end = nl + 2 + n + 2
        return end if end <= len(buf) else None
    if kind in (b"*", b"~", b">", b"%", b"|"):
        count = n * 2 if kind in (b"%", b"|") else n
        p = nl + 2
        for _ in range(max(count, 0)):
            e = reply_end(buf, p, depth + 1)
            if e is None:
                return None
            p = e
        if kind == b"|":  # an attribute precedes the actual reply
            return reply_end(buf, p, depth + 1)
        return p
    raise ProtocolError(f"unknown reply type {kind!r}")
