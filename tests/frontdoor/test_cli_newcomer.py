"""The `cloudlet` command as a newcomer meets it (issue 20), through the real CLI.

Error cases end in one `cloudlet: ...` line naming the path or address, the reason
and the fix, with a non-zero exit: never a traceback, never an earlier run's log.
Cases about an ordinary user run as one: a user made with `useradd -m` for the test
(removed after it) when the suite runs as root, else the suite's own user.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SRC = REPO / "src"
TRACEBACK = "Traceback (most recent call last)"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "CLOUDLET_"))}
    env["PYTHONPATH"] = str(SRC)
    env.update(extra)
    return env


def cloudlet(*args: str, env: dict[str, str] | None = None, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "cloudlet", *args], check=False, env=env or clean_env(),
                          capture_output=True, text=True, timeout=timeout)


def one_error_line(r: subprocess.CompletedProcess[str]) -> str:
    """The failure's single stderr line (asserting there is exactly one, and no traceback)."""
    assert r.returncode != 0, r.stdout
    assert TRACEBACK not in r.stderr, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    assert lines[0].startswith("cloudlet: "), lines[0]
    return lines[0]


# ---------------------------------------------------------------------------
# An ordinary user


class Unprivileged:
    """Runs `python -m cloudlet` as a user without root."""

    def __init__(self, name: str | None, home: Path) -> None:
        self.name = name  # None: the suite's own (non-root) user
        self.home = home

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        if self.name is None:
            return cloudlet(*args)
        # The suite's venv may live where the user cannot read (root's pyenv): the system
        # python3 of the same minor version runs the same packages, read from the venv.
        site = REPO / ".venv" / "lib" / f"python{sys.version_info[0]}.{sys.version_info[1]}" / "site-packages"
        env = ["env", "-i", f"HOME={self.home}", "PATH=/usr/local/bin:/usr/bin:/bin", f"PYTHONPATH={SRC}:{site}"]
        cmd = ["runuser", "-u", self.name, "--", *env, "/usr/bin/python3", "-m", "cloudlet", *args]
        return subprocess.run(cmd, check=False, capture_output=True, text=True, timeout=60, cwd="/")


def _system_python_matches() -> bool:
    try:
        out = subprocess.run(["/usr/bin/python3", "-c", "import sys; print(sys.version_info[:2])"],
                             capture_output=True, text=True, timeout=30, check=False).stdout
    except OSError:
        return False
    return out.strip() == str(tuple(sys.version_info[:2]))


@pytest.fixture
def unprivileged() -> Iterator[Unprivileged]:
    if os.geteuid() != 0:
        yield Unprivileged(None, Path.home())
        return
    if not shutil.which("useradd") or not shutil.which("runuser"):
        pytest.skip("useradd/runuser missing")
    if not _system_python_matches() or not (REPO / ".venv").is_dir():
        pytest.skip("no /usr/bin/python3 of the suite's version to run the venv's packages as another user")
    name = "cltest" + secrets.token_hex(4)
    subprocess.run(["useradd", "-m", "-s", "/bin/bash", name], check=True, capture_output=True)
    try:
        yield Unprivileged(name, Path("/home") / name)
    finally:
        subprocess.run(["userdel", "-r", name], check=False, capture_output=True)
    assert subprocess.run(["id", name], capture_output=True, check=False).returncode != 0, f"user {name} left behind"


@pytest.fixture
def unwritable_dir(tmp_path: Path, unprivileged: Unprivileged) -> Iterator[Path]:
    """A directory the unprivileged user may enter but not write to."""
    d = tmp_path / "readonly"
    d.mkdir()
    d.chmod(0o555)
    opened = reach(d.parent) if unprivileged.name is not None else {}
    try:
        yield d
    finally:
        d.chmod(0o755)
        for path, mode in opened.items():
            path.chmod(mode)


def reach(path: Path) -> dict[Path, int]:
    """Let other users traverse down to path (root's tmp_path is private); the old modes, to restore."""
    old: dict[Path, int] = {}
    for p in [path, *path.parents]:
        mode = p.stat().st_mode & 0o7777
        if mode & 0o001 == 0:
            old[p] = mode
            p.chmod(mode | 0o001)
    return old


def test_data_dir_the_user_cannot_create(unprivileged: Unprivileged, unwritable_dir: Path) -> None:
    # As the issue found it: --data-dir /root/x as a user; and a subdirectory of a read-only dir.
    targets = [unwritable_dir / "x"]
    if unprivileged.name is not None:
        targets.insert(0, Path("/root/x"))
    for target in targets:
        line = one_error_line(unprivileged.run("start", "-d", "--data-dir", str(target)))
        assert f"data dir {target}" in line and "Permission denied" in line and "--data-dir" in line, line
        assert not target.exists()


