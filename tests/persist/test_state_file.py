"""The state file itself: older formats read, unreadable files refused without loss,
bad rows reported and kept, --ephemeral / CLOUDLET_PERSIST=0, `cloudlet reset`."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import stat
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest
from acceptance.test_tutorial_boto3 import _client
from cloudlet_process import SRC, CloudletProcess

from cloudlet.cli import _config, build_parser
from cloudlet.core.persist import FORMAT_VERSION, state_path

FIXTURE_V1 = Path(__file__).parent / "fixtures" / "format-v1"
TRUST = json.dumps({
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}],
})


def _cli(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cloudlet", *args], input=stdin, capture_output=True, text=True, timeout=60, check=False,
        env={"PYTHONPATH": str(SRC), "PATH": "/usr/bin:/bin"},
    )


def _fixture_data_dir(tmp_path: Path) -> Path:
    """The format-1 fixture as a data dir: its code packages, and its SQL dump as the state file."""
    data = tmp_path / "data"
    shutil.copytree(FIXTURE_V1, data, ignore=shutil.ignore_patterns("state.sql", "README*"))
    db = state_path(data)
    db.parent.mkdir(parents=True)
    with sqlite3.connect(db) as c:
        c.executescript((FIXTURE_V1 / "state.sql").read_text())
    return data


def test_a_format_1_data_dir_is_read(tmp_path: Path, cloudlets: Any) -> None:
    assert FORMAT_VERSION >= 1
    server = cloudlets(_fixture_data_dir(tmp_path))
    try:
        iam, ec2, ec, lam, logs = (_client(server, s) for s in ("iam", "ec2", "elasticache", "lambda", "logs"))
        attached = iam.list_attached_role_policies(RoleName="fixture-role")["AttachedPolicies"]
        assert [p["PolicyName"] for p in attached] == ["fixture-policy"]
        # The user's key, written in format 1, signs requests.
        me = _client(server, "sts", key="AKIAIACG77DYZUPAUETP",
                     secret="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").get_caller_identity()
        assert me["Arn"] == "arn:aws:iam::123456789012:user/fixture-user"
        groups = ec2.describe_security_groups(Filters=[{"Name": "group-name", "Values": ["fixture-sg"]}])
        assert len(groups["SecurityGroups"]) == 1
        ug = ec.describe_user_groups(UserGroupId="fixture-group")["UserGroups"][0]
        assert sorted(ug["UserIds"]) == ["default", "fixture-user"]
        events = logs.get_log_events(logGroupName="fixture-group", logStreamName="s", startFromHead=True)["events"]
        assert [e["message"] for e in events] == ["hello", "world"]
        assert lam.get_alias(FunctionName="fixture-fn", Name="live")["FunctionVersion"] == "1"
        assert lam.get_function_configuration(FunctionName="fixture-fn")["State"] == "Active"
        out = lam.invoke(FunctionName="fixture-fn", Qualifier="live", Payload=b'{"a": 1}')
        assert json.loads(out["Payload"].read()) == {"echo": {"a": 1}}
    finally:
        server.stop()


def test_an_unreadable_state_file_stops_start_and_is_left_as_it_was(tmp_path: Path) -> None:
    data = tmp_path / "data"
    db = state_path(data)
    db.parent.mkdir(parents=True)
    garbage = b"this is not a database" * 100
    db.write_bytes(garbage)
    with pytest.raises(RuntimeError) as info:
        CloudletProcess(data, timeout=20)
    assert "cannot read the state" in str(info.value) and str(db) in str(info.value)
    assert db.read_bytes() == garbage


def test_a_state_file_of_a_newer_format_is_refused(tmp_path: Path, cloudlets: Any) -> None:
    data = tmp_path / "data"
    server = cloudlets(data)
    _client(server, "iam").create_role(RoleName="r", AssumeRolePolicyDocument=TRUST)  # the file's first write
    server.stop()
    with sqlite3.connect(state_path(data)) as c:
        c.execute("UPDATE meta SET v=? WHERE k='format_version'", (str(FORMAT_VERSION + 1),))
    with pytest.raises(RuntimeError) as info:
        CloudletProcess(data, timeout=20)
    assert "written by a newer cloudlet" in str(info.value)


def test_a_bad_row_is_reported_kept_and_the_rest_loads(tmp_path: Path, cloudlets: Any) -> None:
    server = cloudlets(tmp_path / "data")
    iam = _client(server, "iam")
    for name in ("good", "broken"):
        iam.create_role(RoleName=name, AssumeRolePolicyDocument=TRUST)
    server.stop()
    with sqlite3.connect(state_path(server.data_dir)) as c:
        c.execute("UPDATE records SET data='{not json' WHERE kind='roles' AND key='broken'")
    server = cloudlets(server.data_dir)
    try:
        iam = _client(server, "iam")
        assert iam.get_role(RoleName="good")["Role"]["RoleName"] == "good"
        lines = server.health()["status_lines"]
        assert any("1 unreadable" in line for line in lines), lines
        assert any("'broken'" in line for line in lines), lines
        iam.create_role(RoleName="third", AssumeRolePolicyDocument=TRUST)
    finally:
        server.stop()
    with sqlite3.connect(state_path(server.data_dir)) as c:
        row = c.execute("SELECT data FROM records WHERE kind='roles' AND key='broken'").fetchone()
    assert row == ("{not json",), "a row that could not be read stays in the file"


def test_persist_0_keeps_nothing(tmp_path: Path, cloudlets: Any) -> None:
    data = tmp_path / "data"
    server = cloudlets(data, CLOUDLET_PERSIST="0")
    _client(server, "iam").create_role(RoleName="gone", AssumeRolePolicyDocument=TRUST)
    server.stop()
    assert not state_path(data).exists()
    server = cloudlets(data, CLOUDLET_PERSIST="0")
    try:
        assert _client(server, "iam").list_roles()["Roles"] == []
    finally:
        server.stop()


def test_ephemeral_flag() -> None:
    args = build_parser().parse_args(["start", "--ephemeral"])
    assert _config(args).persist is False
    assert _config(build_parser().parse_args(["start"])).persist is True


def test_reset_asks_then_empties(tmp_path: Path, cloudlets: Any) -> None:
    data = tmp_path / "data"
    server = cloudlets(data)
    _client(server, "iam").create_role(RoleName="kept", AssumeRolePolicyDocument=TRUST)
    server.stop()
    no = _cli("reset", "--data-dir", str(data), stdin="n\n")
    assert no.returncode == 1 and "nothing deleted" in no.stdout
    assert state_path(data).exists()
    yes = _cli("reset", "--data-dir", str(data), "--yes")
    assert yes.returncode == 0, yes.stderr
    assert not state_path(data).exists() and (data / "logs").is_dir()
    server = cloudlets(data)
    try:
        assert _client(server, "iam").list_roles()["Roles"] == []
    finally:
        server.stop()


def test_reset_refuses_while_running(tmp_path: Path, cloudlets: Any) -> None:
    server = cloudlets(tmp_path / "data")
    try:
        _client(server, "iam").create_role(RoleName="kept", AssumeRolePolicyDocument=TRUST)
        out = _cli("reset", "--data-dir", str(server.data_dir), "--yes")
        assert out.returncode == 1 and "stop it first" in out.stderr
        assert state_path(server.data_dir).exists()
    finally:
        server.stop()


SETPRIV = shutil.which("setpriv")


@pytest.mark.skipif(os.geteuid() != 0 or SETPRIV is None, reason="reading as another user needs root and setpriv")
def test_another_user_cannot_read_the_secrets_in_the_state_file(tmp_path: Path, cloudlets: Any) -> None:
    # A data dir other users may traverse (as ~/.cloudlet under a 0755 home is).
    shared = Path(tempfile.mkdtemp(prefix="cloudlet-state-"))
    try:
        shared.chmod(0o755)
        server = cloudlets(shared / "data")
        try:
            iam = _client(server, "iam")
            iam.create_user(UserName="victim")
            secret = iam.create_access_key(UserName="victim")["AccessKey"]["SecretAccessKey"]
        finally:
            server.stop()
        (shared / "data").chmod(0o755)
        db = state_path(shared / "data")
        assert secret.encode() in db.read_bytes()  # what the attack is after (checkpointed at stop)
        # The attack: another local user reads the file for the key.
        attempt = subprocess.run(
            [SETPRIV, "--reuid", "65534", "--regid", "65534", "--clear-groups", "cat", str(db)],
            capture_output=True, timeout=30, check=False,
        )
        assert attempt.returncode != 0 and secret.encode() not in attempt.stdout
        assert stat.S_IMODE(db.parent.stat().st_mode) == 0o700
    finally:
        shutil.rmtree(shared, ignore_errors=True)


def test_events_past_retention_leave_the_file_at_start(tmp_path: Path, cloudlets: Any) -> None:
    import time

    server = cloudlets(tmp_path / "data")
    logs = _client(server, "logs")
    logs.create_log_group(logGroupName="g")
    logs.create_log_stream(logGroupName="g", logStreamName="s")
    now = int(time.time() * 1000)
    for ts, message in ((now - 3 * 86_400_000, "old"), (now, "new")):  # a batch spans at most 24 h
        logs.put_log_events(logGroupName="g", logStreamName="s", logEvents=[{"timestamp": ts, "message": message}])
    logs.put_retention_policy(logGroupName="g", retentionInDays=1)
    server.stop()
    server = cloudlets(server.data_dir)
    try:
        got = _client(server, "logs").get_log_events(logGroupName="g", logStreamName="s", startFromHead=True)
        assert [e["message"] for e in got["events"]] == ["new"]
    finally:
        server.stop()
    with sqlite3.connect(state_path(server.data_dir)) as c:
        assert c.execute("SELECT message FROM events").fetchall() == [("new",)]
