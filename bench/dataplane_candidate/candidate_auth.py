"""The candidate data path bench_dataplane.py measures: valkey terminating TLS itself, every
AUTH decided by cloudlet through the cloudlet_auth module (cloudlet_auth.c beside this file).

ModuleValkey.start builds the module (and host_listener.c's shim) with gcc, starts a verifier (a unix-socket server in this
process answering the module's questions with cloudlet's own CacheAuthenticator: IAM token
verification and elasticache:Connect, password users, the same refusals) and a valkey-server
with a TLS port (certificate from cloudlet's CA) that loads the module. Its ACL users have
passwords only cloudlet knows (backend_password), so no AUTH gets past the verifier.
"""

from __future__ import annotations

import hmac
import os
import shutil
import socket
import socketserver
import subprocess
import threading
import time
from pathlib import Path

import redis

from cloudlet.config import Config
from cloudlet.dataplane.auth import AuthRefused, CacheAuthenticator
from cloudlet.dataplane.replies import WRONGPASS
from cloudlet.dataplane.spec import ADMIN_USER, CacheEndpoint, CacheUser, backend_password
from cloudlet.dataplane.tls import ca_cert_path, issue_server_cert
from cloudlet.services.elasticache import private_network
from cloudlet.services.elasticache.valkey_process import SLOTS, acl_hash
from cloudlet.services.registry import build_world

HERE = Path(__file__).resolve().parent
ACCOUNT = "123456789012"


def build(out: Path) -> tuple[Path, Path] | None:
    """cloudlet_auth.so (the module) and host_listener.so (the LD_PRELOAD shim) compiled into
    OUT; None without gcc."""
    if shutil.which("gcc") is None:
        return None
    built = []
    for name in ("cloudlet_auth", "host_listener"):
        so = out / f"{name}.so"
        subprocess.run(["gcc", "-O2", "-Wall", "-fPIC", "-shared", "-pthread", "-o", str(so),
                        str(HERE / f"{name}.c"), "-ldl"], check=True)
        built.append(so)
    return built[0], built[1]


class _Verifier(socketserver.ThreadingUnixStreamServer):
    daemon_threads = True
    authenticator: CacheAuthenticator
    managed: frozenset[str]
    admin_password: bytes


class _Ask(socketserver.StreamRequestHandler):
    """One AUTH: "<client id> <user len> <password len>\\n<user><password>" -> one answer line."""

    server: _Verifier

    def handle(self) -> None:
        head = self.rfile.readline(64).split()
        if len(head) != 3:
            return
        user = self.rfile.read(int(head[1]))
        password = self.rfile.read(int(head[2]))
        self.wfile.write(self.answer(user, password))

    def answer(self, user: bytes, password: bytes) -> bytes:
        if user == ADMIN_USER.encode():
            # cloudlet's own connections: a module user no ACL command shows (cloudlet_auth.c)
            ok = hmac.compare_digest(password, self.server.admin_password)
            return b"ADMIN\n" if ok else b"ERR " + WRONGPASS.removesuffix(b"\r\n") + b"\n"
        if user.decode(errors="replace") not in self.server.managed:
            return b"NEXT\n"  # no such user here: valkey's own ACL (which refuses it)
        try:
            got = self.server.authenticator.authenticate(user, password, "127.0.0.1")
        except AuthRefused as e:
            return b"ERR " + e.reply.removesuffix(b"\r\n") + b"\n"  # "-CODE ...": valkey adds no ERR
        return b"OK " + got.user_name.encode() + b"\n"


