"""Router.match keeps its answers per request line: a kept answer must be the one a fresh match gives."""

from __future__ import annotations

import botocore.session

from cloudlet.protocol import rest_routes
from cloudlet.protocol.rest_routes import Router


def lambda_router() -> Router:
    return Router(botocore.session.get_session().get_service_model("lambda"))


def test_repeated_match_gives_fresh_labels() -> None:
    router = lambda_router()
    first = router.match("POST", "/2015-03-31/functions/f1/invocations", [])
    assert first == ("Invoke", {"FunctionName": "f1"})
    first[1]["FunctionName"] = "changed by a caller"
    assert router.match("POST", "/2015-03-31/functions/f1/invocations", []) == ("Invoke", {"FunctionName": "f1"})
    assert router.match("POST", "/2015-03-31/functions/f2/invocations", []) == ("Invoke", {"FunctionName": "f2"})


def test_query_and_method_are_part_of_the_answer() -> None:
    router = lambda_router()
    # Pinned query parameter: the same path answers another operation with it.
    plain = router.match("GET", "/2018-10-31/layers", [])
    pinned = router.match("GET", "/2018-10-31/layers", [("find", "LayerVersion")])
    assert plain is not None and pinned is not None and plain[0] != pinned[0]
    assert router.match("GET", "/2018-10-31/layers", []) == plain
    assert router.match("DELETE", "/2015-03-31/functions/f1/invocations", []) is None
    assert router.match("DELETE", "/2015-03-31/functions/f1/invocations", []) is None


def test_cache_stays_bounded(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(rest_routes, "MATCH_CACHE_SIZE", 8)
    router = lambda_router()
    for i in range(50):
        assert router.match("POST", f"/2015-03-31/functions/f{i}/invocations", []) == ("Invoke", {"FunctionName": f"f{i}"})
    assert len(router._seen) <= 8
    long_name = "x" * 600
    assert router.match("POST", f"/2015-03-31/functions/{long_name}/invocations", []) == (
        "Invoke", {"FunctionName": long_name})
    assert all(long_name not in key[1] for key in router._seen)
