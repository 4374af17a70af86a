"""All of cloudlet's configuration: CLOUDLET_* environment variables (and CLI flags).

This is the one place they are read and documented; docs/CONFIGURATION.md lists them.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from pathlib import Path

# The server writes this file in the data dir and answers health on this path; the CLI reads both.
PID_FILE = "cloudlet.pid"
HEALTH_PATH = "/_cloudlet/health"


class ConfigError(ValueError):
    """A CLOUDLET_* variable holds a value cloudlet cannot use; the message names it."""


def _number(e: Mapping[str, str], name: str, default: float, kind: type[int | float]) -> float:
    v = e.get(name)
    if v is None or v.strip() == "":
        return default
    try:
        return kind(v)
    except ValueError:
        what = "an integer" if kind is int else "a number"
        raise ConfigError(f"{name}={v!r} is not {what}") from None


def _bool(v: str | None, default: bool) -> bool:
    if v is None or v == "":
        return default
    return v.strip().lower() not in ("0", "false", "no", "off")


@dataclasses.dataclass
class Config:
    host: str = "127.0.0.1"  # CLOUDLET_HOST: API listen address
    port: int = 4566  # CLOUDLET_PORT: API listen port
    data_dir: Path = Path.home() / ".cloudlet"  # CLOUDLET_DATA_DIR: state, CA, logs, pid file
    account_id: str = "123456789012"  # CLOUDLET_ACCOUNT_ID: the root identity's account
    access_key_id: str = "AKIAIOSFODNN7EXAMPLE"  # CLOUDLET_ACCESS_KEY_ID: root access key
    secret_access_key: str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"  # CLOUDLET_SECRET_ACCESS_KEY
    region: str = "us-east-1"  # CLOUDLET_REGION: default region for `cloudlet env`
    enforce_iam: bool = True  # CLOUDLET_ENFORCE_IAM: 0 turns policy enforcement off
    valkey_server: str = "valkey-server"  # CLOUDLET_VALKEY_SERVER: valkey-server binary
    # CLOUDLET_CACHE_NET: first two octets of the loopback /16 cache endpoints get addresses in.
    cache_net: str = "127.77"
    log_level: str = "INFO"  # CLOUDLET_LOG_LEVEL
    # CLOUDLET_RUNTIMES_DIR: where per-runtime virtualenvs (awslambdaric + boto3) live.
    # A machine-wide cache, shared by every data dir (building one takes a pip install).
    runtimes_dir: Path = Path.home() / ".cloudlet" / "runtimes"
    # CLOUDLET_CACHE_IAM_CONN_MAX_S: an IAM-authenticated cache connection is closed
    # this long after its last (re-)authentication (AWS: 12 hours).
    cache_iam_conn_max_s: float = 43200.0
    # CLOUDLET_CACHE_AUTH_TIMEOUT_S: a cache connection not authenticated by then is closed.
    cache_auth_timeout_s: float = 10.0
    # CLOUDLET_CACHE_READER_IDLE_S: a cache's read replica is stopped when its reader endpoint
    # has had no connection this long (the next one starts it again); 0: never.
    cache_reader_idle_s: float = 600.0
    # CLOUDLET_LAMBDA_IDLE_S: a warm Lambda environment unused this long is stopped.
    lambda_idle_s: float = 300.0
    # CLOUDLET_LAMBDA_MAX_ENVIRONMENTS: cap on live Lambda environments (all functions).
    lambda_max_environments: int = 32
    # CLOUDLET_LAMBDA_PREWARM: pre-started Lambda launchers kept per runtime (and /tmp size)
    # some function uses, for quick cold starts; 0: none, each cold start starts its own.
    lambda_prewarm: int = 1
    # CLOUDLET_LAMBDA_TRANSITION_S: the least time a function stays Pending after CreateFunction
    # (or InProgress after an update), so clients meet the ResourceConflictException AWS gives
    # to a call made before the transition ends.
    lambda_transition_s: float = 0.3
    # CLOUDLET_LAMBDA_EVENT_RETRY_S: an asynchronous invoke that failed is retried this long
    # after (the second retry twice as long after the first), as AWS's ~1 and ~2 minutes.
    lambda_event_retry_s: float = 60.0
    # CLOUDLET_PERSIST: 0 keeps all state in memory only (`cloudlet start --ephemeral`).
    persist: bool = True
    # CLOUDLET_PERSIST_SYNC: normal (written before the response, fsynced within 0.2 s:
    # kill -9 loses nothing acknowledged, a power loss at most 0.2 s of writes) or full
    # (fsync before each response: nothing lost; 2-4x the cost of a write, bench_persist).
    persist_sync: str = "normal"
    # CLOUDLET_LAMBDA_ISOLATION: auto | on | off. Each Lambda execution environment in its
    # own namespaces (bubblewrap): auto when this machine allows it, on or refuse to start, off.
    lambda_isolation: str = "auto"
    # CLOUDLET_BWRAP: the bubblewrap binary isolation runs.
    bwrap: str = "bwrap"
    # CLOUDLET_VPC_EGRESS: aws | open. aws: a function in a VPC reaches cloudlet's API only
    # through an interface VPC endpoint of the service it calls, as on AWS without a NAT
    # gateway; open: always (a departure from AWS). Caches are decided by security groups either way.
    vpc_egress: str = "aws"
    # CLOUDLET_CONSOLE_PORT: the browser console's port, on 127.0.0.1 only; 0: no console.
    console_port: int = 4567
    # CLOUDLET_METRICS_INTERVAL_S: how often each serverless cache's AWS/ElastiCache metrics
    # are sampled and published (AWS: once a minute); shorter to watch a graph move.
    metrics_interval_s: float = 60.0
    # CLOUDLET_EXIT_WITH_PARENT: a foreground `cloudlet start` stops (as on SIGTERM) when the
    # process that started it dies, even by SIGKILL: for test and bench harnesses.
    exit_with_parent: bool = False
    # CLOUDLET_DATAPLANE: proxy | native. How clients reach a serverless cache: through
    # cloudlet's TLS proxy (proxy), or valkey's own TLS listener with cloudlet deciding AUTH
    # through a valkey module (native, needs gcc; see docs/ARCHITECTURE.md).
    dataplane: str = "proxy"

    @property
    def endpoint_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None, **overrides: object) -> Config:
        e = os.environ if env is None else env
        c = cls()
        c.host = e.get("CLOUDLET_HOST", c.host)
        c.port = int(_number(e, "CLOUDLET_PORT", c.port, int))
        if not 0 < c.port < 65536:
            raise ConfigError(f"CLOUDLET_PORT={c.port} is not a TCP port (1-65535)")
        c.data_dir = Path(e.get("CLOUDLET_DATA_DIR", str(c.data_dir))).expanduser()
        c.account_id = e.get("CLOUDLET_ACCOUNT_ID", c.account_id)
        c.access_key_id = e.get("CLOUDLET_ACCESS_KEY_ID", c.access_key_id)
        c.secret_access_key = e.get("CLOUDLET_SECRET_ACCESS_KEY", c.secret_access_key)
        c.region = e.get("CLOUDLET_REGION", c.region)
        c.enforce_iam = _bool(e.get("CLOUDLET_ENFORCE_IAM"), True)
        c.valkey_server = e.get("CLOUDLET_VALKEY_SERVER", c.valkey_server)
        c.cache_net = e.get("CLOUDLET_CACHE_NET", c.cache_net)
        c.log_level = e.get("CLOUDLET_LOG_LEVEL", c.log_level)
        c.runtimes_dir = Path(
            e.get("CLOUDLET_RUNTIMES_DIR", str(c.runtimes_dir))
        ).expanduser()
        c.lambda_idle_s = _number(e, "CLOUDLET_LAMBDA_IDLE_S", c.lambda_idle_s, float)
        c.lambda_max_environments = int(
            _number(e, "CLOUDLET_LAMBDA_MAX_ENVIRONMENTS", c.lambda_max_environments, int)
        )
        c.lambda_prewarm = int(_number(e, "CLOUDLET_LAMBDA_PREWARM", c.lambda_prewarm, int))
        c.lambda_transition_s = _number(e, "CLOUDLET_LAMBDA_TRANSITION_S", c.lambda_transition_s, float)
        c.lambda_event_retry_s = _number(e, "CLOUDLET_LAMBDA_EVENT_RETRY_S", c.lambda_event_retry_s, float)
        c.cache_iam_conn_max_s = _number(e, "CLOUDLET_CACHE_IAM_CONN_MAX_S", c.cache_iam_conn_max_s, float)
        c.cache_auth_timeout_s = _number(e, "CLOUDLET_CACHE_AUTH_TIMEOUT_S", c.cache_auth_timeout_s, float)
        c.cache_reader_idle_s = _number(e, "CLOUDLET_CACHE_READER_IDLE_S", c.cache_reader_idle_s, float)
        c.persist = _bool(e.get("CLOUDLET_PERSIST"), True)
        c.persist_sync = e.get("CLOUDLET_PERSIST_SYNC", c.persist_sync).strip().lower()
        if c.persist_sync not in ("full", "normal"):
            raise ConfigError(f"CLOUDLET_PERSIST_SYNC={c.persist_sync!r} is not full or normal")
        c.lambda_isolation = e.get("CLOUDLET_LAMBDA_ISOLATION", c.lambda_isolation).strip().lower() or "auto"
        if c.lambda_isolation not in ("auto", "on", "off"):
            raise ConfigError(f"CLOUDLET_LAMBDA_ISOLATION={c.lambda_isolation!r} is not auto, on or off")
        c.bwrap = e.get("CLOUDLET_BWRAP", c.bwrap)
        c.vpc_egress = e.get("CLOUDLET_VPC_EGRESS", c.vpc_egress).strip().lower() or "aws"
        if c.vpc_egress not in ("aws", "open"):
            raise ConfigError(f"CLOUDLET_VPC_EGRESS={c.vpc_egress!r} is not aws or open")
        c.console_port = int(_number(e, "CLOUDLET_CONSOLE_PORT", c.console_port, int))
        if not 0 <= c.console_port < 65536:
            raise ConfigError(f"CLOUDLET_CONSOLE_PORT={c.console_port} is not a TCP port (1-65535, or 0 for none)")
        c.metrics_interval_s = _number(e, "CLOUDLET_METRICS_INTERVAL_S", c.metrics_interval_s, float)
        if c.metrics_interval_s <= 0:
            raise ConfigError(f"CLOUDLET_METRICS_INTERVAL_S={c.metrics_interval_s} must be greater than 0")
        c.exit_with_parent = _bool(e.get("CLOUDLET_EXIT_WITH_PARENT"), False)
        c.dataplane = e.get("CLOUDLET_DATAPLANE", c.dataplane).strip().lower() or "proxy"
        if c.dataplane not in ("proxy", "native"):
            raise ConfigError(f"CLOUDLET_DATAPLANE={c.dataplane!r} is not proxy or native")
        for k, v in overrides.items():
            if v is not None:
                setattr(c, k, v)
        return c
