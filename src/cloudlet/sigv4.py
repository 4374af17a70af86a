"""AWS Signature Version 4 verification, from the raw request as received.

Two entry points:
  verify_request(...)       an API request (Authorization header or presigned query)
  verify_presigned_url(...) a presigned URL given as parts; verify_presigned_token()
                            takes an ElastiCache IAM auth token ("host/?Action=connect&...").

Both return a Verified (the Credential and the parsed auth parameters) or raise
SigV4Failure, whose `reason` says what went wrong. Each wire protocol turns a
failure into its own AWSError (Protocol.auth_error in cloudlet.protocol).
"""

from __future__ import annotations

import calendar
import dataclasses
import datetime
import functools
import hashlib
import hmac
import time
from collections.abc import Iterable, Mapping, Sequence
from email.utils import parsedate_to_datetime
from typing import Literal
from urllib.parse import quote, unquote

from multidict import CIMultiDict, CIMultiDictProxy

from cloudlet.core.identity import Credential, CredentialRegistry

ALGORITHM = "AWS4-HMAC-SHA256"
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
# AWS accepts a request signed up to 5 minutes before or after its own clock.
MAX_SKEW_S = 300
# Presigned URLs may live at most 7 days (the signing key's validity).
MAX_PRESIGN_EXPIRES_S = 604800
PRESIGN_WINDOW_S = 900

FailureReason = Literal[
    "missing",  # no Authorization header and no X-Amz-* query auth
    "incomplete",  # malformed Authorization / presign parameters
    "unknown_key",  # access key id not known (or inactive)
    "bad_token",  # session token missing, wrong or unexpected
    "expired_token",  # temporary credentials past their expiry
    "skewed",  # request date too far from now
    "presign_expired",  # presigned URL past X-Amz-Date + X-Amz-Expires
    "bad_signature",  # signature does not match
]

SIGNATURE_MISMATCH_MESSAGE = (
    "The request signature we calculated does not match the signature you provided. "
    "Check your AWS Secret Access Key and signing method. "
    "Consult the service documentation for details."
)
INVALID_TOKEN_MESSAGE = "The security token included in the request is invalid."
EXPIRED_TOKEN_MESSAGE = "The security token included in the request is expired"


class SigV4Failure(Exception):
    """Authentication failed; `reason` is one of FailureReason."""

    def __init__(
        self, reason: FailureReason, message: str, canonical_request: str = "", string_to_sign: str = ""
    ) -> None:
        super().__init__(f"{reason}: {message}")
        self.reason: FailureReason = reason
        self.message = message
        # Kept for the query protocol's SignatureDoesNotMatch detail and for logs.
        self.canonical_request = canonical_request
        self.string_to_sign = string_to_sign


@dataclasses.dataclass(frozen=True)
class AuthParams:
    """The SigV4 parameters a request carries, before any verification."""

    mode: Literal["header", "query"]
    access_key_id: str
    scope_date: str  # YYYYMMDD
    region: str
    service: str
    signed_headers: tuple[str, ...]
    signature: str
    amz_date: str  # YYYYMMDDTHHMMSSZ ("" when only a Date header was sent)
    expires: int | None = None  # presigned only
    session_token: str | None = None

    @property
    def scope(self) -> str:
        return f"{self.scope_date}/{self.region}/{self.service}/aws4_request"


@dataclasses.dataclass(frozen=True)
class Verified:
    credential: Credential
    params: AuthParams


# ---------------------------------------------------------------------------
# Parsing the auth parameters


def _header(headers: Mapping[str, str], name: str) -> str | None:
    """Case-insensitive single header lookup on any mapping."""
    v = headers.get(name)
    if v is not None or isinstance(headers, _CASELESS):
        return v  # a multidict's own lookup ignores case already: no walk for an absent header
    low = name.lower()
    for k, val in headers.items():
        if k.lower() == low:
            return val
    return None


# The front door's header types, whose lookups ignore case (CIMultiDictProxy is aiohttp's).
_CASELESS = (CIMultiDict, CIMultiDictProxy)


def _header_all(headers: Mapping[str, str], name: str) -> list[str]:
    getall = getattr(headers, "getall", None)
    if getall is not None:
        return list(getall(name, []))
    low = name.lower()
    return [v for k, v in headers.items() if k.lower() == low]


