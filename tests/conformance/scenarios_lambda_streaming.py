"""Scenarios for the recordings of RESPONSE_STREAM function URLs (Node.js functions).

The URL itself is read with http.client, as LocalStack's recorded tests read it with
requests. cloudlet needs lambda:InvokeFunction beside lambda:InvokeFunctionUrl for every
URL (README), so a second, unrecorded permission follows the recorded one.
"""

from __future__ import annotations

import http.client
import json
import urllib.parse
from typing import Any

from conformance.recordings import Caller, scenario
from conformance.scenarios_lambda import create, zipped

# LocalStack's functions/lambda_url.js and functions/lambda_response_streaming.js, as they behave.
NODE_URL_ECHO = ("exports.handler = async (event, context) => ({statusCode: 200, "
                 "body: JSON.stringify({event, context})});\n")
NODE_STREAMING = """exports.handler = awslambda.streamifyResponse(async (event, responseStream, context) => {
  const metadata = {status: 200, headers: {"Content-Type": "text/html", "Cache-Control": "no-cache"}};
  responseStream = awslambda.HttpResponseStream.from(responseStream, metadata);
  responseStream.write("Hello,");
  responseStream.write(" world!");
  responseStream.end();
});
"""


def _post(url: str, body: bytes, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    parts = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection("127.0.0.1", parts.port or 80, timeout=60)
    try:
        conn.request("POST", parts.path + (f"?{parts.query}" if parts.query else ""), body=body,
                     headers={"Host": parts.netloc, **(headers or {})})
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


def _public_stream_url(c: Caller, name: str) -> tuple[dict[str, Any], dict[str, Any]]:
    lam = c.client("lambda")
    config = c.call(lam.create_function_url_config, FunctionName=name, AuthType="NONE", InvokeMode="RESPONSE_STREAM")
    permission = c.call(lam.add_permission, FunctionName=name, StatementId="urlPermission",
                        Action="lambda:InvokeFunctionUrl", Principal="*", FunctionUrlAuthType="NONE")
    lam.add_permission(FunctionName=name, StatementId="invoke", Action="lambda:InvokeFunction", Principal="*",
                       InvokedViaFunctionUrl=True)
    return config, permission


@scenario("lambda", "TestLambdaURL::test_lambda_url_echo_invoke[RESPONSE_STREAM]")
def url_echo_invoke_streamed(c: Caller) -> dict[str, Any]:
    name = c.name("test-fnurl-echo")
    create(c, name, Runtime="nodejs20.x", Handler="lambda_url.handler",
           Code={"ZipFile": zipped(NODE_URL_ECHO, "lambda_url.js")})
    config, permission = _public_stream_url(c, name)
    status, body = _post(f"{config['FunctionUrl']}custom_path/extend?test_param=test_value", b"text",
                         {"Content-Type": "text/plain"})
    # As the recorded test checks it: a handler that does not stream answers its whole result.
    assert status == 200, (status, body)
    event = json.loads(json.loads(body)["body"])["event"]
    assert "Body" not in event and event["isBase64Encoded"] is False
    return {"create_lambda_url_config": config, "add_permission": permission}


@scenario("lambda", "TestLambdaURL::test_function_url_with_response_streaming")
def url_with_response_streaming(c: Caller) -> dict[str, Any]:
    name = c.name("test_lambda")
    create(c, name, Runtime="nodejs20.x", Handler="lambda_response_streaming.handler",
           Code={"ZipFile": zipped(NODE_STREAMING, "lambda_response_streaming.js")})
    config, _ = _public_stream_url(c, name)
    status, body = _post(config["FunctionUrl"], b"{'key':'value'}")
    return {"response_status": status, "response_data": body.decode()}
