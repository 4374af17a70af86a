"""The console in a real headless browser, through the tutorial's verification steps: the cache
and its endpoint, the function's Test button, its log group and the "Success: Inserted ..."
line, a live tail; and the attacks a browser makes possible (another site's page, a rebound
DNS name) refused."""

from __future__ import annotations

import base64
import json
import re
import shutil
import tempfile
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import boto3
import pytest
from acceptance.test_tutorial_boto3 import ACCOUNT, TUTORIAL_DIR, _deployment_zip, _iam_token, _wait_cache
from acceptance.tutorial_runner import TUTORIAL
from cloudlet_process import CloudletProcess

from .browser import REBOUND_NAME, browser, screenshot  # noqa: F401  (fixture)
from .console_http import ConsoleHttp, console_secret

pytestmark = pytest.mark.skipif(not TUTORIAL.exists(), reason="../shared/tutorial is not beside the checkout")
SUCCESS = re.compile(r"Success: Inserted ([0-9a-f]{32})\. Fetched ([0-9a-f]{32}) from Valkey")
WAIT_MS = 60_000


@pytest.fixture(scope="module")
def tutorial() -> Iterator[CloudletProcess]:
    """A cloudlet with the tutorial's steps 1.1-2.3 done (cache, role, users, function in the VPC)."""
    tmp = Path(tempfile.mkdtemp(prefix="cloudlet-console-"))
    # Cache metrics sampled each second (AWS: each minute), so a graph moves within the test.
    server = CloudletProcess(tmp / "data", {"CLOUDLET_METRICS_INTERVAL_S": "1"})
    try:
        c = {s: client(server, s) for s in ("elasticache", "iam", "ec2", "lambda")}
        ec, iam = c["elasticache"], c["iam"]
        ec.create_serverless_cache(ServerlessCacheName="cache-01", Description="ElastiCache IAM auth application",
                                   Engine="valkey")
        endpoint = _wait_cache(ec, "cache-01", "available")["Endpoint"]["Address"]
        iam.create_role(RoleName="elasticache-iam-auth-app",
                        AssumeRolePolicyDocument=(TUTORIAL_DIR / "trust-policy.json").read_text())
        arn = iam.create_policy(PolicyName="elasticache-allow-all",
                                PolicyDocument=(TUTORIAL_DIR / "policy.json").read_text())["Policy"]["Arn"]
        iam.attach_role_policy(RoleName="elasticache-iam-auth-app", PolicyArn=arn)
        iam.attach_role_policy(RoleName="elasticache-iam-auth-app",
                               PolicyArn="arn:aws:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole")
        ec.create_user(UserName="default", UserId="default-user-disabled", Engine="redis",
                       AuthenticationMode={"Type": "no-password-required"}, AccessString="off +get ~keys*")
        ec.create_user(UserName="iam-user-01", UserId="iam-user-01", Engine="redis",
                       AuthenticationMode={"Type": "iam"}, AccessString="on ~* +@all")
        ec.create_user_group(UserGroupId="iam-user-group-01", Engine="redis",
                             UserIds=["default-user-disabled", "iam-user-01"])
        ec.modify_serverless_cache(ServerlessCacheName="cache-01", UserGroupId="iam-user-group-01")
        _wait_cache(ec, "cache-01", "available")
        ec2 = c["ec2"]
        vpc = ec2.describe_vpcs(Filters=[{"Name": "isDefault", "Values": ["true"]}])["Vpcs"][0]["VpcId"]
        subnets = [s["SubnetId"] for s in ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc]}])["Subnets"]]
        sg = ec2.describe_security_groups(Filters=[{"Name": "vpc-id", "Values": [vpc]},
                                                   {"Name": "group-name", "Values": ["default"]}])["SecurityGroups"][0]
        c["lambda"].create_function(
            FunctionName="AccessValkey", Role=f"arn:aws:iam::{ACCOUNT}:role/elasticache-iam-auth-app",
            Handler="app.lambda_handler", Runtime="python3.12", Timeout=30, Code={"ZipFile": _deployment_zip(endpoint)},
            VpcConfig={"SubnetIds": subnets, "SecurityGroupIds": [sg["GroupId"]]},
        )
        c["lambda"].get_waiter("function_active_v2").wait(FunctionName="AccessValkey", WaiterConfig={"Delay": 1})
        yield server
    finally:
        server.stop()
        shutil.rmtree(tmp, ignore_errors=True)