def _split_scope(credential: str, where: str) -> tuple[str, str, str, str]:
    parts = credential.split("/")
    if len(parts) != 5 or not all(parts):
        raise SigV4Failure(
            "incomplete",
            f"{where} requires 'Credential' parameter in the form "
            f"'AKID/YYYYMMDD/REGION/SERVICE/aws4_request', not '{credential}'.",
        )
    akid, date, region, service, terminator = parts
    if terminator != "aws4_request":
        raise SigV4Failure(
            "incomplete",
            f"Credential should be scoped with a valid terminator: 'aws4_request', not '{terminator}'.",
        )
    if len(date) != 8 or not date.isdigit():
        raise SigV4Failure("incomplete", f"Credential should be scoped to a valid date, not '{date}'.")
    return akid, date, region, service


def parse_authorization(value: str) -> dict[str, str]:
    """`AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=...` -> its fields."""
    algorithm, _, rest = value.strip().partition(" ")
    if algorithm != ALGORITHM:
        raise SigV4Failure("incomplete", f"Unsupported AWS 'algorithm': '{algorithm}'")
    fields: dict[str, str] = {}
    for item in rest.split(","):
        k, eq, v = item.strip().partition("=")
        if eq:
            fields[k.strip()] = v.strip()
    missing = [k for k in ("Credential", "Signature", "SignedHeaders") if not fields.get(k)]
    if missing:
        msg = " ".join(f"Authorization header requires '{k}' parameter." for k in missing)
        raise SigV4Failure("incomplete", f"{msg} Authorization={value}")
    return fields


def extract_auth(headers: Mapping[str, str], query: Sequence[tuple[str, str]]) -> AuthParams | None:
    """The SigV4 parameters of a request (header or presigned query), None if it has none.

    `query` holds the decoded query pairs. Raises SigV4Failure("incomplete") when
    they are present but malformed.
    """
    authz = _header(headers, "Authorization")
    if authz:
        if not authz.startswith("AWS4-"):
            # SigV2 and other schemes are not accepted by the services cloudlet serves.
            raise SigV4Failure("incomplete", f"Unsupported AWS 'algorithm': '{authz.split(' ', 1)[0]}'")
        fields = parse_authorization(authz)
        akid, date, region, service = _split_scope(fields["Credential"], "Authorization header")
        amz_date = _header(headers, "X-Amz-Date") or ""
        if not amz_date and not _header(headers, "Date"):
            raise SigV4Failure(
                "incomplete",
                "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. "
                f"Authorization={authz}",
            )
        return AuthParams(
            mode="header",
            access_key_id=akid,
            scope_date=date,
            region=region,
            service=service,
            signed_headers=tuple(h for h in fields["SignedHeaders"].lower().split(";") if h),
            signature=fields["Signature"],
            amz_date=amz_date,
            session_token=_header(headers, "X-Amz-Security-Token"),
        )
    q = {k: v for k, v in query}
    if "X-Amz-Algorithm" not in q and "X-Amz-Signature" not in q and "X-Amz-Credential" not in q:
        return None
    required = ("X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Signature", "X-Amz-SignedHeaders", "X-Amz-Date")
    missing = [k for k in required if not q.get(k)]
    if missing:
        raise SigV4Failure(
            "incomplete",
            "AWS query-string parameters must include "
            + ", ".join(f"'{k}'" for k in required)
            + ". Re-examine the query-string parameters.",
        )
    if q["X-Amz-Algorithm"] != ALGORITHM:
        raise SigV4Failure("incomplete", f"Unsupported AWS 'algorithm': '{q['X-Amz-Algorithm']}'")
    akid, date, region, service = _split_scope(q["X-Amz-Credential"], "X-Amz-Credential")
    expires: int | None = None
    if "X-Amz-Expires" in q:
        try:
            expires = int(q["X-Amz-Expires"])
        except ValueError:
            raise SigV4Failure("incomplete", "X-Amz-Expires should be a number") from None
        if expires < 0:
            raise SigV4Failure("incomplete", "X-Amz-Expires must be non-negative")
        if expires > MAX_PRESIGN_EXPIRES_S:
            raise SigV4Failure("incomplete", "X-Amz-Expires must be less than a week (in seconds) that is 604800")
    return AuthParams(
        mode="query",
        access_key_id=akid,
        scope_date=date,
        region=region,
        service=service,
        signed_headers=tuple(h for h in q["X-Amz-SignedHeaders"].lower().split(";") if h),
        signature=q["X-Amz-Signature"],
        amz_date=q["X-Amz-Date"],
        expires=expires,
        session_token=q.get("X-Amz-Security-Token"),
    )


