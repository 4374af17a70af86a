"""Identifier formats AWS uses (key ids, unique ids, resource ids, request ids)."""

from __future__ import annotations

import secrets
import string
import uuid

_UPPER_DIGITS = string.ascii_uppercase + "234567"


def aws_unique_id(prefix: str) -> str:
    """AKIA/ASIA/AIDA/AROA/ANPA + 16 chars of base32 alphabet, as IAM issues them."""
    return prefix + "".join(secrets.choice(_UPPER_DIGITS) for _ in range(16))


def secret_access_key() -> str:
    alphabet = string.ascii_letters + string.digits + "+/"
    return "".join(secrets.choice(alphabet) for _ in range(40))


def hex_id(prefix: str, length: int = 17) -> str:
    """EC2-style ids: vpc-0abc..., subnet-..., sg-..."""
    return f"{prefix}-{secrets.token_hex(length)[:length]}"


def request_id() -> str:
    return str(uuid.uuid4())
