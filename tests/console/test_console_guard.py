"""Who the console refuses, tested by the attacks: requests without sign-in, a page whose DNS
name was rebound to 127.0.0.1 (foreign Host), cross-site requests (foreign Origin, no CSRF
token), and a signed-in IAM user doing what its policies do not allow."""

from __future__ import annotations

import json
import os
import socket
import stat
import subprocess
import sys
from typing import Any

import psutil
import pytest
from cloudlet_process import SRC, CloudletProcess, free_port

from .console_http import ConsoleHttp, console_secret


@pytest.fixture
def console(cloudlet_server: CloudletProcess) -> ConsoleHttp:
    return ConsoleHttp(cloudlet_server)


@pytest.fixture
def root_console(cloudlet_server: CloudletProcess) -> ConsoleHttp:
    c = ConsoleHttp(cloudlet_server)
    assert c.sign_in(secret=console_secret(cloudlet_server)).status == 200
    return c


def test_nothing_is_served_without_sign_in(console: ConsoleHttp) -> None:
    page = console.request("GET", "/")
    assert page.status == 200 and "cloudlet console" in page.body["_text"]  # the sign-in page, no data
    for answer in (console.call("iam", "ListRoles"), console.request("GET", "/api/session")):
        assert (answer.status, answer.code) == (401, "SignInRequired")
    wrong = console.sign_in(secret="not-the-secret")
    assert (wrong.status, wrong.code) == (401, "SignInFailed")
    assert "Set-Cookie" not in wrong.headers
    assert console.call("iam", "ListRoles").status == 401
    # A made-up session cookie is no session.
    console.cookie = "cloudlet_console=" + "A" * 43
    assert console.call("iam", "ListRoles").status == 401


def test_secret_sign_in_is_the_root_principal_with_a_strict_http_only_cookie(console: ConsoleHttp) -> None:
    a = console.sign_in(secret=console_secret(console.server))
    assert a.status == 200
    assert a.body["principal"] == "arn:aws:iam::123456789012:root"
    cookie = a.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/" in cookie
    roles = console.call("iam", "ListRoles")
    assert roles.status == 200 and "Roles" in roles.body
    assert console.request("POST", "/api/signout", {}).status == 200
    assert console.call("iam", "ListRoles").status == 401


def test_the_session_cookie_alone_gets_no_csrf_token(root_console: ConsoleHttp) -> None:
    # Browsers send 127.0.0.1 cookies to every port, so other local listeners can see the cookie.
    thief = ConsoleHttp(root_console.server, cookie=root_console.cookie)
    session = thief.request("GET", "/api/session")
    assert session.status == 200 and "csrf" not in session.body
    for token in ("", "guess"):
        answer = thief.call("iam", "ListRoles", headers={"X-Console-Csrf": token})
        assert (answer.status, answer.code) == (403, "BadCsrfToken")
    assert root_console.call("iam", "ListRoles").status == 200  # the page's own token still works


def test_a_rebound_dns_name_is_refused(root_console: ConsoleHttp) -> None:
    # A page at http://attacker.example:PORT whose name now resolves to 127.0.0.1: the browser
    # sends its own Host (and, being same-origin to itself, the page could read the answers).
    rebound = {"Host": f"attacker.example:{root_console.server.console_port}",
               "Origin": f"http://attacker.example:{root_console.server.console_port}"}
    for answer in (root_console.request("GET", "/", headers=rebound),
                   root_console.request("GET", "/api/session", headers=rebound),
                   root_console.call("iam", "ListRoles", headers=rebound),
                   root_console.request("POST", "/api/signin", {"secret": console_secret(root_console.server)},
                                        headers=rebound)):
        assert (answer.status, answer.code) == (421, "ForeignHost")
        assert "Roles" not in answer.body and "csrf" not in answer.body
    # The console's port on another loopback name is refused too.
    assert root_console.call("iam", "ListRoles", headers={"Host": f"127.0.0.2:{root_console.server.console_port}"}).status == 421


def test_cross_site_requests_are_refused(root_console: ConsoleHttp) -> None:
    port = root_console.server.console_port
    for headers in ({"Origin": "http://evil.example"},
                    {"Origin": f"http://127.0.0.1:{free_port()}"},  # same site, other origin
                    {"Origin": None},
                    {"Origin": "null"},
                    {"Sec-Fetch-Site": "cross-site"},
                    {"Sec-Fetch-Site": "same-site"}):
        answer = root_console.call("lambda", "DeleteFunction", {"FunctionName": "victim"}, headers=headers)
        assert (answer.status, answer.code) == (403, "ForeignOrigin"), headers
    # Signing a victim's browser in to the attacker's account is refused the same way.
    login = root_console.request("POST", "/api/signin", {"secret": "x"}, headers={"Origin": "http://evil.example"})
    assert (login.status, login.code) == (403, "ForeignOrigin")
    # The right origin but no CSRF token (or another one): refused.
    for token in ("", "wrong-token"):
        answer = root_console.call("iam", "ListRoles", headers={"X-Console-Csrf": token})
        assert (answer.status, answer.code) == (403, "BadCsrfToken")
    # localhost is the same console.
    ok = root_console.call("iam", "ListRoles", headers={"Host": f"localhost:{port}", "Origin": f"http://localhost:{port}"})
    assert ok.status == 200