def scope_service_hint(headers: Mapping[str, str], query: Sequence[tuple[str, str]]) -> str | None:
    """The service named in a (possibly malformed) credential scope, to route its error."""
    authz = _header(headers, "Authorization") or ""
    cred = ""
    if "Credential=" in authz:
        cred = authz.split("Credential=", 1)[1].split(",", 1)[0].strip()
    else:
        cred = dict(query).get("X-Amz-Credential", "")
    parts = cred.split("/")
    return parts[3] if len(parts) >= 4 and parts[3] else None


# ---------------------------------------------------------------------------
# Canonical request, as AWS (and botocore) build it


# Header and URI text keeps any non-UTF-8 byte of the wire as a surrogate escape
# (aiohttp decodes with surrogateescape); the signed bytes are the wire's bytes.
_WIRE = "surrogateescape"


def _uri_encode(s: str) -> str:
    return quote(s, safe="-_.~", errors=_WIRE)


def _remove_dot_segments(path: str) -> str:
    """RFC 3986 dot-segment removal; AWS also collapses empty segments (//)."""
    if not path:
        return "/"
    out: list[str] = []
    for seg in path.split("/"):
        if seg and seg != ".":
            if seg == "..":
                if out:
                    out.pop()
            else:
                out.append(seg)
    first = "/" if path.startswith("/") else ""
    last = "/" if path.endswith("/") and out else ""
    return first + "/".join(out) + last or "/"


def canonical_uri(raw_path: str) -> str:
    """Non-S3 services normalize the path, then URI-encode the (already encoded) path again."""
    return quote(_remove_dot_segments(raw_path), safe="/~", errors=_WIRE)


def canonical_query(pairs: Iterable[tuple[str, str]]) -> str:
    """Decoded pairs -> sorted `k=v` list, each side URI-encoded with the unreserved set."""
    enc = sorted((_uri_encode(k), _uri_encode(v)) for k, v in pairs)
    return "&".join(f"{k}={v}" for k, v in enc)


def split_raw_query(raw_query: str) -> list[tuple[str, str]]:
    """Split a query string as received into decoded pairs ('+' stays '+', as SigV4 wants)."""
    pairs: list[tuple[str, str]] = []
    if not raw_query:
        return pairs
    for item in raw_query.split("&"):
        if not item:
            continue
        k, _, v = item.partition("=")
        pairs.append((unquote(k), unquote(v)))
    return pairs


def _trim(value: str) -> str:
    return " ".join(value.split())


def canonical_headers(headers: Mapping[str, str], signed: Sequence[str], host: str | None = None) -> str:
    lines = []
    for name in sorted(set(signed)):
        values = _header_all(headers, name)
        if not values and name == "host" and host is not None:
            values = [host]
        lines.append(f"{name}:{','.join(_trim(v) for v in values)}")
    return "\n".join(lines) + "\n"


def build_canonical_request(
    method: str,
    raw_path: str,
    query_pairs: Iterable[tuple[str, str]],
    headers: Mapping[str, str],
    signed_headers: Sequence[str],
    payload_hash: str,
    host: str | None = None,
) -> str:
    return "\n".join(
        [
            method.upper(),
            canonical_uri(raw_path),
            canonical_query(query_pairs),
            canonical_headers(headers, signed_headers, host),
            ";".join(sorted(set(signed_headers))),
            payload_hash,
        ]
    )


def string_to_sign(amz_date: str, scope: str, canonical_request: str) -> str:
    digest = hashlib.sha256(canonical_request.encode("utf-8", _WIRE)).hexdigest()
    return f"{ALGORITHM}\n{amz_date}\n{scope}\n{digest}"


def _hmac(key: bytes, msg: str) -> bytes:
    return hmac.digest(key, msg.encode("utf-8", _WIRE), "sha256")


@functools.lru_cache(maxsize=1024)
def signing_key(secret: str, date: str, region: str, service: str) -> bytes:
    # Cached: a key is good for a whole day, and deriving it costs four HMACs.
    k = _hmac(("AWS4" + secret).encode("utf-8"), date)
    k = _hmac(k, region)
    k = _hmac(k, service)
    return _hmac(k, "aws4_request")


def signature(secret: str, params: AuthParams, sts: str) -> str:
    key = signing_key(secret, params.scope_date, params.region, params.service)
    return hmac.digest(key, sts.encode("utf-8", _WIRE), "sha256").hex()


# ---------------------------------------------------------------------------
# Time checks


