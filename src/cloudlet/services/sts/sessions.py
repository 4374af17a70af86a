"""Temporary credentials: ASIA keys with a session token and an expiry."""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import secrets
import time

from cloudlet.core.context import Principal
from cloudlet.core.identity import Credential, CredentialRegistry
from cloudlet.core.ids import aws_unique_id, secret_access_key


def session_token() -> str:
    # Opaque, long and base64 like AWS's; only its equality matters.
    return "IQoJb3JpZ2luX2Vj" + base64.b64encode(secrets.token_bytes(240)).decode()


def expiration_of(cred: Credential) -> dt.datetime:
    assert cred.expires_at is not None
    return dt.datetime.fromtimestamp(int(cred.expires_at), dt.UTC)


def issue(registry: CredentialRegistry, principal: Principal, duration_s: int) -> Credential:
    """Register a new ASIA key for PRINCIPAL valid DURATION_S seconds from now."""
    key_id = aws_unique_id("ASIA")
    while registry.get(key_id) is not None:
        key_id = aws_unique_id("ASIA")
    principal = dataclasses.replace(principal, access_key_id=key_id)
    cred = Credential(
        access_key_id=key_id,
        secret_access_key=secret_access_key(),
        principal=principal,
        session_token=session_token(),
        expires_at=float(int(time.time()) + duration_s),
    )
    registry.add(cred)
    return cred


def credentials_shape(cred: Credential) -> dict[str, object]:
    return {
        "AccessKeyId": cred.access_key_id,
        "SecretAccessKey": cred.secret_access_key,
        "SessionToken": cred.session_token,
        "Expiration": expiration_of(cred),
    }
