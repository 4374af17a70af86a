"""The harness of tests/dataplane/native_c: a real valkey-server running the native data plane's C parts, driven as cloudlet's Python
half will drive it: handoff.so preloaded (this test accepts TCP connections and passes their
fds over a SOCK_SEQPACKET socket), cloudlet_module.so loaded with a verifier (a tiny unix-socket
server here, recording every question), the commands serverless lacks renamed to secrets.

``NativeValkey`` is the cache; clients are real redis-py clients over TLS on its port."""

from __future__ import annotations

import contextlib
import os
import secrets
import socket
import ssl
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import redis

from cloudlet.dataplane.commands import NOT_OFFERED, PARTIAL
from cloudlet.dataplane.native.build import NativeArtifacts
from cloudlet.dataplane.tls import ca_cert_path, issue_server_cert
from cloudlet.services.elasticache.valkey_process import acl_hash

APP, APP_PW = "app", "app-password-0123456789"
READER, READER_PW = "reader", "reader-password-0123456789"  # allowed GET on k* only
LOCAL, LOCAL_PW = "local", "local-password-0123456789"  # a user only valkey's own ACL knows
ADMIN_PW = "admin-password-0123456789"
WRONGPASS = b"-WRONGPASS invalid username-password pair or user is disabled."
# Valkey needs these by name for replication: refused by the module, not renamed.
REPLICATION = frozenset({b"PSYNC", b"SYNC", b"REPLCONF"})


@dataclass
class Verifier:
    """cloudlet's verifier, reduced to a table: (user, password) -> answer line."""

    path: Path
    answers: dict[tuple[bytes, bytes], bytes]
    requests: list[tuple[str, str, int, bytes, bytes]] = field(default_factory=list)
    silent: bool = False
    delay: float = 0.0  # seconds before each answer
    keep: bool = False  # several questions per connection, one after the other (as cloudlet's verifier)
    connections: int = 0  # connections accepted
    open_conns: list[socket.socket] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(str(self.path))
        self.sock.listen(64)
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            self.open_conns.append(conn)
            threading.Thread(target=self._answer, args=(conn,), daemon=True).start()

    def _answer(self, conn: socket.socket) -> None:
        with conn:
            f = conn.makefile("rb")
            while self._answer_one(conn, f) and self.keep:
                pass

    def _answer_one(self, conn: socket.socket, f: Any) -> bool:
        """Answer one question; False when the module closed the connection."""
        head = f.readline(256).split()
        if not head:
            return False
        client_id, ip, port, ulen, plen = head[0].decode(), head[1].decode(), int(head[2]), int(head[3]), int(head[4])
        user, password = f.read(ulen), f.read(plen)
        self.requests.append((client_id, ip, port, user, password))
        if self.silent:
            time.sleep(30)
            return False
        time.sleep(self.delay)
        conn.sendall(self.answers.get((user, password), b"NEXT") + b"\n")
        return True

    def close(self) -> None:
        """Stop listening and end every connection (as a restarted cloudlet's verifier would)."""
        self.sock.close()
        for conn in self.open_conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        self.path.unlink(missing_ok=True)


