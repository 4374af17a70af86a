"""The `cloudlet` command: start, stop, status, env, hosts, ca, reset.

A failure the user can act on (a data dir that cannot be written, a port in use, a bad
CLOUDLET_* value) ends in one `cloudlet: ...` line on stderr and a non-zero exit.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import subprocess
import sys
import time
from pathlib import Path

import cloudlet
from cloudlet import parent_death  # first: it notes which process started this one
from cloudlet.cli_ca import finish_ca, start_ca
from cloudlet.cli_checks import CliError, check_data_dir, check_port
from cloudlet.cli_processes import (
    descendants,
    is_cloudlet,
    owner_if_foreign,
    pid_alive,
    port_holder,
    terminate_tree,
)
from cloudlet.config import HEALTH_PATH, PID_FILE, Config, ConfigError

# Re-exported: tests, bench and the test fixtures stop process trees with these.
__all__ = ["HEALTH_PATH", "PID_FILE", "descendants", "main", "pid_alive", "terminate_tree"]

# What a detached server writes to stdout/stderr: this start's output only.
SERVER_OUT = "server.out"


def _config(args: argparse.Namespace) -> Config:
    data_dir = getattr(args, "data_dir", None)
    try:
        return Config.from_env(
            host=getattr(args, "host", None),
            port=getattr(args, "port", None),
            data_dir=Path(data_dir).expanduser().resolve() if data_dir else None,
            persist=False if getattr(args, "ephemeral", False) else None,
            exit_with_parent=True if getattr(args, "exit_with_parent", False) else None,
        )
    except ConfigError as e:
        raise CliError(str(e)) from None


def fetch_health(endpoint: str, timeout: float = 1.0) -> dict[str, object] | None:
    import urllib.request  # here: the server's own start does not need it (start-up time)

    try:
        with urllib.request.urlopen(endpoint + HEALTH_PATH, timeout=timeout) as r:
            data: dict[str, object] = json.loads(r.read())
            return data
    except (OSError, ValueError):  # urllib's URLError is an OSError
        return None


def read_pid_file(data_dir: Path) -> dict[str, object] | None:
    """The pid file's record; None when there is none. One it may not read is an error."""
    path = data_dir / PID_FILE
    try:
        info: dict[str, object] = json.loads(path.read_text())
        return info
    except (FileNotFoundError, NotADirectoryError, ValueError):
        return None
    except OSError as e:
        raise CliError(f"cannot read {path}: {e.strerror or e}") from None


def server_alive(info: dict[str, object] | None) -> bool:
    """The pid file names a live cloudlet (not a stale pid reused by another program)."""
    if not info or not str(info.get("pid", "")).isdigit():
        return False
    return is_cloudlet(int(str(info["pid"])))


def running_server(data_dir: Path) -> dict[str, object] | None:
    """The pid file's record when it names a live cloudlet, else None."""
    info = read_pid_file(data_dir)
    return info if server_alive(info) else None


def remove_pid_file(data_dir: Path) -> None:
    try:
        (data_dir / PID_FILE).unlink()
    except (FileNotFoundError, NotADirectoryError):
        pass
    except OSError as e:
        raise CliError(f"cannot remove {data_dir / PID_FILE}: {e.strerror or e}") from None


def _no_data_dir(config: Config) -> str:
    """" (data dir X does not exist)" when it does not, else ""."""
    if config.data_dir.is_dir():
        return ""
    return f" (data dir {config.data_dir} does not exist)"


# ---------------------------------------------------------------------------
# Commands


def cmd_start(args: argparse.Namespace) -> int:
    try:
        return _start(args)
    except CliError as e:
        raise CliError(f"failed to start: {e}", e.code) from None


def _start(args: argparse.Namespace) -> int:
    config = _config(args)
    if config.exit_with_parent:
        if args.detach:
            raise CliError("CLOUDLET_EXIT_WITH_PARENT (--exit-with-parent) is for a foreground start: a detached "
                           "server's parent is this command, which returns once it answers")
        try:
            parent_death.exit_with_parent()
        except (parent_death.ParentGone, OSError) as e:
            raise CliError(str(e)) from None
    try:
        running = running_server(config.data_dir)
    except CliError:
        running = None  # a pid file it may not read: check_data_dir says why
    if running and running.get("pid") != os.getpid():
        raise CliError(f"already running (pid {running['pid']}) at {running['endpoint']}")
    check_data_dir(config.data_dir)
    check_port(config.host, config.port, who=lambda: port_holder(config.port))
    from cloudlet.services.elasticache.valkey_binary import VersionCheck, valkey_warning

    # `valkey-server --version` answers while this process loads the server.
    valkey = VersionCheck(config.valkey_server)
    # The CA exists from the start, so `cloudlet ca` names a real file before the first cache;
    # a new data dir's is made by a child while this process loads the server (cli_ca.py).
    ca = start_ca(config.data_dir)
    try:
        if config.lambda_isolation == "on":
            from cloudlet.services.lambda_.sandbox import IsolationUnavailable, isolation_for

            # Refused before anything starts; otherwise the probe overlaps the server's start.
            try:
                isolation_for(config)
            except IsolationUnavailable as e:
                raise CliError(str(e)) from None
        if not args.detach:
            from cloudlet.server import run_forever
        warning = valkey_warning(valkey.problem())
        if warning:
            print(warning, file=sys.stderr)
        finish_ca(ca)
        ca = None
        if not args.detach:
            args.serving = True  # from here on an OSError is the server's own, with its traceback
            return run_forever(config)
        return _start_detached(config, args.timeout, printed=warning or "")
    finally:
        valkey.cancel()
        if ca is not None:  # refused before the CA was waited for
            ca.kill()
            ca.wait()