def test_data_dir_the_user_cannot_write(unprivileged: Unprivileged, unwritable_dir: Path) -> None:
    line = one_error_line(unprivileged.run("start", "-d", "--data-dir", str(unwritable_dir)))
    assert f"cannot write to data dir {unwritable_dir}: Permission denied" in line, line
    assert list(unwritable_dir.iterdir()) == []
    # The foreground start says the same, before anything starts.
    line = one_error_line(unprivileged.run("start", "--data-dir", str(unwritable_dir)))
    assert f"cannot write to data dir {unwritable_dir}" in line


def test_other_commands_on_an_unreadable_data_dir(unprivileged: Unprivileged, tmp_path: Path) -> None:
    if unprivileged.name is None:
        private = tmp_path / "private"
        (private / "data").mkdir(parents=True)
        private.chmod(0)
        target = private / "data"
    else:
        target = Path("/root/x")
    try:
        for command in ("status", "stop", "env", "hosts", "ca"):
            r = unprivileged.run(command, "--data-dir", str(target))
            line = one_error_line(r)
            assert str(target) in line and "Permission denied" in line, (command, line)
    finally:
        if unprivileged.name is None:
            private.chmod(0o755)


def test_stopping_another_users_cloudlet_says_so(unprivileged: Unprivileged, tmp_path: Path) -> None:
    if unprivileged.name is None:
        pytest.skip("needs root to run a cloudlet as one user and stop it as another")
    data = tmp_path / "data"
    r = cloudlet("start", "-d", "--port", str(free_port()), "--data-dir", str(data))
    assert r.returncode == 0, r.stderr
    opened = reach(data)
    try:
        pid = int(json.loads((data / "cloudlet.pid").read_text())["pid"])
        t0 = time.monotonic()
        line = one_error_line(unprivileged.run("stop", "--data-dir", str(data)))
        assert f"cannot stop cloudlet (pid {pid}): it runs as root" in line, line
        assert time.monotonic() - t0 < 10
        assert cloudlet("status", "--data-dir", str(data)).returncode == 0  # still running
    finally:
        for path, mode in opened.items():
            path.chmod(mode)
        stop = cloudlet("stop", "--data-dir", str(data))
    assert stop.returncode == 0 and "stopped" in stop.stdout


def test_privileged_port_as_a_user(unprivileged: Unprivileged) -> None:
    from cloudlet.cli_checks import unprivileged_port_start

    lowest = unprivileged_port_start()
    if lowest <= 1:
        pytest.skip("this machine lets every user listen on every port")
    port = 80 if lowest > 80 else lowest - 1
    data = unprivileged.home / "cloudlet-port-test"
    line = one_error_line(unprivileged.run("start", "-d", "--port", str(port), "--data-dir", str(data)))
    assert f"127.0.0.1:{port}" in line and "need root" in line and "--port" in line, line
    assert unprivileged.run("status", "--data-dir", str(data)).returncode == 3


# ---------------------------------------------------------------------------
# Any user (root too)


def test_data_dir_that_is_a_file(tmp_path: Path) -> None:
    afile = tmp_path / "afile"
    afile.write_text("not a directory")
    line = one_error_line(cloudlet("start", "-d", "--data-dir", str(afile)))
    assert f"data dir {afile}: it exists and is not a directory" in line
    line = one_error_line(cloudlet("start", "-d", "--data-dir", str(afile / "sub")))
    assert f"data dir {afile / 'sub'}: Not a directory" in line


def test_busy_port_shows_this_attempts_error_only(tmp_path: Path) -> None:
    data = tmp_path / "data"
    (data / "logs").mkdir(parents=True)
    # What an earlier run left in the detached server's output.
    (data / "logs" / "server.out").write_text("2026-01-01 00:00:00,000 ERROR cloudlet.server OLD RUN\n" * 50)
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        line = one_error_line(cloudlet("start", "-d", "--port", str(port), "--data-dir", str(data)))
        assert f"127.0.0.1:{port}: the port is in use by pid {os.getpid()}" in line, line
        assert "--port" in line and "OLD RUN" not in line
        # The same in the foreground.
        line = one_error_line(cloudlet("start", "--port", str(port), "--data-dir", str(data)))
        assert "the port is in use" in line