class NativeValkey:
    def __init__(self, work: Path, artifacts: NativeArtifacts, module_args: list[str] | None = None,
                 extra: list[str] | None = None) -> None:
        self.work = work
        work.mkdir(parents=True, exist_ok=True)
        self.address = "127.0.0.1"
        self.verifier = Verifier(work / "verifier.sock", {
            (APP.encode(), APP_PW.encode()): b"OK " + APP.encode(),
            (b"cloudlet-admin", ADMIN_PW.encode()): b"ADMIN",
            (APP.encode(), b"wrong-password"): b"ERR " + WRONGPASS,
            (b"default", APP_PW.encode()): b"OK " + APP.encode(),
            (READER.encode(), READER_PW.encode()): b"OK " + READER.encode(),
        })
        data = work / "ca"
        chain, key = issue_server_cert(data, ["localhost"], [self.address])
        (work / "tls.crt").write_bytes(chain)
        (work / "tls.key").write_bytes(key)
        # The ACL users cloudlet makes have passwords only cloudlet knows; LOCAL is valkey's own.
        (work / "users.acl").write_text(
            f"user {APP} on #{acl_hash(secrets.token_hex(16))} ~* &* +@all\n"
            f"user {READER} on #{acl_hash(secrets.token_hex(16))} ~k* +get\n"
            f"user {LOCAL} on #{acl_hash(LOCAL_PW)} ~* &* +@all\n"
            "user default off ~* +@all\n")
        # "Cloudlet's" listener: connections are accepted here and their fds passed to valkey.
        self.listener = socket.socket()
        self.listener.bind((self.address, 0))
        self.listener.listen(128)
        self.port = int(self.listener.getsockname()[1])
        self.handoff, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.secrets = {name: "cmd-" + secrets.token_hex(12) for name in NOT_OFFERED - REPLICATION}
        renames = [a for name, s in self.secrets.items() for a in ("--rename-command", name.decode(), s)]
        with socket.socket() as bus:
            bus.bind((self.address, 0))
            self.bus_port = int(bus.getsockname()[1])
        containers = [a for name, subs in PARTIAL.items()
                      for a in ("container", name.decode().lower(), ",".join(sorted(s.decode().lower() for s in subs)))]
        args = module_args if module_args is not None else [
            "verifier", str(self.verifier.path), *containers, "maxargs", "3999"]
        argv = ["valkey-server", "--port", "0", "--save", "", "--appendonly", "no", "--dir", str(work),
                "--unixsocket", str(work / "valkey.sock"), "--aclfile", str(work / "users.acl"),
                "--bind", self.address, "--tls-port", str(self.port), "--tls-cert-file", str(work / "tls.crt"),
                "--tls-key-file", str(work / "tls.key"), "--tls-ca-cert-file", str(ca_cert_path(data)),
                "--tls-auth-clients", "no", "--cluster-enabled", "yes", "--cluster-port", str(self.bus_port),
                "--cluster-config-file", str(work / "nodes.conf"), "--logfile", str(work / "valkey.log"),
                *renames, *(extra or []), "--loadmodule", str(artifacts.module), *args]
        env = dict(os.environ, LD_PRELOAD=str(artifacts.handoff), CLOUDLET_HANDOFF=f"{theirs.fileno()}:{self.port}")
        self.proc = subprocess.Popen(argv, env=env, pass_fds=(theirs.fileno(),),
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        theirs.close()
        self.accepted: list[tuple[str, int]] = []  # peers accepted and passed on
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, peer = self.listener.accept()
            except OSError:
                return
            with conn:
                self.accepted.append(peer)
                try:
                    socket.send_fds(self.handoff, [b"c"], [conn.fileno()])
                except OSError:
                    return

    def wait_ready(self, slots: bool = True) -> None:
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"valkey-server exited {self.proc.returncode}: {self.log()[-2000:]}")
            try:
                admin = self.admin()
                if not slots:
                    admin.ping()
                    return
                if b"cluster_slots_assigned:0\r" in admin.execute_command("CLUSTER", "INFO"):
                    admin.execute_command("CLUSTER", "ADDSLOTSRANGE", "0", "16383")
                if b"cluster_state:ok" in admin.execute_command("CLUSTER", "INFO"):
                    return
            except (OSError, redis.ConnectionError):
                pass
            time.sleep(0.05)
        raise RuntimeError("valkey-server with the native module did not start: " + self.log()[-2000:])

    def log(self) -> str:
        try:
            return (self.work / "valkey.log").read_text()
        except OSError:
            return ""

    def admin(self) -> redis.Redis:
        """cloudlet's own connection: the unix socket, logged in through the verifier as ADMIN."""
        return redis.Redis(unix_socket_path=str(self.work / "valkey.sock"), username="cloudlet-admin",
                           password=ADMIN_PW, socket_timeout=10)

    def client(self, **kw: object) -> redis.Redis:
        kw.setdefault("username", APP)
        kw.setdefault("password", APP_PW)
        return redis.Redis(host=self.address, port=self.port, ssl=True, ssl_cert_reqs="none",
                           socket_timeout=15, single_connection_client=True, **kw)  # type: ignore[arg-type]

    def tls(self) -> ssl.SSLSocket:
        ctx = ssl.create_default_context()
        ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
        return ctx.wrap_socket(socket.create_connection((self.address, self.port), timeout=15))

    def stop(self) -> None:
        self.listener.close()
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.handoff.close()
        self.verifier.close()


def encode(*args: bytes | str) -> bytes:
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        b = a.encode() if isinstance(a, str) else a
        out.append(b"$%d\r\n%s\r\n" % (len(b), b))
    return b"".join(out)


def replies(s: ssl.SSLSocket, n: int) -> list[bytes]:
    """The next N reply lines (each reply here is one line: status, error, integer, null)."""
    buf = b""
    while buf.count(b"\r\n") < n:
        chunk = s.recv(65536)
        assert chunk, f"connection closed after {buf!r}"
        buf += chunk
    return buf.split(b"\r\n")[:n]


def raw(cache: NativeValkey, *commands: bytes, login: bool = True) -> list[bytes]:
    """Each command's one-line reply on a fresh TLS connection (logged in as APP first)."""
    with cache.tls() as s:
        if login:
            s.sendall(encode("AUTH", APP, APP_PW))
            assert replies(s, 1) == [b"+OK"]
        s.sendall(b"".join(commands))
        return replies(s, len(commands))
