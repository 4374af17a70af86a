"""Condition operators, evaluated as AWS documents them.

Within one Condition block every operator must hold and, within an operator,
every key (AND); a key holds when the request's value matches any policy value
(OR). Negated operators hold when no policy value matches, and also when the
key is absent. `...IfExists` holds for an absent key; `ForAllValues:` holds for
an absent or empty key and `ForAnyValue:` does not.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import functools
import ipaddress
from collections.abc import Callable, Mapping
from typing import Any

from cloudlet.policy.matching import arn_matcher, string_like_matcher
from cloudlet.policy.variables import plain, substitute

ValueMatch = Callable[[Any, str], bool]


def _s(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


def _number(v: Any) -> float | None:
    if isinstance(v, bool):
        return None
    try:
        return float(v)
    except (TypeError, ValueError):
        return None


@functools.lru_cache(maxsize=4096)
def _parse_date(text: str) -> float | None:
    t = text.strip()
    try:
        return float(t)  # epoch seconds
    except ValueError:
        pass
    if t.endswith("Z") or t.endswith("z"):
        t = t[:-1] + "+00:00"
    try:
        d = dt.datetime.fromisoformat(t)
    except ValueError:
        return None
    if d.tzinfo is None:
        d = d.replace(tzinfo=dt.UTC)
    return d.timestamp()


def _date(v: Any) -> float | None:
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return float(v)
    if isinstance(v, dt.datetime):
        return (v if v.tzinfo else v.replace(tzinfo=dt.UTC)).timestamp()
    return _parse_date(str(v))


@functools.lru_cache(maxsize=4096)
def _network(text: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network | None:
    try:
        return ipaddress.ip_network(text.strip(), strict=False)
    except ValueError:
        return None


def _ip_in(v: Any, p: str) -> bool:
    net = _network(p)
    try:
        ip = ipaddress.ip_address(str(v).strip())
    except ValueError:
        return False
    return net is not None and ip.version == net.version and ip in net


def _bytes(v: Any) -> bytes | None:
    if isinstance(v, (bytes, bytearray)):
        return bytes(v)
    try:
        return base64.b64decode(str(v), validate=True)
    except (binascii.Error, ValueError):
        return None


def _binary_eq(v: Any, p: str) -> bool:
    a, b = _bytes(v), _bytes(p)
    return a is not None and a == b


def _num_cmp(op: Callable[[float, float], bool]) -> ValueMatch:
    def m(v: Any, p: str) -> bool:
        a, b = _number(v), _number(p)
        return a is not None and b is not None and op(a, b)

    return m


def _date_cmp(op: Callable[[float, float], bool]) -> ValueMatch:
    def m(v: Any, p: str) -> bool:
        a, b = _date(v), _date(p)
        return a is not None and b is not None and op(a, b)

    return m


# Base operator name -> (positive matcher, negated?)
_BASE: dict[str, tuple[ValueMatch, bool]] = {}


def _reg(names: tuple[str, str | None], m: ValueMatch) -> None:
    pos, neg = names
    _BASE[pos.lower()] = (m, False)
    if neg:
        _BASE[neg.lower()] = (m, True)


_reg(("StringEquals", "StringNotEquals"), lambda v, p: _s(v) == plain(p))
_reg(("StringEqualsIgnoreCase", "StringNotEqualsIgnoreCase"), lambda v, p: _s(v).casefold() == plain(p).casefold())
_reg(("StringLike", "StringNotLike"), lambda v, p: string_like_matcher(p)(_s(v)))
_reg(("NumericEquals", "NumericNotEquals"), _num_cmp(lambda a, b: a == b))
_reg(("NumericLessThan", None), _num_cmp(lambda a, b: a < b))
_reg(("NumericLessThanEquals", None), _num_cmp(lambda a, b: a <= b))
_reg(("NumericGreaterThan", None), _num_cmp(lambda a, b: a > b))
_reg(("NumericGreaterThanEquals", None), _num_cmp(lambda a, b: a >= b))
_reg(("DateEquals", "DateNotEquals"), _date_cmp(lambda a, b: a == b))
_reg(("DateLessThan", None), _date_cmp(lambda a, b: a < b))
_reg(("DateLessThanEquals", None), _date_cmp(lambda a, b: a <= b))
_reg(("DateGreaterThan", None), _date_cmp(lambda a, b: a > b))
_reg(("DateGreaterThanEquals", None), _date_cmp(lambda a, b: a >= b))
_reg(("Bool", None), lambda v, p: _s(v).lower() == plain(p).lower())
_reg(("BinaryEquals", None), _binary_eq)
_reg(("IpAddress", "NotIpAddress"), _ip_in)
_reg(("ArnEquals", "ArnNotEquals"), lambda v, p: arn_matcher(p)(_s(v)))
_reg(("ArnLike", "ArnNotLike"), lambda v, p: arn_matcher(p)(_s(v)))


@functools.lru_cache(maxsize=1024)
def _split_operator(operator: str) -> tuple[str, str, bool] | None:
    """-> (set qualifier '', 'all' or 'any'; base name lower-case; if_exists)."""
    name = operator
    qualifier = ""
    low = name.lower()
    if low.startswith("forallvalues:"):
        qualifier, name = "all", name[len("ForAllValues:") :]
    elif low.startswith("foranyvalue:"):
        qualifier, name = "any", name[len("ForAnyValue:") :]
    low = name.lower()
    if_exists = False
    if low.endswith("ifexists") and low != "null":
        if_exists, low = True, low[: -len("ifexists")]
    if low == "null":
        return (qualifier, low, if_exists) if not (qualifier or if_exists) else None
    if low not in _BASE:
        return None
    return qualifier, low, if_exists


def operator_known(operator: str) -> bool:
    return isinstance(operator, str) and _split_operator(operator) is not None


def _policy_values(values: Any) -> list[str]:
    return [_s(v) for v in (values if isinstance(values, list) else [values])]


def key_holds(operator: str, values: Any, context: Mapping[str, Any], key: str, use_variables: bool) -> bool:
    """Does one `operator: {key: values}` entry hold for CONTEXT (keys lower-cased)?"""
    split = _split_operator(operator)
    if split is None:
        return False  # an operator IAM's grammar would have refused
    qualifier, base, if_exists = split
    present = context.get(key.lower())
    pvalues = _policy_values(values)

    if base == "null":
        absent = present is None or (isinstance(present, (list, tuple)) and len(present) == 0)
        return any(p.lower() == ("true" if absent else "false") for p in pvalues)

    if use_variables:
        filled = [substitute(p, context) for p in pvalues]
        pvalues = [p for p in filled if p is not None]

    match, negated = _BASE[base]

    def one(v: Any) -> bool:
        hit = any(match(v, p) for p in pvalues)
        return not hit if negated else hit

    if present is None:
        if if_exists:
            return True
        if qualifier == "all":
            return True
        if qualifier == "any":
            return False
        return negated
    request_values = list(present) if isinstance(present, (list, tuple)) else [present]
    if qualifier == "all":
        return all(one(v) for v in request_values)
    if qualifier == "any":
        return any(one(v) for v in request_values)
    if negated:
        # A single-valued negated operator: no request value matches any policy value.
        return not any(any(match(v, p) for p in pvalues) for v in request_values)
    return any(one(v) for v in request_values)


def condition_holds(condition: Mapping[str, Mapping[str, Any]], context: Mapping[str, Any], use_variables: bool) -> bool:
    for operator, block in condition.items():
        for key, values in block.items():
            if not key_holds(operator, values, context, key, use_variables):
                return False
    return True
