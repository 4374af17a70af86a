"""valkey-benchmark through a cloudlet cache endpoint vs. a bare `valkey-server --tls`, same run.

One `cloudlet start` (Lambda isolation on) with a serverless cache whose user group holds a
password user and an IAM user; one bare valkey-server with a TLS port (certificate from
cloudlet's CA) and the same two ACL user names, with passwords. For every case (1, 50 and
200 connections x pipeline 1 and 16 x password and IAM user) valkey-benchmark runs SET and
GET (`-d 3`, random keys) against the bare valkey (the peer), against the cache's endpoint
from the host, and against it from inside a function in the cache's VPC (valkey-benchmark
run by the handler, through the environment's egress relay). The three sides alternate
--repeat times; medians are compared. The IAM user's token is made afresh for every run (the
way the tutorial's ElastiCacheIAMProvider makes it); against the bare valkey that user logs in
with a password, there being no IAM there.

Two cloudlets run side by side: one with the proxy data plane (CLOUDLET_DATAPLANE=proxy, the
"host"/"function" columns) and one with the native data plane (CLOUDLET_DATAPLANE=native:
valkey terminates TLS itself on the sockets cloudlet accepts, cloudlet decides each AUTH
through its valkey module; "native"/"native fn" columns). A second peer, a bare valkey-server
--tls in cluster mode (all slots on itself, as a cache's valkey runs), is measured too: the
"vs cluster" column is the native host side's throughput over it, informative only (cluster
mode itself costs valkey ~20% at pipeline 16). A third, the same-engine peer, is bare
valkey-servers --tls with exactly the engine settings of the native cache's valkeys (read from
their valkey.conf: cluster mode, AOF, maxclients, renamed commands, the attached cluster
replica, ...) and the cache's ACL users, but without cloudlet's module, hand-off shim or
verifier: the "vs engine" column (native host over it, informative) is what cloudlet's own
parts cost, apart from what the engine a cache runs costs.

Prints a table, then per case and side (host, function, native, native fn) two GOAL lines: throughput (requests of SET and GET
over their time together) >= 0.9 of the peer's, and p99 (the worse of SET's and GET's)
within 1.2x the peer's.

    python3 bench/bench_dataplane.py [-n REQUESTS] [--repeat 3] [-c 1,50,200] [-P 1,16] [--no-function]
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import ParseResult, urlencode, urlunparse

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
from bench_api import start_cloudlet  # noqa: E402
from goals import goal_line  # noqa: E402

from cloudlet.dataplane.tls import ca_cert_path, issue_server_cert  # noqa: E402

KEY, SECRET = "AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
REGION = "us-east-1"
CACHE = "bench-dp"
PW_USER, IAM_USER, PASSWORD = "bench-pw", "bench-iam", "bench-password-123456"
TRUST = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]})
VPC_ROLE = "arn:aws:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole"
# The handler runs the same valkey-benchmark command line inside the function's sandbox. The cache's
# name is resolved by the handler (cloudlet's resolver shim serves Python, not valkey-benchmark's libc).
HANDLER = r'''
import socket, subprocess

def handler(event, context):
    argv = list(event["argv"])
    argv[argv.index("-h") + 1] = socket.gethostbyname(argv[argv.index("-h") + 1])
    out = subprocess.run(argv, capture_output=True, text=True, timeout=280)
    return {"stdout": out.stdout, "stderr": out.stderr[-2000:], "rc": out.returncode}
'''
THROUGHPUT_TARGET, P99_TARGET = 0.9, 1.2


@dataclass
class Run:
    rps: float  # SET and GET requests over their time together
    p99: float  # ms, the worse of SET's and GET's


def goal(name: str, value: float, peer: float, unit: str, op: str, target: float) -> str:
    return goal_line(name, value, unit, "valkey-server --tls", peer, op, target, "x")


def width(side: str) -> int:
    return max(14, len(side) + 6)


def requests(base: int, clients: int, pipeline: int) -> int:
    """Requests per test: more where the peer is faster, so no run is over in a blink."""
    return base * (1 if clients == 1 else 2) * (4 if pipeline > 1 else 1)


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def start_bare_valkey(work: Path, data_dir: Path, cluster: bool = False) -> tuple[subprocess.Popen[bytes], int]:
    """The peer: valkey-server --tls with the bench's two users; CLUSTER: in cluster mode, owning all slots."""
    work.mkdir(parents=True)
    port = free_port()
    chain, key = issue_server_cert(data_dir, ["localhost"], ["127.0.0.1"])
    (work / "tls.crt").write_bytes(chain)
    (work / "tls.key").write_bytes(key)
    (work / "tls.key").chmod(0o600)
    (work / "users.acl").write_text(
        f"user {PW_USER} on >{PASSWORD} ~* &* +@all\n"
        f"user {IAM_USER} on >{PASSWORD} ~* &* +@all\n"
        "user default off ~* +@all\n"
    )
    sock = work / "valkey.sock"
    extra = ["--cluster-enabled", "yes", "--cluster-config-file", str(work / "nodes.conf"),
             "--cluster-port", str(free_port()), "--unixsocket", str(sock)] if cluster else []
    proc = subprocess.Popen(
        ["valkey-server", "--port", "0", "--save", "", "--appendonly", "no", "--dir", str(work),
         "--aclfile", str(work / "users.acl"), "--tls-port", str(port),
         "--tls-cert-file", str(work / "tls.crt"), "--tls-key-file", str(work / "tls.key"),
         "--tls-ca-cert-file", str(ca_cert_path(data_dir)), "--tls-auth-clients", "no", "--bind", "127.0.0.1",
         *extra],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    deadline = time.time() + 10
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            if cluster:
                cli = ["valkey-cli", "-s", str(sock), "--user", PW_USER, "-a", PASSWORD, "--no-auth-warning"]
                subprocess.run([*cli, "CLUSTER", "ADDSLOTSRANGE", "0", "16383"], capture_output=True, timeout=10)
                while "cluster_state:ok" not in subprocess.run([*cli, "CLUSTER", "INFO"], capture_output=True,
                                                               text=True, timeout=10).stdout:
                    time.sleep(0.05)
            return proc, port
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("bare valkey-server did not listen")


# Lines of a native cache's valkey.conf that are about where it runs, not how its engine works:
# the same-engine peer puts its own in their place (and has no module, shim or verifier).
PLACE_DIRECTIVES = frozenset({
    "port", "bind", "dir", "logfile", "aclfile", "unixsocket", "unixsocketperm", "cluster-config-file",
    "cluster-port", "tls-port", "tls-cert-file", "tls-key-file", "tls-ca-cert-file", "tls-auth-clients",
    "tls-replication", "tls-cluster", "cluster-announce-hostname", "cluster-announce-ip",
    "cluster-announce-tls-port", "cluster-preferred-endpoint-type", "loadmodule", "masteruser",
})
PEER_ADMIN, PEER_ADMIN_PASSWORD = "peer-admin", "peer-admin-password-123456"


def engine_lines(conf: Path) -> list[str]:
    """The engine settings of a native cache's valkey (its valkey.conf without PLACE_DIRECTIVES)."""
    return [line for line in conf.read_text().splitlines()
            if line.strip() and line.split()[0].lower() not in PLACE_DIRECTIVES]


def peer_acl(cache_acl: Path) -> str:
    """The cache's ACL users with their rules as they are; each logs in with PASSWORD here (no
    verifier), and an admin user sets up the cluster (the cache's users may not)."""
    lines = []
    for line in cache_acl.read_text().splitlines():
        words = line.split()
        if words[:1] == ["user"] and words[1] != "default":
            words = [w for w in words if not w.startswith(("#", ">"))] + [f">{PASSWORD}"]
        lines.append(" ".join(words))
    lines.append(f"user {PEER_ADMIN} on >{PEER_ADMIN_PASSWORD} ~* &* +@all")
    return "\n".join(lines) + "\n"


def admin_cli(sock: Path, *args: str) -> str:
    out = subprocess.run(["valkey-cli", "-s", str(sock), "--user", PEER_ADMIN, "-a", PEER_ADMIN_PASSWORD,
                          "--no-auth-warning", *args], capture_output=True, text=True, timeout=10)
    return out.stdout


def start_same_engine_peer(work: Path, data_dir: Path, cache_dir: Path) -> tuple[list[subprocess.Popen[bytes]], int]:
    """The same-engine peer: bare valkey-servers --tls with exactly the engine settings of the native
    cache in CACHE_DIR (its primary's and replica's valkey.conf: cluster mode owning all slots, AOF,
    maxclients, renamed commands, ...), the same ACL users, and the attached cluster replica; without
    cloudlet's module, hand-off shim or verifier. Returns both processes and the primary's TLS port."""
    chain, key = issue_server_cert(data_dir, ["localhost"], ["127.0.0.1"])
    procs: list[subprocess.Popen[bytes]] = []
    nodes: list[tuple[Path, int, int, int]] = []  # (admin socket, TLS port, TCP port, bus port)
    try:
        for name, conf in (("primary", cache_dir / "valkey.conf"), ("replica", cache_dir / "replica" / "valkey.conf")):
            d = work / name
            d.mkdir(parents=True)
            (d / "tls.crt").write_bytes(chain)
            (d / "tls.key").write_bytes(key)
            (d / "tls.key").chmod(0o600)
            (d / "users.acl").write_text(peer_acl(conf.parent / "users.acl"))
            tls_port, port, bus = free_port(), free_port(), free_port()
            lines = [*engine_lines(conf), f"port {port}", "bind 127.0.0.1", f"dir {d}", f"logfile {d / 'valkey.log'}",
                     f"aclfile {d / 'users.acl'}", f"unixsocket {d / 'valkey.sock'}", "unixsocketperm 700",
                     "cluster-config-file nodes.conf", f"cluster-port {bus}", f"tls-port {tls_port}",
                     f"tls-cert-file {d / 'tls.crt'}", f"tls-key-file {d / 'tls.key'}",
                     f"tls-ca-cert-file {ca_cert_path(data_dir)}", "tls-auth-clients no", "tls-replication no",
                     "tls-cluster no"]
            if name == "replica":
                lines += [f"masteruser {PEER_ADMIN}", f"masterauth {PEER_ADMIN_PASSWORD}"]
            procs.append(subprocess.Popen(["valkey-server", "-"], stdin=subprocess.PIPE,
                                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
            assert procs[-1].stdin is not None
            procs[-1].stdin.write(("\n".join(lines) + "\n").encode())
            procs[-1].stdin.close()
            nodes.append((d / "valkey.sock", tls_port, port, bus))
        (primary, tls_port, port, bus), (replica, _, _, _) = nodes
        deadline = time.time() + 20

        def until(check: Callable[[], bool], what: str) -> None:
            while not check():
                if time.time() > deadline or any(p.poll() is not None for p in procs):
                    raise RuntimeError(f"same-engine peer: {what}")
                time.sleep(0.05)

        until(lambda: "PONG" in admin_cli(primary, "PING") and "PONG" in admin_cli(replica, "PING"), "no answer")
        admin_cli(primary, "CLUSTER", "SET-CONFIG-EPOCH", "1")
        admin_cli(primary, "CLUSTER", "ADDSLOTSRANGE", "0", "16383")
        primary_id = admin_cli(primary, "CLUSTER", "MYID").strip()
        admin_cli(replica, "CLUSTER", "MEET", "127.0.0.1", str(port), str(bus))
        until(lambda: primary_id in admin_cli(replica, "CLUSTER", "NODES")
              and "OK" in admin_cli(replica, "CLUSTER", "REPLICATE", primary_id), "the replica did not join")
        until(lambda: "master_link_status:up" in admin_cli(replica, "INFO", "replication")
              and "cluster_state:ok" in admin_cli(primary, "CLUSTER", "INFO"), "the replica did not sync")
        return procs, tls_port
    except BaseException:
        for p in procs:
            p.kill()
            p.wait()
        raise


def iam_token(user: str) -> str:
    """An ElastiCache IAM auth token for USER on the bench cache, as the tutorial makes it."""
    import botocore.session
    from botocore.model import ServiceId
    from botocore.signers import RequestSigner

    sess = botocore.session.get_session()
    sess.set_credentials(KEY, SECRET)
    signer = RequestSigner(ServiceId("elasticache"), REGION, "elasticache", "v4", sess.get_credentials(),
                           sess.get_component("event_emitter"))
    query = urlencode({"Action": "connect", "User": user, "ResourceType": "ServerlessCache"})
    url = urlunparse(ParseResult("https", CACHE, "/", "", query, ""))
    signed = signer.generate_presigned_url({"method": "GET", "url": url, "body": {}, "headers": {}, "context": {}},
                                           operation_name="connect", expires_in=900, region_name=REGION)
    return str(signed).removeprefix("https://")


def benchmark_argv(host: str, port: int, user: str, password: str, clients: int, pipeline: int, n: int) -> list[str]:
    return ["valkey-benchmark", "-h", host, "-p", str(port), "--tls", "--insecure", "--user", user,
            "-a", password, "-c", str(clients), "-n", str(n), "-t", "set,get", "-P", str(pipeline),
            "-r", "100000", "-d", "3", "--csv"]


def parse(stdout: str, stderr: str) -> Run:
    rows = {row["test"]: row for row in csv.DictReader(io.StringIO(stdout))}
    if set(rows) != {"SET", "GET"}:
        raise RuntimeError(f"valkey-benchmark failed: {stderr.strip() or stdout.strip()}")
    rps = [float(rows[t]["rps"]) for t in ("SET", "GET")]
    return Run(rps=2 / sum(1 / r for r in rps), p99=max(float(rows[t]["p99_latency_ms"]) for t in ("SET", "GET")))


def on_host(argv: list[str]) -> Run:
    out = subprocess.run(argv, capture_output=True, text=True, timeout=600)
    return parse(out.stdout, out.stderr)


class Cloudlet:
    """A cloudlet with the bench cache, its two users, and (unless off) a function in its VPC;
    DATAPLANE: its CLOUDLET_DATAPLANE."""

    def __init__(self, data: Path, function: bool, dataplane: str) -> None:

        self.data = data
        self.proc, url, _ = start_cloudlet(data, CLOUDLET_LAMBDA_ISOLATION="on", CLOUDLET_DATAPLANE=dataplane)
        try:
            self._set_up(url, function, dataplane)
        except BaseException:
            self.stop()
            raise

    def _set_up(self, url: str, function: bool, dataplane: str) -> None:
        import boto3
        from botocore.config import Config as BotoConfig

        data = self.data
        kw: dict[str, Any] = {"endpoint_url": url, "region_name": REGION, "aws_access_key_id": KEY,
                              "aws_secret_access_key": SECRET,
                              "config": BotoConfig(retries={"max_attempts": 0}, read_timeout=600)}
        ec, ec2, iam, self.lam = (boto3.client(s, **kw) for s in ("elasticache", "ec2", "iam", "lambda"))
        ec.create_user(UserName=PW_USER, UserId=PW_USER, Engine="valkey",
                       AuthenticationMode={"Type": "password", "Passwords": [PASSWORD]}, AccessString="on ~* +@all")
        ec.create_user(UserName=IAM_USER, UserId=IAM_USER, Engine="valkey",
                       AuthenticationMode={"Type": "iam"}, AccessString="on ~* +@all")
        ec.create_user_group(UserGroupId="bench-group", Engine="valkey",
                             UserIds=[PW_USER, IAM_USER])
        while ec.describe_user_groups(UserGroupId="bench-group")["UserGroups"][0]["Status"] != "active":
            time.sleep(0.1)
        ec.create_serverless_cache(ServerlessCacheName=CACHE, Engine="valkey", UserGroupId="bench-group")
        while True:
            cache = ec.describe_serverless_caches(ServerlessCacheName=CACHE)["ServerlessCaches"][0]
            if cache["Status"] == "available":
                break
            if cache["Status"] == "create-failed":
                raise RuntimeError(f"the bench cache ({dataplane} data plane) failed to start")
            time.sleep(0.1)
        self.hostname = cache["Endpoint"]["Address"]
        # valkey-benchmark on the host resolves no cache names: the loopback address cloudlet gave it.
        self.address = next(line.split()[0] for line in (data / "hosts").read_text().splitlines()
                            if self.hostname in line)
        self.function: str | None = None
        if function:
            vpc = ec2.describe_vpcs(Filters=[{"Name": "isDefault", "Values": ["true"]}])["Vpcs"][0]["VpcId"]
            subnets = [s["SubnetId"] for s in
                       ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc]}])["Subnets"]]
            sg = ec2.describe_security_groups(Filters=[{"Name": "vpc-id", "Values": [vpc]},
                                                       {"Name": "group-name", "Values": ["default"]}])
            role = iam.create_role(RoleName="bench-dp", AssumeRolePolicyDocument=TRUST)["Role"]["Arn"]
            iam.attach_role_policy(RoleName="bench-dp", PolicyArn=VPC_ROLE)
            buf = io.BytesIO()
            with zipfile.ZipFile(buf, "w") as z:
                z.writestr("app.py", HANDLER)
            self.lam.create_function(
                FunctionName="bench-dp", Role=role, Runtime="python3.12", Handler="app.handler",
                Code={"ZipFile": buf.getvalue()}, Timeout=300, MemorySize=1024,
                VpcConfig={"SubnetIds": subnets, "SecurityGroupIds": [sg["SecurityGroups"][0]["GroupId"]]})
            self.lam.get_waiter("function_active_v2").wait(
                FunctionName="bench-dp", WaiterConfig={"Delay": 0.1, "MaxAttempts": 600})
            self.function = "bench-dp"

    def in_function(self, argv: list[str]) -> Run:
        r = self.lam.invoke(FunctionName=self.function, Payload=json.dumps({"argv": argv}).encode())
        body = json.loads(r["Payload"].read())
        if "FunctionError" in r:
            raise RuntimeError(f"function failed: {body}")
        return parse(body["stdout"], body["stderr"])

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("-n", type=int, default=20000, help="requests per test at 1 connection, pipeline 1 (x2 at more connections, x4 pipelined)")
    ap.add_argument("-c", default="1,50,200", help="connection counts, comma-separated")
    ap.add_argument("-P", default="1,16", help="pipeline depths, comma-separated")
    ap.add_argument("--repeat", type=int, default=3, help="alternating runs per side; medians compared")
    ap.add_argument("--no-function", action="store_true", help="skip the in-function side")
    args = ap.parse_args()
    if shutil.which("valkey-benchmark") is None:
        print("valkey-benchmark not found (Debian: valkey-tools); skipping the data-plane bench")
        return 0
    function = not args.no_function and shutil.which(os.environ.get("CLOUDLET_BWRAP", "bwrap")) is not None
    if not args.no_function and not function:
        print("bwrap not found: no in-function side (functions need Lambda isolation here)")
    data = Path(tempfile.mkdtemp(prefix="cloudlet-bench-dp-"))
    cloudlet = Cloudlet(data / "cloudlet", function, "proxy")
    try:
        native: Cloudlet | None = Cloudlet(data / "native", function, "native")
    except Exception as e:  # no gcc here, say: the proxy's figures still come
        print(f"no native data plane side: {e}")
        native = None
    bare, bare_port = start_bare_valkey(data / "bare", data / "cloudlet")
    clustered, cluster_port = start_bare_valkey(data / "bare-cluster", data / "cloudlet", cluster=True)
    engine: list[subprocess.Popen[bytes]] = []
    engine_port = 0
    if native is not None:
        engine, engine_port = start_same_engine_peer(data / "engine", data / "cloudlet",
                                                     native.data / "elasticache" / "caches" / CACHE)
    # side -> (how it runs, the cloudlet it measures, whether it runs in the function)
    sides: dict[str, tuple[Callable[[list[str]], Run], Cloudlet, bool]] = {"host": (on_host, cloudlet, False)}
    if cloudlet.function is not None:
        sides["function"] = (cloudlet.in_function, cloudlet, True)
    if native is not None:
        sides["native"] = (on_host, native, False)
        if native.function is not None:
            sides["native fn"] = (native.in_function, native, True)
    goals: list[str] = []
    try:
        print(f"valkey-benchmark SET/GET -d 3, median of {args.repeat}, load average {os.getloadavg()[0]:.2f}; "
              f"peer: valkey-server --tls 127.0.0.1:{bare_port}; cluster peer: the same in cluster mode; "
              + ("same-engine peer: the native cache's engine settings and replica; " if engine else "")
              + f"proxy cloudlet: {cloudlet.hostname} ({cloudlet.address})"
              + (f"; native cloudlet: {native.address}" if native is not None else ""))
        print(f"{'user':<9}{'conns':>6}{'P':>4}  {'peer rps':>10}{'p99':>7}{'cluster':>9}"
              + (f"{'engine':>9}" if engine else "") + "  "
              + "".join(f"{s + ' rps':>{width(s)}}{'p99':>7}{'ratio':>7}" for s in sides)
              + (f"{'vs cluster':>11}" if native is not None else "") + (f"{'vs engine':>10}" if engine else ""))
        for user in ("password", "iam"):
            name = PW_USER if user == "password" else IAM_USER
            for clients in (int(c) for c in args.c.split(",")):
                for pipeline in (int(p) for p in args.P.split(",")):
                    n = requests(args.n, clients, pipeline)
                    runs: dict[str, list[Run]] = {"peer": [], "cluster": [], **{s: [] for s in sides}}
                    if engine:
                        runs["engine"] = []
                    for _ in range(args.repeat):
                        runs["peer"].append(on_host(
                            benchmark_argv("127.0.0.1", bare_port, name, PASSWORD, clients, pipeline, n)))
                        runs["cluster"].append(on_host(
                            benchmark_argv("127.0.0.1", cluster_port, name, PASSWORD, clients, pipeline, n)))
                        if engine:
                            runs["engine"].append(on_host(
                                benchmark_argv("127.0.0.1", engine_port, name, PASSWORD, clients, pipeline, n)))
                        for side, (run, target, inside) in sides.items():
                            secret = iam_token(name) if user == "iam" else PASSWORD
                            host = target.hostname if inside else target.address
                            runs[side].append(run(benchmark_argv(host, 6379, name, secret, clients, pipeline, n)))
                    med = {s: Run(statistics.median(r.rps for r in rs), statistics.median(r.p99 for r in rs))
                           for s, rs in runs.items()}
                    peer = med["peer"]
                    row = (f"{user:<9}{clients:>6}{pipeline:>4}  {peer.rps:>10.0f}{peer.p99:>7.2f}{med['cluster'].rps:>9.0f}"
                           + (f"{med['engine'].rps:>9.0f}" if engine else "") + "  ")
                    for side in sides:
                        got = med[side]
                        row += f"{got.rps:>{width(side)}.0f}{got.p99:>7.2f}{got.rps / peer.rps:>7.2f}"
                        case = f"data plane {user} user, {clients} conn, P{pipeline}, {side}"
                        goals.append(goal(case + " throughput", got.rps, peer.rps, "rps", ">=", THROUGHPUT_TARGET))
                        goals.append(goal(case + " p99", got.p99, peer.p99, "ms", "<=", P99_TARGET))
                    if "native" in med:
                        row += f"{med['native'].rps / med['cluster'].rps:>11.2f}"
                    if engine:
                        row += f"{med['native'].rps / med['engine'].rps:>10.2f}"
                    print(row, flush=True)
    finally:
        cloudlet.stop()
        if native is not None:
            native.stop()
        for proc in (bare, clustered, *engine):
            proc.terminate()
            proc.wait(5)
        shutil.rmtree(data, ignore_errors=True)
    print()
    for line in goals:
        print(line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
