"""SigV4 verification against requests and URLs signed by botocore's own signers."""

from __future__ import annotations

import datetime
import time
from urllib.parse import urlsplit

import pytest
from botocore.signers import RequestSigner
from frontdoor_signing import presign, sign
from hypothesis import given, settings
from hypothesis import strategies as st

from cloudlet import sigv4
from cloudlet.core.context import Principal
from cloudlet.core.identity import Credential, CredentialRegistry
from cloudlet.protocol.registry import get_protocol

KEY, SECRET = "AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
ROOT = Principal(arn="arn:aws:iam::123456789012:root", account_id="123456789012", user_id="123456789012",
                 type="Account", name="root", access_key_id=KEY)
BASE = "http://127.0.0.1:4566"


@pytest.fixture
def registry() -> CredentialRegistry:
    r = CredentialRegistry()
    r.add(Credential(KEY, SECRET, ROOT))
    return r


def verify(registry: CredentialRegistry, prepared, now: float | None = None) -> sigv4.Verified:
    u = urlsplit(prepared.url)
    headers = {k: v.decode() if isinstance(v, bytes) else v for k, v in prepared.headers.items()}
    headers.setdefault("Host", u.netloc)
    body = prepared.body or b""
    if isinstance(body, str):
        body = body.encode()
    return sigv4.verify_request(registry, prepared.method, u.path or "/", u.query, headers, body, now=now)


def failure(fn, *a, **kw) -> sigv4.SigV4Failure:
    with pytest.raises(sigv4.SigV4Failure) as ei:
        fn(*a, **kw)
    return ei.value


FORM = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}


def test_header_auth_query_protocol_accepted(registry) -> None:
    p = sign("POST", BASE + "/", "sts", KEY, SECRET, b"Action=GetCallerIdentity&Version=2011-06-15", FORM)
    v = verify(registry, p)
    assert v.credential.principal is ROOT
    assert (v.params.service, v.params.region, v.params.mode) == ("sts", "us-east-1", "header")


def test_header_auth_encoded_path_and_query_accepted(registry) -> None:
    # Lambda's ARNs in the path arrive percent-encoded; SigV4 encodes them again.
    url = BASE + "/2015-03-31/functions/arn%3Aaws%3Alambda%3Aus-east-1%3A123456789012%3Afunction%3Af/invocations"
    p = sign("POST", url + "?Qualifier=%24LATEST&x=a%20b%2Bc", "lambda", KEY, SECRET, b'{"k": "v"}')
    assert verify(registry, p).params.service == "lambda"


def test_wrong_secret_is_signature_mismatch(registry) -> None:
    p = sign("POST", BASE + "/", "iam", KEY, "not-the-secret", b"Action=ListRoles&Version=2010-05-08", FORM)
    f = failure(verify, registry, p)
    assert f.reason == "bad_signature"
    assert f.message == sigv4.SIGNATURE_MISMATCH_MESSAGE
    assert f.canonical_request.startswith("POST\n/\n")


def test_tampered_body_is_signature_mismatch(registry) -> None:
    p = sign("POST", BASE + "/", "iam", KEY, SECRET, b"Action=ListRoles&Version=2010-05-08", FORM)
    p.body = b"Action=DeleteRole&Version=2010-05-08"
    assert failure(verify, registry, p).reason == "bad_signature"


def test_unknown_and_inactive_keys(registry) -> None:
    p = sign("POST", BASE + "/", "sts", "AKIAUNKNOWNKEY000000", SECRET, b"Action=GetCallerIdentity")
    f = failure(verify, registry, p)
    assert (f.reason, f.message) == ("unknown_key", "The security token included in the request is invalid.")
    registry.add(Credential("AKIAINACTIVE00000000", "s3cr3t", ROOT, active=False))
    p = sign("POST", BASE + "/", "sts", "AKIAINACTIVE00000000", "s3cr3t", b"Action=GetCallerIdentity")
    assert failure(verify, registry, p).reason == "unknown_key"


def test_missing_and_malformed_auth(registry) -> None:
    f = failure(sigv4.verify_request, registry, "POST", "/", "", {"Host": "x"}, b"Action=ListRoles")
    assert f.reason == "missing"
    for bad in (
        "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20240101/us-east-1/iam/aws4_request",
        "AWS4-HMAC-SHA256 Credential=AKID/20240101/us-east-1/aws4_request, SignedHeaders=host, Signature=ab",
        "AWS4-HMAC-SHA512 Credential=AKID/20240101/us-east-1/iam/aws4_request, SignedHeaders=host, Signature=ab",
    ):
        headers = {"Host": "x", "Authorization": bad, "X-Amz-Date": "20240101T000000Z"}
        f = failure(sigv4.verify_request, registry, "POST", "/", "", headers, b"")
        assert f.reason == "incomplete", bad
    good = "AWS4-HMAC-SHA256 Credential=AKID/20240101/us-east-1/iam/aws4_request, SignedHeaders=host, Signature=ab"
    f = failure(sigv4.verify_request, registry, "POST", "/", "", {"Host": "x", "Authorization": good}, b"")
    assert f.reason == "incomplete" and "'X-Amz-Date' or a 'Date' header" in f.message