def _start_detached(config: Config, timeout: float, printed: str) -> int:
    (config.data_dir / "logs").mkdir(exist_ok=True)
    out_path = config.data_dir / "logs" / SERVER_OUT
    t0 = time.monotonic()
    cmd = [
        sys.executable, "-m", "cloudlet", "start",
        "--host", config.host, "--port", str(config.port), "--data-dir", str(config.data_dir),
        *([] if config.persist else ["--ephemeral"]),
    ]
    # Truncated: a failure shows this attempt's output, not an earlier run's.
    with open(out_path, "wb") as out:
        # Its own session: the server leads a process group its children join.
        proc = subprocess.Popen(
            cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=out, start_new_session=True, close_fds=True
        )
    # The server logs this too; the terminal of a detached start sees it here, once.
    from cloudlet.services.lambda_.sandbox import isolation_for

    isolation_warning = isolation_for(config).warning()
    if isolation_warning:
        print(isolation_warning, file=sys.stderr)
    deadline = t0 + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            output = out_path.read_text(errors="replace")
            for line in failure_lines(output, already_printed=printed):
                print(line, file=sys.stderr)
            print(f"cloudlet: failed to start (exit {proc.returncode}); its output: {out_path}", file=sys.stderr)
            return 1
        info = read_pid_file(config.data_dir)
        if info and info.get("pid") == proc.pid and fetch_health(config.endpoint_url, 0.5) is not None:
            print(f"cloudlet running at {config.endpoint_url} (pid {proc.pid}, healthy in "
                  f"{time.monotonic() - t0:.2f} s, data dir {config.data_dir})")
            return 0
        time.sleep(0.02)
    terminate_tree(proc.pid)
    raise CliError(f"did not answer on {config.endpoint_url} within {timeout:g} s, stopped it; "
                   f"its output: {out_path}, its log: {config.data_dir / 'logs' / 'cloudlet.log'}")


_LOG_LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+ (ERROR|CRITICAL) \S+ (.*)$")


def failure_lines(output: str, already_printed: str = "") -> list[str]:
    """What to show of a failed start's output: its `cloudlet:` lines and logged errors.

    Lines the parent has printed itself (the valkey warning) are not repeated; output
    with neither kind of line (a crash) is shown as its last 15 lines.
    """
    seen = set(already_printed.splitlines())
    lines = output.splitlines()
    picked: list[str] = []
    for i, line in enumerate(lines):
        m = _LOG_LINE.match(line)
        if m:
            picked.append(f"cloudlet: {m.group(2)}")
        elif line.startswith("cloudlet: ") and line not in seen:
            picked.append(line)
            # Indented continuation lines belong to it (a fix to run).
            picked += [c for c in lines[i + 1:i + 3] if c.startswith("  ") and c not in seen]
    return picked or lines[-15:]


def cmd_stop(args: argparse.Namespace) -> int:
    config = _config(args)
    info = running_server(config.data_dir)
    if info is None:
        print(f"cloudlet is not running{_no_data_dir(config)}")
        remove_pid_file(config.data_dir)
        return 0
    pid = int(str(info["pid"]))
    owner = owner_if_foreign(pid)
    if owner is not None:
        raise CliError(f"cannot stop cloudlet (pid {pid}): it runs as {owner}; only {owner} or root may stop it")
    terminate_tree(pid, timeout=args.timeout)
    remove_pid_file(config.data_dir)
    print(f"cloudlet stopped (pid {pid})")
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    from cloudlet.cli_status import status_report

    config = _config(args)
    info = running_server(config.data_dir)
    if info is None:
        print(f"cloudlet: not running{_no_data_dir(config)}")
        return 3
    endpoint = str(info["endpoint"])
    health = fetch_health(endpoint)
    print(f"cloudlet: running (pid {info['pid']})")
    print(f"endpoint: {endpoint}")
    if info.get("console"):
        print(f"console:  {info['console']} (sign-in secret: `cloudlet console`)")
    print(f"data dir: {config.data_dir}")
    if health is None:
        print("health: not answering")
        return 1
    for line in status_report(health):
        print(line)
    return 0