def client(server: CloudletProcess, service: str, **kw: Any) -> Any:
    args = {"aws_access_key_id": server.env["AWS_ACCESS_KEY_ID"],
            "aws_secret_access_key": server.env["AWS_SECRET_ACCESS_KEY"], **kw}
    return boto3.client(service, endpoint_url=server.endpoint_url, region_name="us-east-1", **args)


def signed_in_page(browser: Any, server: CloudletProcess, **key: str) -> Any:
    page = browser.new_context(viewport={"width": 1400, "height": 900}).new_page()
    page.set_default_timeout(WAIT_MS)
    page.goto(server.console_url)
    if key:
        page.fill("#access-key-id", key["AccessKeyId"])
        page.fill("#secret-access-key", key["SecretAccessKey"])
        page.click("#signin-key")
    else:
        page.fill("#secret", console_secret(server))
        page.click("#signin-secret")
    page.wait_for_selector("#nav:not([hidden])")
    return page


def test_the_tutorials_verification_steps_in_the_console(browser: Any, tutorial: CloudletProcess) -> None:
    page = signed_in_page(browser, tutorial)
    assert page.inner_text("#who") == f"arn:aws:iam::{ACCOUNT}:root"
    page.reload()  # the session (cookie + the token in this origin's storage) outlives a reload
    page.wait_for_selector("#nav:not([hidden])")

    # The cache, available, with the endpoint the function was given.
    ec = client(tutorial, "elasticache")
    cache = ec.describe_serverless_caches(ServerlessCacheName="cache-01")["ServerlessCaches"][0]
    page.goto(tutorial.console_url + "#/elasticache")
    row = page.locator("tr", has=page.locator("a", has_text="cache-01"))
    row.locator("[data-status=available]").wait_for()
    assert f"{cache['Endpoint']['Address']}:6379" in row.inner_text()
    assert f"{cache['ReaderEndpoint']['Address']}:6380" in row.inner_text()
    page.locator("tr", has_text="iam-user-01").first.wait_for()
    assert "iam-user-group-01" in page.inner_text("main")
    screenshot(page, "elasticache")

    # Test button: invoke with a typed event; the result, the log tail and the REPORT figures.
    page.goto(tutorial.console_url + "#/lambda/AccessValkey")
    page.wait_for_selector("#test-button")
    assert "elasticache-iam-auth-app" in page.inner_text("main") and "vpc-" in page.inner_text("main")
    page.fill("#test-event", json.dumps({"from": "the console"}))
    page.click("#test-button")
    response = page.wait_for_selector("#test-response")
    assert json.loads(response.inner_text()) == "Fetched value from Valkey"
    assert page.inner_text("[data-status=Succeeded]") == "Succeeded"
    log = page.inner_text("#test-log")
    assert "START RequestId" in log and "REPORT RequestId" in log
    tested = SUCCESS.search(log)
    assert tested and tested.group(1) == tested.group(2), log
    figures = page.inner_text("#report")
    assert re.search(r"Duration\s+[\d.]+ ms", figures) and re.search(r"Max Memory Used\s+\d+ MB", figures), figures
    screenshot(page, "lambda-test")

    # The function's log group, and the success line through the filter-pattern box.
    page.goto(tutorial.console_url + "#/logs")
    page.click("a:text-is('/aws/lambda/AccessValkey')")
    page.fill("#filter-pattern", '"from Valkey"')
    page.click("#filter-button")
    page.wait_for_selector("#filter-results table")
    found = SUCCESS.search(page.inner_text("#filter-results"))
    assert found and found.group(1) == tested.group(1)
    screenshot(page, "logs-filter")

    # Live tail: an invoke made elsewhere shows up while the page is open.
    page.click("#tail-button")
    out = client(tutorial, "lambda").invoke(FunctionName="AccessValkey", LogType="Tail")
    new = SUCCESS.search(base64.b64decode(out["LogResult"]).decode())
    assert new and new.group(1) != tested.group(1)
    page.wait_for_function("id => document.getElementById('live-tail').textContent.includes(id)", arg=new.group(1))
    screenshot(page, "logs-live-tail")

    # IAM and VPC, read-only.
    page.goto(tutorial.console_url + "#/iam")
    page.locator("tr", has_text="elasticache-iam-auth-app").first.wait_for()
    roles = page.locator("section", has_text="Roles").first.inner_text()
    assert "arn:aws:iam::123456789012:policy/elasticache-allow-all" in roles
    assert "AWSLambdaVPCAccessExecutionRole" in roles
    page.locator("section", has_text="Customer managed policies").locator("td", has_text="role elasticache-iam-auth-app").wait_for()
    screenshot(page, "iam")
    page.goto(tutorial.console_url + "#/vpc")
    page.locator("section", has_text="Security groups").locator("td", has_text="(default)").first.wait_for()
    assert "all traffic" in page.inner_text("main")
    screenshot(page, "vpc")


