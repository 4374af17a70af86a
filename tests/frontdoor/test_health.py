"""The health endpoint answers without auth and reports every registered service."""

from __future__ import annotations

import json
import urllib.request


def test_health_lists_every_registered_service(cloudlet_server) -> None:
    with urllib.request.urlopen(cloudlet_server.endpoint_url + "/_cloudlet/health") as r:
        assert r.status == 200
        assert r.headers["Content-Type"].startswith("application/json")
        body = json.loads(r.read())
    import cloudlet

    assert body["version"] == cloudlet.__version__
    assert set(body["services"]) == {"iam", "sts", "ec2", "elasticache", "lambda", "logs", "cloudwatch"}
    for state in body["services"].values():
        assert isinstance(state, str) and state


def test_request_is_logged(cloudlet_server, boto3_client) -> None:
    import botocore.exceptions

    client = boto3_client("logs", aws_secret_access_key="wrong-secret")
    try:
        client.describe_log_groups()
    except botocore.exceptions.ClientError:
        pass
    tail = cloudlet_server.log_tail(20)
    assert "cloudlet.access logs" in tail