def cmd_env(args: argparse.Namespace) -> int:
    import shlex

    config = _config(args)
    # An explicit --port names another server than the one the pid file records.
    info = running_server(config.data_dir) if getattr(args, "port", None) is None else None
    endpoint = str(info["endpoint"]) if info else config.endpoint_url
    for name, value in (
        ("AWS_ENDPOINT_URL", endpoint),
        ("AWS_ACCESS_KEY_ID", config.access_key_id),
        ("AWS_SECRET_ACCESS_KEY", config.secret_access_key),
        ("AWS_DEFAULT_REGION", config.region),
    ):
        print(f"export {name}={shlex.quote(value)}")
    return 0


def cmd_hosts(args: argparse.Namespace) -> int:
    config = _config(args)
    path = config.data_dir / "hosts"
    try:
        sys.stdout.write(path.read_text())
    except (FileNotFoundError, NotADirectoryError):
        pass  # no cache has been created: nothing to map
    return 0


def cmd_ca(args: argparse.Namespace) -> int:
    from cloudlet.dataplane.tls import ca_cert_path

    config = _config(args)
    path = ca_cert_path(config.data_dir)
    if not path.is_file():
        raise CliError(f"no CA certificate at {path} yet{_no_data_dir(config)}: `cloudlet start` makes it")
    print(path)
    return 0


def cmd_console(args: argparse.Namespace) -> int:
    from cloudlet.console.secret import read_secret

    config = _config(args)
    info = running_server(config.data_dir)
    if info is None:
        raise CliError(f"cloudlet is not running{_no_data_dir(config)}: `cloudlet start` serves the console")
    url, secret = info.get("console"), read_secret(config.data_dir)
    if not url or secret is None:
        raise CliError("this cloudlet serves no console (CLOUDLET_CONSOLE_PORT=0, or its port was taken: "
                       "see the log)")
    print(f"console: {url}")
    print(f"secret:  {secret}")
    return 0


# ---------------------------------------------------------------------------
# Command line


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number") from None
    if not 0 < port < 65536:
        raise argparse.ArgumentTypeError(f"{port} is not a TCP port (1-65535)")
    return port


def _positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"{text} is not a positive number of seconds")
    return value


# What `cloudlet reset` removes: everything the API created. The CA (clients trust
# it) and the logs stay.
RESET_PATHS = ("state", "elasticache", "lambda", "hosts")


def cmd_reset(args: argparse.Namespace) -> int:
    import shutil

    config = _config(args)
    info = running_server(config.data_dir)
    if info is not None:
        print(f"cloudlet is running (pid {info['pid']}): stop it first (cloudlet stop)", file=sys.stderr)
        return 1
    present = [config.data_dir / n for n in RESET_PATHS if (config.data_dir / n).exists()]
    if not present:
        print(f"nothing to reset in {config.data_dir}")
        return 0
    if not args.yes:
        print(f"This deletes every resource cloudlet keeps in {config.data_dir}: IAM, STS sessions, EC2,")
        print("caches and their data, Lambda functions and code, log groups and events.")
        try:
            answer = input("Reset? [y/N] ")
        except EOFError:
            answer = ""
        if answer.strip().lower() not in ("y", "yes"):
            print("nothing deleted")
            return 1
    for path in present:
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink()
    print(f"reset {config.data_dir} (kept ca/ and logs/)")
    return 0


def _version() -> str:
    # botocore's own attribute, not importlib.metadata: built at every start, this stays cheap.
    try:
        import botocore

        version: str = botocore.__version__
    except ImportError:
        version = "missing"
    return f"cloudlet {cloudlet.__version__} (botocore {version}, Python {platform.python_version()})"