def test_cache_state_changes_show_without_reloading(browser: Any, tutorial: CloudletProcess) -> None:
    page = signed_in_page(browser, tutorial)
    page.goto(tutorial.console_url + "#/elasticache")
    page.locator("tr", has=page.locator("a", has_text="cache-01")).wait_for()
    ec = client(tutorial, "elasticache")
    ec.create_serverless_cache(ServerlessCacheName="cache-02", Engine="valkey")
    row = page.locator("tr", has=page.locator("a", has_text="cache-02"))
    row.locator("[data-status=available]").wait_for()  # appeared, then available: the page re-read it
    ec.delete_serverless_cache(ServerlessCacheName="cache-02")
    row.wait_for(state="detached")


def test_an_iam_user_is_refused_in_the_console_what_the_api_refuses(browser: Any, tutorial: CloudletProcess) -> None:
    iam = client(tutorial, "iam")
    iam.create_user(UserName="viewer")
    iam.put_user_policy(UserName="viewer", PolicyName="read-lambda", PolicyDocument=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": ["lambda:Get*", "lambda:List*"], "Resource": "*"}]}))
    key = iam.create_access_key(UserName="viewer")["AccessKey"]
    page = signed_in_page(browser, tutorial, **key)
    assert page.inner_text("#who").endswith(":user/viewer")
    page.goto(tutorial.console_url + "#/lambda/AccessValkey")
    page.click("#test-button")
    error = page.wait_for_selector("#test-result .error")
    assert error.inner_text().startswith("AccessDeniedException")
    assert "lambda:InvokeFunction" in error.inner_text()
    page.goto(tutorial.console_url + "#/iam")
    assert page.locator(".error").first.inner_text().startswith("AccessDenied")


class _AttackerPage(BaseHTTPRequestHandler):
    """Another site's page the user visits while signed in: it tries to delete the function
    through the console, by a form post and by fetch."""

    console = ""
    cookies: list[str] = []

    def do_GET(self) -> None:  # noqa: N802
        # Cookies ignore ports: the browser sends the console's session cookie here too.
        self.cookies.append(self.headers.get("Cookie", ""))
        body = f"""<!doctype html><iframe name="sink"></iframe>
<form id="f" method="POST" action="{self.console}api/call" enctype="text/plain" target="sink">
<input name='{{"service":"lambda","operation":"DeleteFunction","input":{{"FunctionName":"AccessValkey"}},"x":"' value='"}}'>
</form>
<script>
document.getElementById("f").submit();
fetch("{self.console}api/call", {{method: "POST", credentials: "include", headers: {{"Content-Type": "application/json"}},
  body: JSON.stringify({{service: "lambda", operation: "DeleteFunction", input: {{FunctionName: "AccessValkey"}}}})}})
  .then(r => r.text()).then(t => document.title = "read:" + t, e => document.title = "blocked:" + e);
</script>""".encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


def test_another_sites_page_cannot_drive_the_console(browser: Any, tutorial: CloudletProcess) -> None:
    page = signed_in_page(browser, tutorial)  # the victim is signed in, in this browser
    _AttackerPage.console = tutorial.console_url
    attacker = ThreadingHTTPServer(("127.0.0.1", 0), _AttackerPage)  # same site (127.0.0.1), other origin
    threading.Thread(target=attacker.serve_forever, daemon=True).start()
    try:
        evil = page.context.new_page()
        evil.goto(f"http://127.0.0.1:{attacker.server_address[1]}/")
        evil.wait_for_function("document.title.startsWith('blocked:') || document.title.startsWith('read:')")
        assert evil.title().startswith("blocked:")
        time.sleep(1)  # the form post, if it were obeyed, would have deleted the function by now
    finally:
        attacker.shutdown()
    assert client(tutorial, "lambda").get_function(FunctionName="AccessValkey")["Configuration"]["State"] == "Active"
    log = tutorial.log_path.read_text()
    assert "DeleteFunction" not in log

    # The attacker's server got the session cookie; replayed from outside the browser, with the
    # console's own Host and Origin, it still cannot act: the CSRF token never left the page.
    stolen = next(c for c in _AttackerPage.cookies if "cloudlet_console=" in c)
    thief = ConsoleHttp(tutorial, cookie=stolen)
    session = thief.request("GET", "/api/session")
    assert session.status == 200 and "csrf" not in session.body
    refused = thief.call("lambda", "DeleteFunction", {"FunctionName": "AccessValkey"})
    assert (refused.status, refused.code) == (403, "BadCsrfToken")
    assert client(tutorial, "lambda").get_function(FunctionName="AccessValkey")["Configuration"]["State"] == "Active"


def test_a_rebound_dns_name_gets_nothing(browser: Any, tutorial: CloudletProcess) -> None:
    page = signed_in_page(browser, tutorial)
    # The attacker's name, now resolving to 127.0.0.1, at the console's port: the browser
    # treats it as the attacker's own origin, so its script could read whatever is served.
    rebound = f"http://{REBOUND_NAME}:{tutorial.console_port}/"
    for path in ("", "api/session", "static/console.js"):
        answer = page.goto(rebound + path)
        assert answer is not None and answer.status == 421
        assert "ForeignHost" in page.content() and "csrf" not in page.content()


def _metric_sum(page: Any, metric: str) -> float:
    value = page.get_attribute(f"[data-metric={metric}]", "data-sum")
    return float(value or 0)


def _wait_metric_above(page: Any, metric: str, floor: float) -> None:
    page.wait_for_function(
        "([m, floor]) => Number(document.querySelector(`[data-metric=${m}]`)?.dataset.sum || 0) > floor",
        arg=[metric, floor], timeout=90_000,
    )


def test_a_caches_graphs_move_after_writes(browser: Any, tutorial: CloudletProcess) -> None:
    valkey = pytest.importorskip("valkey")
    page = signed_in_page(browser, tutorial)
    page.goto(tutorial.console_url + "#/elasticache/cache-01")
    page.wait_for_selector("[data-metric=ElastiCacheProcessingUnits][data-sum]")
    ecpus, hits = _metric_sum(page, "ElastiCacheProcessingUnits"), _metric_sum(page, "CacheHits")
    bytes_before = float(page.get_attribute("[data-metric=BytesUsedForCache]", "data-latest") or 0)

    cache = client(tutorial, "elasticache").describe_serverless_caches(ServerlessCacheName="cache-01")["ServerlessCaches"][0]
    address = next(line.split()[0] for line in (tutorial.data_dir / "hosts").read_text().splitlines()
                   if line.split()[1] == cache["Endpoint"]["Address"])
    writer = valkey.Valkey(host=address, port=6379, ssl=True, ssl_ca_certs=str(tutorial.data_dir / "ca" / "ca.pem"),
                           username="iam-user-01",
                           password=_iam_token("cache-01", "iam-user-01", tutorial.env["AWS_ACCESS_KEY_ID"],
                                               tutorial.env["AWS_SECRET_ACCESS_KEY"]))
    value = "x" * 4096
    pipe = writer.pipeline(transaction=False)
    for i in range(3000):
        pipe.set(f"{{k}}{i}", value)
    pipe.execute()
    for i in range(500):
        writer.get(f"{{k}}{i}")
    writer.close()

    _wait_metric_above(page, "ElastiCacheProcessingUnits", ecpus + 3000)
    _wait_metric_above(page, "CacheHits", hits + 499)
    page.wait_for_function(
        "floor => Number(document.querySelector('[data-metric=BytesUsedForCache]').dataset.latest || 0) > floor",
        arg=bytes_before + 3000 * 4096, timeout=90_000)
    assert page.locator("#chart-ElastiCacheProcessingUnits canvas").count() == 1  # drawn by uPlot
    screenshot(page, "elasticache-metrics")


def test_a_functions_graphs_move_after_the_test_button(browser: Any, tutorial: CloudletProcess) -> None:
    page = signed_in_page(browser, tutorial)
    page.goto(tutorial.console_url + "#/lambda/AccessValkey")
    page.wait_for_selector("[data-metric=Invocations][data-sum]")
    before = _metric_sum(page, "Invocations")
    page.fill("#test-event", "{}")
    page.click("#test-button")
    page.wait_for_selector("#test-response")
    _wait_metric_above(page, "Invocations", before)
    page.wait_for_selector("[data-metric=Duration][data-points]:not([data-points='0'])")
    assert page.locator("#chart-Invocations canvas").count() == 1
    screenshot(page, "lambda-metrics")