def _fmt(ts: float) -> str:
    return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(ts))


@functools.lru_cache(maxsize=64)
def parse_amz_date(value: str) -> float | None:
    """YYYYMMDDTHHMMSSZ -> epoch seconds (None if malformed)."""
    if len(value) != 16 or value[8] != "T" or value[15] != "Z" or not (value[:8] + value[9:15]).isdigit():
        return None
    try:
        t = (int(value[0:4]), int(value[4:6]), int(value[6:8]), int(value[9:11]), int(value[11:13]),
             int(value[13:15]))
        datetime.datetime(*t)  # validates the calendar date
    except ValueError:
        return None
    return float(calendar.timegm(t + (0, 0, 0)))


def _request_time(params: AuthParams, headers: Mapping[str, str]) -> tuple[str, float]:
    """The request's signing timestamp (string as signed, epoch seconds), on the
    credential scope's date."""
    if params.amz_date:
        ts = parse_amz_date(params.amz_date)
        if ts is None:
            raise SigV4Failure(
                "incomplete",
                f"Date must be in ISO-8601 'basic format'. Got '{params.amz_date}'. "
                "See http://en.wikipedia.org/wiki/ISO_8601",
            )
    else:
        date_hdr = _header(headers, "Date") or ""
        try:
            ts = parsedate_to_datetime(date_hdr).timestamp()
        except (TypeError, ValueError):
            raise SigV4Failure("incomplete", f"Date header is not a valid HTTP date: '{date_hdr}'") from None
    amz = params.amz_date or _fmt(ts)
    if amz[:8] != params.scope_date:
        raise SigV4Failure(
            "bad_signature",
            f"Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: "
            f"'{params.scope_date}' != '{amz[:8]}', from '{'x-amz-date' if params.amz_date else 'date'}'.",
        )
    return amz, ts


def _check_not_future(amz: str, ts: float, now: float) -> None:
    if ts > now + MAX_SKEW_S:
        raise SigV4Failure(
            "skewed",
            f"Signature not yet current: {amz} is still later than {_fmt(now + MAX_SKEW_S)} ({_fmt(now)} + 5 min.)",
        )


def _check_skew(amz: str, ts: float, now: float) -> None:
    if ts < now - MAX_SKEW_S:
        raise SigV4Failure(
            "skewed",
            f"Signature expired: {amz} is now earlier than {_fmt(now - MAX_SKEW_S)} ({_fmt(now)} - 5 min.)",
        )
    _check_not_future(amz, ts, now)


def _check_presign_window(params: AuthParams, amz: str, ts: float, now: float) -> None:
    # Outside S3, AWS honours a presigned URL for 15 minutes at most, whatever a
    # longer X-Amz-Expires says; a shorter one is honoured as given.
    window = min(params.expires, PRESIGN_WINDOW_S) if params.expires is not None else PRESIGN_WINDOW_S
    if now > ts + window:
        span = f"{window // 60} min." if window % 60 == 0 else f"{window} sec."
        raise SigV4Failure(
            "presign_expired",
            f"Signature expired: {amz} is now earlier than {_fmt(now - window)} ({_fmt(now)} - {span})",
        )
    _check_not_future(amz, ts, now)


# ---------------------------------------------------------------------------
# Verification


def _lookup(credentials: CredentialRegistry, params: AuthParams, now: float) -> Credential:
    cred = credentials.get(params.access_key_id)
    if cred is None or not cred.active:
        raise SigV4Failure("unknown_key", INVALID_TOKEN_MESSAGE)
    if cred.session_token is not None:
        if not params.session_token or not hmac.compare_digest(
            params.session_token.encode("utf-8", _WIRE), cred.session_token.encode()
        ):
            raise SigV4Failure("bad_token", INVALID_TOKEN_MESSAGE)
        if cred.expired(now):
            raise SigV4Failure("expired_token", EXPIRED_TOKEN_MESSAGE)
    elif params.session_token:
        # A long-term key does not come with a session token.
        raise SigV4Failure("bad_token", INVALID_TOKEN_MESSAGE)
    return cred


def _check_signature(
    cred: Credential,
    params: AuthParams,
    amz: str,
    canonical_requests: Sequence[str],
) -> None:
    """Accept if any candidate canonical request yields the given signature."""
    first_sts = ""
    for cr in canonical_requests:
        sts = string_to_sign(amz, params.scope, cr)
        first_sts = first_sts or sts
        expected = signature(cred.secret_access_key, params, sts)
        if hmac.compare_digest(expected.encode(), params.signature.lower().encode("utf-8", _WIRE)):
            return
    raise SigV4Failure("bad_signature", SIGNATURE_MISMATCH_MESSAGE, canonical_requests[0], first_sts)