def build_parser() -> argparse.ArgumentParser:
    try:
        dflt = Config.from_env()
    except ConfigError:
        dflt = Config()  # the command itself reports the bad variable

    def env_default(var: str, value: object) -> str:
        if var in os.environ:
            return f"(default: {value}, from {var})"
        return f"(env {var}; default: {value})"

    p = argparse.ArgumentParser(
        prog="cloudlet",
        description="AWS ElastiCache Serverless (Valkey) with IAM auth, reached from Lambda, running for\n"
                    "real on this machine: one AWS API endpoint for IAM, STS, EC2, ElastiCache, Lambda, Logs.",
        epilog='first steps:\n  cloudlet start -d\n  eval "$(cloudlet env)"\n  aws sts get-caller-identity\n'
               "  cloudlet stop",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--version", action="version", version=_version())
    sub = p.add_subparsers(dest="command", metavar="COMMAND", title="commands")

    def command(name: str, summary: str, description: str) -> argparse.ArgumentParser:
        sp = sub.add_parser(name, help=summary, description=description)
        sp.add_argument("--data-dir", metavar="DIR",
                        help="state directory: pid file, logs, CA, caches' data "
                             + env_default("CLOUDLET_DATA_DIR", dflt.data_dir))
        return sp

    s = command("start", "run the server (in the foreground; -d to detach)",
                "Run cloudlet: the AWS API endpoint and what it starts (the caches' valkey-servers, Lambda "
                "environments). In the foreground until Ctrl-C, or with -d in the background, returning once it "
                "answers.")
    s.add_argument("--host", help="address the AWS API endpoint listens on " + env_default("CLOUDLET_HOST", dflt.host))
    s.add_argument("--port", type=_port,
                   help="port of the AWS API endpoint " + env_default("CLOUDLET_PORT", dflt.port))
    s.add_argument("-d", "--detach", action="store_true",
                   help="run in the background; print the endpoint once it answers")
    s.add_argument("--timeout", type=_positive, default=30.0, metavar="SECONDS",
                   help="with -d: how long to wait for it to answer before giving up (default: %(default)g)")
    s.add_argument("--ephemeral", action="store_true",
                   help="keep state in memory only, as if new (CLOUDLET_PERSIST=0)")
    s.add_argument("--exit-with-parent", action="store_true",
                   help="stop when the process that started this one dies, even by SIGKILL: for test "
                        "harnesses (CLOUDLET_EXIT_WITH_PARENT=1; foreground only)")
    s.set_defaults(func=cmd_start)

    s = command("stop", "stop the server and every process it started",
                "Stop the cloudlet of this data dir and every process it started (valkey-servers, Lambda "
                "environments): SIGTERM, then SIGKILL for what is left after --timeout.")
    s.add_argument("--timeout", type=_positive, default=15.0, metavar="SECONDS",
                   help="how long to wait after SIGTERM before killing what is left (default: %(default)g)")
    s.set_defaults(func=cmd_stop)

    s = command("status", "is it running; endpoint, services, caches",
                "Say whether cloudlet runs for this data dir, and its endpoint, services and caches. "
                "Exit status: 0 running, 1 running but not answering, 3 not running.")
    s.set_defaults(func=cmd_status)

    s = command("env", "print export lines for AWS clients",
                'Print export lines for AWS clients (AWS_ENDPOINT_URL, the root access key, AWS_DEFAULT_REGION): '
                'eval "$(cloudlet env)".')
    s.add_argument("--port", type=_port,
                   help="point clients at this port instead of the running server's "
                        f"(env CLOUDLET_PORT; default: the running server's, else {dflt.port})")
    s.set_defaults(func=cmd_env)

    s = command("hosts", "print /etc/hosts lines for the caches' endpoints",
                "Print /etc/hosts lines mapping the caches' endpoint names to their loopback addresses "
                "(nothing before the first cache).")
    s.set_defaults(func=cmd_hosts)

    s = command("ca", "print the path of the CA certificate cache clients trust",
                "Print the path of the CA certificate that signs the caches' TLS endpoints "
                "(made by `cloudlet start`); cache clients trust it to verify the endpoint.")
    s.set_defaults(func=cmd_ca)

    s = command("console", "print the browser console's address and sign-in secret",
                "Print the address of the console the running cloudlet serves in the browser (127.0.0.1, "
                "CLOUDLET_CONSOLE_PORT) and the secret to sign in with (or sign in with an access key).")
    s.set_defaults(func=cmd_console)

    s = command("reset", "delete everything the API created in the data dir (asks first)",
                "Delete every resource cloudlet keeps in the data dir (IAM, STS sessions, EC2, caches and "
                "their data, Lambda functions, log groups); the CA and cloudlet's own logs stay. cloudlet "
                "must be stopped.")
    s.add_argument("--yes", action="store_true", help="do not ask")
    s.set_defaults(func=cmd_reset)
    return p


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help(sys.stderr)
        return 2
    try:
        rc: int = args.func(args)
        return rc
    except CliError as e:
        print(f"cloudlet: {e}", file=sys.stderr)
        return e.code
    except BrokenPipeError:
        # The reader left (`cloudlet status | head -3`): nothing to say; keep the exit flush quiet.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141  # as a program killed by SIGPIPE
    except OSError as e:
        if getattr(args, "serving", False):
            raise
        where = f"{e.filename}: " if e.filename else ""
        print(f"cloudlet: {where}{e.strerror or e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