class ModuleValkey:
    def __init__(self, proc: subprocess.Popen[bytes], verifier: _Verifier, address: str, port: int) -> None:
        self.proc = proc
        self.verifier = verifier
        self.address = address
        self.port = port

    @classmethod
    def start(
        cls, work: Path, data_dir: Path, cache: str, region: str, pw_user: tuple[str, str], iam_user: str,
        address: str, private_net: bool,
    ) -> ModuleValkey | None:
        """PRIVATE_NET: valkey in a network namespace of its own (its cluster bus unreachable, as
        a cache's is), its TLS listener a socket bound here in the host's namespace and handed
        down through host_listener.so; else valkey in the host's namespace, bound to address."""
        work.mkdir(parents=True)
        built = build(work)
        if built is None:
            return None
        so, shim = built
        world = build_world(Config.from_env(env={}, data_dir=work / "data"))
        secret = b"candidate-secret-0123456789abcdef"
        arn = f"arn:aws:elasticache:{region}:{ACCOUNT}:user:"
        users = {
            pw_user[0]: CacheUser(pw_user[0], pw_user[0], arn + pw_user[0], "password", (pw_user[1],), "on ~* +@all"),
            iam_user: CacheUser(iam_user, iam_user, arn + iam_user, "iam", (), "on ~* +@all"),
        }
        spec = CacheEndpoint(
            name=cache, arn=f"arn:aws:elasticache:{region}:{ACCOUNT}:serverlesscache:{cache}",
            account_id=ACCOUNT, region=region, hostname=f"{cache}.candidate", address=address,
            valkey_socket=work / "valkey.sock", backend_secret=secret, users=users,
        )
        verifier = _Verifier(str(work / "verifier.sock"), _Ask)
        verifier.authenticator = CacheAuthenticator(world, spec)
        verifier.managed = frozenset(users)
        verifier.admin_password = backend_password(secret, ADMIN_USER).encode()
        threading.Thread(target=verifier.serve_forever, daemon=True).start()
        chain, key = issue_server_cert(data_dir, [spec.hostname], [address])
        (work / "tls.crt").write_bytes(chain)
        (work / "tls.key").write_bytes(key)
        (work / "tls.key").chmod(0o600)
        acl = [f"user {u} on #{acl_hash(backend_password(secret, u))} ~* &* +@all" for u in users]
        (work / "users.acl").write_text("\n".join([*acl, "user default off ~* +@all", ""]))
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((address, 0))
        port = int(listener.getsockname()[1])
        env = dict(os.environ)
        if private_net:
            listener.listen(1024)
            env.update(LD_PRELOAD=str(shim), CLOUDLET_LISTEN_FD=str(listener.fileno()),
                       CLOUDLET_LISTEN_PORT=str(port))
        else:
            listener.close()  # valkey binds the port itself
        argv = ["valkey-server", "--port", "0", "--save", "", "--appendonly", "no", "--dir", str(work),
                "--unixsocket", str(work / "valkey.sock"), "--cluster-enabled", "yes",
                "--cluster-config-file", str(work / "nodes.conf"),
                "--aclfile", str(work / "users.acl"), "--bind", "127.0.0.1" if private_net else address,
                "--tls-port", str(port), "--tls-cert-file", str(work / "tls.crt"),
                "--tls-key-file", str(work / "tls.key"), "--tls-ca-cert-file", str(ca_cert_path(data_dir)),
                "--tls-auth-clients", "no", "--cluster-announce-hostname", spec.hostname, "--cluster-announce-ip", address,
                "--cluster-preferred-endpoint-type", "hostname", "--cluster-announce-tls-port", str(port),
                "--loadmodule", str(so), str(work / "verifier.sock")]
        proc = subprocess.Popen(
            argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env,
            pass_fds=(listener.fileno(),) if private_net else (), preexec_fn=_enter_private_net if private_net else None,
        )
        if private_net:
            listener.close()  # valkey holds it now
        deadline = time.time() + 10
        while time.time() < deadline:
            try:
                with redis.Redis(unix_socket_path=str(work / "valkey.sock"), username=ADMIN_USER,
                                 password=backend_password(secret, ADMIN_USER)) as admin:
                    if b"cluster_slots_assigned:0\r" in admin.execute_command("CLUSTER", "INFO"):
                        admin.execute_command("CLUSTER", "ADDSLOTSRANGE", "0", str(SLOTS - 1))
                    if b"cluster_state:ok" not in admin.execute_command("CLUSTER", "INFO"):
                        raise redis.ConnectionError("cluster state not ok yet")
                return cls(proc, verifier, address, port)
            except (OSError, redis.ConnectionError):
                if proc.poll() is not None:
                    break
                time.sleep(0.05)
        proc.kill()
        verifier.shutdown()
        raise RuntimeError("the candidate valkey-server (TLS + cloudlet_auth) did not start")

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(5)
        self.verifier.shutdown()


def _enter_private_net() -> None:
    if not private_network.enter():
        raise OSError("no private network namespace here (neither root nor user namespaces)")


class SpliceRelay:
    """A byte relay from LISTEN to TARGET, two threads per connection moving bytes with
    splice(2) through a pipe (no copy into Python, no TLS, no parsing): the other way across
    into a network namespace, measured against the handed-down listener."""

    CHUNK = 1 << 16

    def __init__(self, address: str, target: tuple[str, int]) -> None:
        self.target = target
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((address, 0))
        self.sock.listen(1024)
        self.address, self.port = address, int(self.sock.getsockname()[1])
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.sock.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.target)
            for s in (client, upstream):
                s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            threading.Thread(target=self._pump, args=(client, upstream), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket) -> None:
        r, w = os.pipe()
        try:
            while True:
                n = os.splice(src.fileno(), w, self.CHUNK)
                if n == 0:
                    break
                while n:
                    n -= os.splice(r, dst.fileno(), n)
        except OSError:
            pass
        finally:
            os.close(r)
            os.close(w)
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def stop(self) -> None:
        self.sock.close()