@pytest.mark.parametrize("minutes", [-10, 10])
def test_skewed_clock_rejected(registry, minutes: int) -> None:
    when = datetime.datetime.now(datetime.UTC) + datetime.timedelta(minutes=minutes)
    p = sign("POST", BASE + "/", "sts", KEY, SECRET, b"Action=GetCallerIdentity", FORM, when=when)
    f = failure(verify, registry, p)
    assert f.reason == "skewed"
    if minutes < 0:
        assert f.message.startswith("Signature expired: ") and f.message.endswith(" - 5 min.)")
    else:
        assert f.message.startswith("Signature not yet current: ") and f.message.endswith(" + 5 min.)")
    # Within the 5-minute window it is fine.
    when = datetime.datetime.now(datetime.UTC) + datetime.timedelta(minutes=minutes / 5)
    assert verify(registry, sign("POST", BASE + "/", "sts", KEY, SECRET, b"A=1", FORM, when=when))


def test_presigned_url_valid_and_expired(registry) -> None:
    url = presign("GET", BASE + "/?Action=GetCallerIdentity&Version=2011-06-15", "sts", KEY, SECRET, expires=60)
    u = urlsplit(url)
    v = sigv4.verify_request(registry, "GET", u.path, u.query, {"Host": u.netloc}, b"")
    assert v.params.mode == "query" and v.params.expires == 60
    f = failure(sigv4.verify_request, registry, "GET", u.path, u.query, {"Host": u.netloc}, b"", now=time.time() + 61)
    assert f.reason == "presign_expired" and f.message.startswith("Signature expired:")
    # A changed query parameter breaks the signature.
    f = failure(sigv4.verify_request, registry, "GET", u.path, u.query.replace("GetCallerIdentity", "GetSessionToken"),
                {"Host": u.netloc}, b"")
    assert f.reason == "bad_signature"


def test_presigned_url_longer_than_15_minutes_is_capped(registry) -> None:
    url = presign("GET", BASE + "/?Action=GetCallerIdentity&Version=2011-06-15", "sts", KEY, SECRET, expires=3600)
    u = urlsplit(url)
    assert sigv4.verify_request(registry, "GET", u.path, u.query, {"Host": u.netloc}, b"", now=time.time() + 800)
    f = failure(sigv4.verify_request, registry, "GET", u.path, u.query, {"Host": u.netloc}, b"",
                now=time.time() + 1000)
    assert f.reason == "presign_expired"


def _temp(registry: CredentialRegistry, expires_in: float) -> Credential:
    cred = Credential("ASIATEMPORARYKEY0001", "tempsecret", ROOT, session_token="the-token",
                      expires_at=time.time() + expires_in)
    registry.add(cred)
    return cred


def test_session_token_right_wrong_missing_expired(registry) -> None:
    c = _temp(registry, 3600)
    ok = sign("POST", BASE + "/", "sts", c.access_key_id, c.secret_access_key, b"A=1", FORM, token="the-token")
    assert verify(registry, ok).credential is c
    wrong = sign("POST", BASE + "/", "sts", c.access_key_id, c.secret_access_key, b"A=1", FORM, token="other")
    assert failure(verify, registry, wrong).reason == "bad_token"
    missing = sign("POST", BASE + "/", "sts", c.access_key_id, c.secret_access_key, b"A=1", FORM)
    assert failure(verify, registry, missing).reason == "bad_token"
    # A long-term key must not carry a token.
    longterm = sign("POST", BASE + "/", "sts", KEY, SECRET, b"A=1", FORM, token="the-token")
    assert failure(verify, registry, longterm).reason == "bad_token"
    c.expires_at = time.time() - 1
    f = failure(verify, registry, ok)
    assert (f.reason, f.message) == ("expired_token", "The security token included in the request is expired")


def _elasticache_token(key: str, secret: str, token: str | None = None, user: str = "iam-user-01") -> str:
    """An ElastiCache IAM auth token, made the way AWS's documentation does it with botocore."""
    import botocore.session
    from botocore.credentials import Credentials
    from botocore.model import ServiceId

    session = botocore.session.get_session()
    signer = RequestSigner(ServiceId("elasticache"), "us-east-1", "elasticache", "v4",
                           Credentials(key, secret, token), session.get_component("event_emitter"))
    query = f"Action=connect&User={user}&ResourceType=ServerlessCache"
    url = signer.generate_presigned_url(
        {"method": "GET", "url": f"http://cache-01/?{query}", "body": {}, "headers": {}, "context": {}},
        operation_name="connect", expires_in=900, region_name="us-east-1",
    )
    return url.removeprefix("http://")