def verify_request(
    credentials: CredentialRegistry,
    method: str,
    raw_path: str,
    raw_query: str,
    headers: Mapping[str, str],
    body: bytes,
    now: float | None = None,
    params: AuthParams | None = None,
) -> Verified:
    """Verify a signed API request exactly as received (raw path and query string)."""
    now = time.time() if now is None else now
    pairs = split_raw_query(raw_query)
    if params is None:
        params = extract_auth(headers, pairs)
    if params is None:
        raise SigV4Failure("missing", "Request is missing Authentication Token")
    if params.mode == "query":
        return _verify_query(credentials, method, raw_path, pairs, headers, body, params, now)
    amz, ts = _request_time(params, headers)
    _check_skew(amz, ts, now)
    cred = _lookup(credentials, params, now)
    if "host" not in params.signed_headers:
        raise SigV4Failure("bad_signature", "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.")
    body_hash = hashlib.sha256(body).hexdigest()
    payload = _header(headers, "X-Amz-Content-SHA256") or body_hash
    if payload not in (body_hash, UNSIGNED_PAYLOAD):
        # A signed payload hash that is not the body's would let the body be swapped.
        raise SigV4Failure("bad_signature", "The provided 'x-amz-content-sha256' header does not match what was computed.")
    cr = build_canonical_request(method, raw_path, pairs, headers, params.signed_headers, payload)
    _check_signature(cred, params, amz, [cr])
    return Verified(cred, params)


def _verify_query(
    credentials: CredentialRegistry,
    method: str,
    raw_path: str,
    pairs: list[tuple[str, str]],
    headers: Mapping[str, str],
    body: bytes,
    params: AuthParams,
    now: float,
    host: str | None = None,
) -> Verified:
    amz, ts = _request_time(params, headers)
    _check_presign_window(params, amz, ts, now)
    cred = _lookup(credentials, params, now)
    signed_pairs = [(k, v) for k, v in pairs if k != "X-Amz-Signature"]
    # Presigners differ: botocore hashes the (empty) body, S3-style ones say UNSIGNED-PAYLOAD.
    hashes = [hashlib.sha256(body).hexdigest(), UNSIGNED_PAYLOAD]
    content_sha = _header(headers, "X-Amz-Content-SHA256")
    if content_sha:
        hashes.insert(0, content_sha)
    candidates = [
        build_canonical_request(method, raw_path, signed_pairs, headers, params.signed_headers, h, host)
        for h in hashes
    ]
    _check_signature(cred, params, amz, candidates)
    return Verified(cred, params)


def verify_presigned_url(
    credentials: CredentialRegistry,
    method: str,
    host: str,
    path: str,
    query: Sequence[tuple[str, str]],
    now: float | None = None,
    service: str | None = None,
) -> Verified:
    """Verify a presigned URL given as parts (decoded query pairs, raw path).

    `host` is the value signed as the `host` header. When `service` is given the
    credential scope must name it (an ElastiCache token is scoped to `elasticache`).
    """
    now = time.time() if now is None else now
    params = extract_auth({}, query)
    if params is None or params.mode != "query":
        raise SigV4Failure("missing", "Request is missing Authentication Token")
    if service is not None and params.service != service:
        raise SigV4Failure(
            "bad_signature", f"Credential should be scoped to correct service: '{service}'. "
        )
    return _verify_query(credentials, method, path or "/", list(query), {}, b"", params, now, host=host)


def verify_presigned_token(
    credentials: CredentialRegistry,
    token: str,
    service: str = "elasticache",
    now: float | None = None,
) -> tuple[Verified, str, list[tuple[str, str]]]:
    """Verify an auth token = a presigned GET URL with its scheme stripped.

    Returns (verified, host, decoded query pairs) so the caller can check
    the host (cache name), Action, User and ResourceType itself.
    """
    url = token.split("://", 1)[1] if "://" in token else token
    hostpath, _, raw_query = url.partition("?")
    host, slash, path = hostpath.partition("/")
    if not host or not raw_query:
        raise SigV4Failure("incomplete", "The token is not a presigned URL.")
    pairs = split_raw_query(raw_query)
    verified = verify_presigned_url(credentials, "GET", host, slash + path, pairs, now=now, service=service)
    return verified, host, pairs


