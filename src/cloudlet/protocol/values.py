"""Scalar conversions shared by every wire format: timestamps, blobs, numbers.

Timestamps reach the protocol layer from providers as aware datetimes, epoch
numbers or already formatted strings; they leave it in the format the model asks
for (iso8601 for XML and query strings, epoch seconds for JSON bodies, rfc822
for headers unless a shape's `timestampFormat` says otherwise).
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import email.utils
import math
import re

UTC = dt.UTC

_ISO_RE = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?)?"
    r"\s*(Z|z|[+-]\d{2}:?\d{2})?"
)


class BadValue(ValueError):
    """A wire value that cannot be converted to its shape's type."""


def to_datetime(value: object) -> dt.datetime:
    """A provider's or client's timestamp as an aware UTC datetime."""
    if isinstance(value, dt.datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    if isinstance(value, bool):
        raise BadValue(repr(value))
    if isinstance(value, (int, float)):
        return dt.datetime.fromtimestamp(value, UTC)
    if isinstance(value, str):
        return parse_timestamp(value)
    raise BadValue(repr(value))


def parse_timestamp(text: str) -> dt.datetime:
    """iso8601, epoch seconds or rfc822 text -> aware UTC datetime."""
    s = text.strip()
    try:
        return dt.datetime.fromtimestamp(float(s), UTC)
    except (ValueError, OverflowError, OSError):
        pass
    m = _ISO_RE.fullmatch(s)
    if m:
        y, mo, d, hh, mm, ss, frac, tz = m.groups()
        micro = int((frac or "0")[:6].ljust(6, "0"))
        try:
            when = dt.datetime(int(y), int(mo), int(d), int(hh or 0), int(mm or 0), int(ss or 0), micro)
        except ValueError as exc:
            raise BadValue(text) from exc
        if tz and tz not in ("Z", "z"):
            sign = 1 if tz[0] == "+" else -1
            digits = tz[1:].replace(":", "")
            offset = dt.timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
            try:
                return (when - sign * offset).replace(tzinfo=UTC)
            except OverflowError as exc:  # e.g. 0001-01-01T00:00:00+01:00 falls before year 1
                raise BadValue(text) from exc
        return when.replace(tzinfo=UTC)
    try:
        parsed = email.utils.parsedate_to_datetime(s)
    except (TypeError, ValueError, IndexError) as exc:
        raise BadValue(text) from exc
    return to_datetime(parsed)


def epoch_number(when: dt.datetime) -> int | float:
    """Epoch seconds, an integer when there is no fractional part."""
    seconds = when.timestamp()
    return int(seconds) if seconds == int(seconds) else round(seconds, 3)


def format_timestamp(value: object, fmt: str) -> str | int | float:
    """A timestamp in `fmt` ('iso8601', 'unixTimestamp', 'rfc822'); strings pass as given."""
    if isinstance(value, str):
        return value
    when = to_datetime(value)
    if fmt == "unixTimestamp":
        return epoch_number(when)
    if fmt == "rfc822":
        return email.utils.format_datetime(when, usegmt=True)
    if when.microsecond:
        return when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def b64encode(value: object) -> str:
    if isinstance(value, str):
        value = value.encode("utf-8")
    if not isinstance(value, (bytes, bytearray, memoryview)):
        raise BadValue(repr(value))
    return base64.b64encode(bytes(value)).decode("ascii")


def b64decode(text: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise BadValue(text) from exc


def parse_bool(text: str) -> bool:
    low = text.strip().lower()
    if low == "true":
        return True
    if low == "false":
        return False
    raise BadValue(text)


def parse_int(text: str) -> int:
    try:
        return int(text.strip())
    except ValueError as exc:
        raise BadValue(text) from exc


def parse_float(text: str) -> float:
    try:
        return float(text.strip())
    except ValueError as exc:
        raise BadValue(text) from exc


def format_float(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    return repr(float(value))


def json_float(value: float) -> float | str:
    """JSON has no literal for NaN/Infinity; AWS sends them as strings."""
    if math.isnan(value) or math.isinf(value):
        return format_float(value)
    return value