def test_elasticache_iam_token(registry) -> None:
    token = _elasticache_token(KEY, SECRET)
    v, host, pairs = sigv4.verify_presigned_token(registry, token)
    assert host == "cache-01" and v.credential.principal is ROOT
    assert dict(pairs)["User"] == "iam-user-01" and dict(pairs)["Action"] == "connect"
    # Another host (cache name) was not signed.
    f = failure(sigv4.verify_presigned_token, registry, token.replace("cache-01", "cache-02", 1))
    assert f.reason == "bad_signature"
    # Another user was not signed.
    f = failure(sigv4.verify_presigned_token, registry, token.replace("iam-user-01", "iam-user-02"))
    assert f.reason == "bad_signature"
    # A token for another service is refused.
    f = failure(sigv4.verify_presigned_token, registry, token, service="rds-db")
    assert f.reason == "bad_signature"
    f = failure(sigv4.verify_presigned_token, registry, token, now=time.time() + 901)
    assert f.reason == "presign_expired"
    c = _temp(registry, 60)
    tok = _elasticache_token(c.access_key_id, c.secret_access_key, "the-token")
    assert sigv4.verify_presigned_token(registry, tok)[0].credential is c
    f = failure(sigv4.verify_presigned_token, registry, tok.replace("the-token", "the-tokem"))
    assert f.reason == "bad_token"


@pytest.mark.parametrize(
    ("protocol", "reason", "code", "status"),
    [
        ("query", "bad_signature", "SignatureDoesNotMatch", 403),
        ("query", "unknown_key", "InvalidClientTokenId", 403),
        ("query", "missing", "MissingAuthenticationToken", 403),
        ("query", "expired_token", "ExpiredToken", 403),
        ("json", "unknown_key", "UnrecognizedClientException", 400),
        ("json", "expired_token", "ExpiredTokenException", 400),
        ("json", "missing", "MissingAuthenticationTokenException", 400),
        ("rest-json", "unknown_key", "UnrecognizedClientException", 403),
        ("rest-json", "bad_signature", "InvalidSignatureException", 403),
        ("ec2", "unknown_key", "AuthFailure", 401),
        ("ec2", "skewed", "RequestExpired", 400),
        ("ec2", "expired_token", "RequestExpired", 400),
        ("ec2", "incomplete", "IncompleteSignature", 400),
        ("ec2", "missing", "MissingParameter", 400),
        ("rest-json", "expired_token", "ExpiredTokenException", 403),
    ],
)
def test_failure_codes_per_protocol(protocol: str, reason, code: str, status: int) -> None:
    service = {"query": "sts", "json": "logs", "rest-json": "lambda", "ec2": "ec2"}[protocol]
    err = get_protocol(service).auth_error(sigv4.SigV4Failure(reason, "m"))
    assert (err.code, err.status) == (code, status)


safe_text = st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=0x2FF, blacklist_characters="\x7f"),
                    max_size=12)


@settings(max_examples=60, deadline=None)
@given(
    segments=st.lists(safe_text.filter(lambda s: s not in (".", "..")), min_size=0, max_size=3),
    params=st.lists(st.tuples(safe_text.filter(bool), safe_text), max_size=4),
    body=st.binary(max_size=64),
)
def test_any_botocore_signed_request_verifies(segments: list[str], params: list[tuple[str, str]], body: bytes) -> None:
    from urllib.parse import quote, urlencode

    registry = CredentialRegistry()
    registry.add(Credential(KEY, SECRET, ROOT))
    path = "/" + "/".join(quote(s, safe="") for s in segments)
    url = BASE + path + ("?" + urlencode(params, quote_via=quote) if params else "")
    p = sign("POST", url, "lambda", KEY, SECRET, body)
    assert verify(registry, p).credential.principal is ROOT


def test_payload_hash_header_must_match_body(registry) -> None:
    import hashlib

    body = b"Action=ListRoles&Version=2010-05-08"
    good = sign("POST", BASE + "/", "iam", KEY, SECRET, body,
                {**FORM, "X-Amz-Content-SHA256": hashlib.sha256(body).hexdigest()})
    assert verify(registry, good)
    p = sign("POST", BASE + "/", "iam", KEY, SECRET, body, {**FORM, "X-Amz-Content-SHA256": "0" * 64})
    f = failure(verify, registry, p)
    assert f.reason == "bad_signature" and "x-amz-content-sha256" in f.message


def test_host_must_be_signed(registry) -> None:
    p = sign("POST", BASE + "/", "iam", KEY, SECRET, b"A=1", FORM)
    headers = {k: v.decode() if isinstance(v, bytes) else v for k, v in p.headers.items()}
    headers["Authorization"] = headers["Authorization"].replace("SignedHeaders=content-type;host;x-amz-date",
                                                                "SignedHeaders=content-type;x-amz-date")
    headers["Host"] = "127.0.0.1:4566"
    f = failure(sigv4.verify_request, registry, "POST", "/", "", headers, b"A=1")
    assert f.reason == "bad_signature" and "'Host'" in f.message