def test_a_server_that_dies_at_start_shows_its_own_error_only(tmp_path: Path) -> None:
    data = tmp_path / "data"
    (data / "logs").mkdir(parents=True)
    (data / "logs" / "server.out").write_text("OLD RUN output\n" * 50)
    (data / "logs" / "cloudlet.log").mkdir()  # the server cannot open its log file
    r = cloudlet("start", "-d", "--port", str(free_port()), "--data-dir", str(data))
    assert r.returncode == 1
    assert "OLD RUN" not in r.stderr
    assert "IsADirectoryError" in r.stderr and "cloudlet.log" in r.stderr, r.stderr
    assert r.stderr.strip().splitlines()[-1].startswith("cloudlet: failed to start (exit 1); its output: ")
    assert cloudlet("status", "--data-dir", str(data)).returncode == 3


def test_bad_settings_name_the_variable(tmp_path: Path) -> None:
    r = cloudlet("status", "--data-dir", str(tmp_path), env=clean_env(CLOUDLET_PORT="http"))
    assert one_error_line(r) == "cloudlet: CLOUDLET_PORT='http' is not an integer"
    r = cloudlet("start", "-d", "--data-dir", str(tmp_path), env=clean_env(CLOUDLET_PORT="70000"))
    assert "CLOUDLET_PORT=70000 is not a TCP port (1-65535)" in one_error_line(r)
    r = cloudlet("start", "-d", "--data-dir", str(tmp_path), env=clean_env(CLOUDLET_LAMBDA_IDLE_S="5m"))
    assert "CLOUDLET_LAMBDA_IDLE_S='5m' is not a number" in one_error_line(r)
    r = cloudlet("start", "--port", "70000", "--data-dir", str(tmp_path))
    assert r.returncode == 2 and "70000 is not a TCP port" in r.stderr and TRACEBACK not in r.stderr


def test_output_into_a_closed_pipe_is_quiet(tmp_path: Path) -> None:
    # As `cloudlet env | head -c 0`, deterministically: the reading end is closed before any write.
    for args in (["env"], ["status"]):
        r_fd, w_fd = os.pipe()
        os.close(r_fd)
        try:
            proc = subprocess.run([sys.executable, "-m", "cloudlet", *args, "--data-dir", str(tmp_path)],
                                  env=clean_env(), stdout=w_fd, stderr=subprocess.PIPE, text=True, timeout=60,
                                  check=False)
        finally:
            os.close(w_fd)
        assert proc.stderr == "", (args, proc.stderr)
        assert proc.returncode == 141, args


def test_version_and_bare_command() -> None:
    import cloudlet as pkg

    r = cloudlet("--version")
    assert r.returncode == 0
    assert re.fullmatch(rf"cloudlet {re.escape(pkg.__version__)} \(botocore [0-9.]+, Python [0-9.]+\)\n", r.stdout)
    bare = cloudlet()
    assert bare.returncode == 2
    # The whole help, not an argparse error.
    assert "error:" not in bare.stderr
    for name in ("start", "stop", "status", "env", "hosts", "ca"):
        assert re.search(rf"^    {name} +\S", bare.stderr, re.MULTILINE), bare.stderr
    assert 'eval "$(cloudlet env)"' in bare.stderr


def test_every_option_is_described_with_its_default() -> None:
    from cloudlet.cli import build_parser

    parser = build_parser()
    subparsers = next(a for a in parser._actions if a.dest == "command")
    for name, sp in subparsers.choices.items():  # type: ignore[attr-defined]
        assert sp.description, f"{name} has no description"
        for action in sp._actions:
            assert action.help, f"{name} {action.option_strings} has no help"
            takes_value = action.nargs != 0 and action.option_strings != ["-h", "--help"]
            if takes_value:
                assert "default:" in action.help, f"{name} {action.option_strings} shows no default"
    # And as printed by the real command.
    r = cloudlet("start", "--help", env=clean_env(CLOUDLET_PORT="4599"))
    text = " ".join(r.stdout.split())
    assert r.returncode == 0
    assert "port of the AWS API endpoint (default: 4599, from CLOUDLET_PORT)" in text
    assert "address the AWS API endpoint listens on (env CLOUDLET_HOST; default: 127.0.0.1)" in text
    assert "(default: 30)" in text
    assert "Run cloudlet: the AWS API endpoint" in text


def test_status_and_stop_name_a_missing_data_dir(tmp_path: Path) -> None:
    missing = tmp_path / "nonexistent"
    r = cloudlet("status", "--data-dir", str(missing))
    assert r.returncode == 3
    assert r.stdout == f"cloudlet: not running (data dir {missing} does not exist)\n"
    r = cloudlet("stop", "--data-dir", str(missing))
    assert r.returncode == 0 and f"data dir {missing} does not exist" in r.stdout
    assert not missing.exists()
    r = cloudlet("ca", "--data-dir", str(missing))
    assert "`cloudlet start` makes it" in one_error_line(r)