def test_an_access_key_sign_in_can_do_only_what_its_policies_allow(
    cloudlet_server: CloudletProcess, boto3_client: Any
) -> None:
    iam = boto3_client("iam")
    iam.create_user(UserName="console-reader")
    iam.put_user_policy(UserName="console-reader", PolicyName="list-functions", PolicyDocument=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": ["lambda:ListFunctions", "lambda:GetFunction"], "Resource": "*"}],
    }))
    key = iam.create_access_key(UserName="console-reader")["AccessKey"]
    c = ConsoleHttp(cloudlet_server)
    bad = c.sign_in(accessKeyId=key["AccessKeyId"], secretAccessKey="wrong" + key["SecretAccessKey"][5:])
    assert (bad.status, bad.code) == (401, "SignInFailed")
    ok = c.sign_in(accessKeyId=key["AccessKeyId"], secretAccessKey=key["SecretAccessKey"])
    assert ok.status == 200 and ok.body["principal"].endswith(":user/console-reader")
    assert c.call("lambda", "ListFunctions").status == 200
    # The same refusals as the API gives this user.
    denied = c.call("lambda", "Invoke", {"FunctionName": "anything", "Payload": ""})
    assert (denied.status, denied.code) == (403, "AccessDeniedException")
    assert "console-reader" in denied.body["Error"]["Message"]
    lam = boto3_client("lambda", aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"])
    with pytest.raises(lam.exceptions.ClientError) as api_refusal:
        lam.invoke(FunctionName="anything")
    assert api_refusal.value.response["Error"]["Code"] == denied.code
    roles = c.call("iam", "ListRoles")
    assert (roles.status, roles.code) == (403, "AccessDenied")
    # A key made inactive ends the session at its next call.
    iam.update_access_key(UserName="console-reader", AccessKeyId=key["AccessKeyId"], Status="Inactive")
    assert c.call("lambda", "ListFunctions").status == 401


def test_bad_input_gets_the_apis_error(root_console: ConsoleHttp, boto3_client: Any) -> None:
    wrong_type = root_console.call("lambda", "GetFunction", {"FunctionName": 5})
    assert (wrong_type.status, wrong_type.code) == (400, "SerializationException")
    too_long = root_console.call("lambda", "GetFunction", {"FunctionName": "f" * 200})
    with pytest.raises(boto3_client("lambda").exceptions.ClientError) as api:
        boto3_client("lambda").get_function(FunctionName="f" * 200)
    assert (too_long.status, too_long.code) == (api.value.response["ResponseMetadata"]["HTTPStatusCode"],
                                                api.value.response["Error"]["Code"])
    missing = root_console.call("lambda", "GetFunction", {"FunctionName": "no-such-function"})
    assert (missing.status, missing.code) == (404, "ResourceNotFoundException")
    assert root_console.call("lambda", "NoSuchOperation").code == "InvalidAction"
    assert root_console.call("nosuchservice", "X").status == 501
    not_json = root_console.request("POST", "/api/call", None, headers={"Content-Type": "application/json"})
    assert not_json.status == 400
    assert root_console.request("GET", "/api/nothing").status == 404
    huge = root_console.call("lambda", "Invoke", {"FunctionName": "f", "Payload": "A" * (17 * 2**20)})
    assert (huge.status, huge.code) == (413, "RequestEntityTooLarge")


def test_secret_file_console_command_and_loopback_listener(cloudlet_server: CloudletProcess) -> None:
    path = cloudlet_server.data_dir / "console" / "secret"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    out = subprocess.run([sys.executable, "-m", "cloudlet", "console", "--data-dir", str(cloudlet_server.data_dir)],
                         env={**os.environ, "PYTHONPATH": str(SRC)}, capture_output=True, text=True, check=True)
    assert f"console: {cloudlet_server.console_url}" in out.stdout
    assert f"secret:  {console_secret(cloudlet_server)}" in out.stdout
    listening = [c.laddr for c in psutil.Process(cloudlet_server.pid).net_connections("inet")
                 if c.status == psutil.CONN_LISTEN and c.laddr.port == cloudlet_server.console_port]
    assert [a.ip for a in listening] == ["127.0.0.1"]


def test_a_taken_console_port_leaves_the_api_serving(cloudlet_factory: Any) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        server = cloudlet_factory(CLOUDLET_CONSOLE_PORT=str(taken.getsockname()[1]))
        assert server.healthy()
        out = subprocess.run([sys.executable, "-m", "cloudlet", "console", "--data-dir", str(server.data_dir)],
                             env={**os.environ, "PYTHONPATH": str(SRC)}, capture_output=True, text=True)
        assert out.returncode == 1 and "serves no console" in out.stderr
        assert "console not started" in server.log_tail(200)