def _wait_cache(ec, name: str) -> dict:  # type: ignore[no-untyped-def, type-arg]
    deadline = time.monotonic() + 60
    while True:
        cache = ec.describe_serverless_caches(ServerlessCacheName=name)["ServerlessCaches"][0]
        if cache["Status"] != "creating" or time.monotonic() > deadline:
            return cache  # type: ignore[no-any-return]
        time.sleep(0.2)


def test_ca_from_the_start_and_status_table(tmp_path: Path) -> None:
    import boto3
    from cryptography import x509

    data = tmp_path / "data"
    port = free_port()
    r = cloudlet("start", "-d", "--port", str(port), "--data-dir", str(data))
    assert r.returncode == 0, r.stderr
    try:
        # Before any cache exists, `cloudlet ca` names a real CA certificate.
        ca = cloudlet("ca", "--data-dir", str(data))
        assert ca.returncode == 0, ca.stderr
        cert = x509.load_pem_x509_certificate(Path(ca.stdout.strip()).read_bytes())
        assert cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca

        st = cloudlet("status", "--data-dir", str(data))
        assert st.returncode == 0 and "caches: none" in st.stdout, st.stdout
        ec = boto3.client("elasticache", endpoint_url=f"http://127.0.0.1:{port}", region_name="us-east-1",
                          aws_access_key_id="AKIAIOSFODNN7EXAMPLE",
                          aws_secret_access_key="wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
        ec.create_serverless_cache(ServerlessCacheName="status-table", Engine="valkey")
        cache = _wait_cache(ec, "status-table")
        st = cloudlet("status", "--data-dir", str(data))
        lines = st.stdout.splitlines()
        assert "caches (1):" in lines, st.stdout
        header = lines[lines.index("caches (1):") + 1].split()
        assert header[:6] == ["NAME", "STATUS", "ENDPOINT", "ADDRESS", "ACCOUNT", "REGION"], st.stdout
        row = lines[lines.index("caches (1):") + 2].split()
        assert row[:6] == ["status-table", cache["Status"], cache["Endpoint"]["Address"],
                           row[3], "123456789012", "us-east-1"], st.stdout
        # The CA that signs the cache's endpoint is the one `cloudlet ca` named before it existed.
        assert Path(ca.stdout.strip()).read_bytes() == (data / "ca" / "ca.pem").read_bytes()
    finally:
        stop = cloudlet("stop", "--data-dir", str(data))
    assert stop.returncode == 0, stop.stderr


def test_runtime_build_prints_readable_lines() -> None:
    from cloudlet.config import Config

    venv = Config.from_env().runtimes_dir / "python3.11"
    if not (venv / ".cloudlet-runtime-ready").exists():
        pytest.skip("runtimes not built here (make install builds them)")
    r = subprocess.run([sys.executable, "-m", "cloudlet.services.lambda_.runtimes", "python3.11"],
                       env={**os.environ, "PYTHONPATH": str(SRC)}, capture_output=True, text=True, timeout=120, check=False)
    assert r.returncode == 0, r.stderr
    assert re.fullmatch(r"    python3\.11: ready \(Python 3\.11, \S+/python\)\n", r.stdout), r.stdout
    assert "INFO:" not in r.stdout + r.stderr


README_BLOCK = re.compile(r"Use it with your own tools[^\n]*\n\s*```sh\n(.*?)```", re.DOTALL)


def test_readme_commands_work_without_aws_on_path(tmp_path: Path) -> None:
    """The README's own-tools block, verbatim, in a shell whose PATH has no `aws` (as a new user's)."""
    if not (REPO / ".venv" / "bin" / "aws").exists():
        pytest.skip("no .venv made by make install in this checkout")
    m = README_BLOCK.search((REPO / "README.md").read_text())
    assert m, "README has no 'Use it with your own tools' block"
    block = m.group(1)
    system_path = "/usr/local/bin:/usr/bin:/bin"
    assert subprocess.run(["bash", "-c", "command -v aws"], env={"PATH": system_path},
                          capture_output=True, check=False).returncode != 0, "aws on the system PATH: test is moot"
    data = tmp_path / "data"
    env = {"HOME": str(tmp_path), "PATH": system_path, "CLOUDLET_PORT": str(free_port()),
           "CLOUDLET_DATA_DIR": str(data), "LANG": "C.UTF-8"}
    try:
        r = subprocess.run(["bash", "-euo", "pipefail", "-c", block], check=False, cwd=REPO, env=env,
                           capture_output=True, text=True, timeout=120)
    finally:
        cloudlet("stop", "--data-dir", str(data))
    assert r.returncode == 0, r.stdout + r.stderr
    assert '"Arn": "arn:aws:iam::123456789012:root"' in r.stdout, r.stdout
    assert "cloudlet stopped" in r.stdout

