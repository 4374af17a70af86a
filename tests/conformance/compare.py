"""Judge a boto3 response against a response AWS sent, as LocalStack recorded it.

A recording replaces what varies between runs by placeholders: ``<name:N>`` (one
value, the same everywhere the same placeholder appears), ``<name>`` (some value),
``<datetime>``, and bare kebab-case words where a whole number was replaced
(``"creationTime": "timestamp"``). Account ids are recorded as 111111111111 and the
partition as ``<partition>``. Everything else is compared as it is: the keys at every
level, value types, literal values, status codes, error codes and messages.
"""

from __future__ import annotations

import datetime
import json
import re
from typing import Any

RECORDED_ACCOUNT = "111111111111"
PLACEHOLDER = re.compile(r"<([a-zA-Z0-9_.:\-]+?)(?::(\d+))?>")
# A value replaced by a key-value transformer with its name (numbers, usually).
REPLACED_WORD = re.compile(r"^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$")
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
# The shape a placeholder's value must have, by placeholder name.
SHAPES: dict[str, re.Pattern[str]] = {
    "uuid": UUID,
    "request-id": UUID,
    "role-id": re.compile(r"^AROA[A-Z0-9]{17}$"),
    "user-id": re.compile(r"^AIDA[A-Z0-9]{17}$"),
    "policy-id": re.compile(r"^ANPA[A-Z0-9]{17}$"),
    "access-key-id": re.compile(r"^(AKIA|ASIA)[A-Z0-9]{16}$"),
    "vpc-id": re.compile(r"^vpc-[0-9a-f]{8,17}$"),
    "subnet-id": re.compile(r"^subnet-[0-9a-f]{8,17}$"),
    # EC2 security groups and IAM groups share the name.
    "group-id": re.compile(r"^(sg-[0-9a-f]{8,17}|AGPA[A-Z0-9]{17})$"),
    "security-group-id": re.compile(r"^sg-[0-9a-f]{8,17}$"),
    "region-code": re.compile(r"^[a-z]{2,4}\d$"),  # use1: the region in cache endpoint names
    "sha-256": re.compile(r"^[A-Za-z0-9+/]{43}=$"),
    "code-sha256": re.compile(r"^[A-Za-z0-9+/]{43}=$"),  # Lambda's CodeSha256: base64 of a SHA-256
    "secret-access-key": re.compile(r"^[A-Za-z0-9/+]{40}$"),
}
# ISO-8601 as the JSON protocols send it (Lambda's LastModified).
ISO_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?([+-]\d{4}|[+-]\d\d:\d\d|Z)$")


class Judge:
    """Compares responses of one scenario; placeholders bind across all of them."""

    def __init__(self, account: str, region: str, documented: bool = False) -> None:
        self.account = account
        self.region = region
        self.bindings: dict[str, Any] = {}
        # A documented example, not a recording: it may predate members AWS sends today, so
        # extra keys pass and lists are compared item by item as far as both go.
        self.documented = documented

    def differences(self, recorded: Any, actual: Any, path: str = "$") -> list[str]:
        if isinstance(recorded, dict):
            return self._dict(recorded, actual, path)
        if isinstance(recorded, list):
            actual = _json_text(actual)
            if not isinstance(actual, list):
                return [f"{path}: AWS sends a list, got {type(actual).__name__} {actual!r:.80}"]
            if self.documented and recorded and not actual:
                return [f"{path}: AWS's example has items, got none"]
            if len(recorded) != len(actual) and not self.documented:
                return [f"{path}: AWS sends {len(recorded)} items, got {len(actual)}"]
            out: list[str] = []
            for i, (r, a) in enumerate(zip(recorded, actual, strict=False)):
                out += self.differences(r, a, f"{path}[{i}]")
            return out
        if isinstance(recorded, str):
            return self._string(recorded, actual, path)
        if type(recorded) is not type(actual):
            return [f"{path}: AWS sends {type(recorded).__name__} {recorded!r}, got {type(actual).__name__} {actual!r:.80}"]
        if recorded != actual:
            return [f"{path}: AWS sends {recorded!r}, got {actual!r}"]
        return []

    def _dict(self, recorded: dict[str, Any], actual: Any, path: str) -> list[str]:
        actual = _json_text(actual)
        if not isinstance(actual, dict):
            return [f"{path}: AWS sends an object, got {type(actual).__name__} {actual!r:.80}"]
        out: list[str] = []
        if path == "$" and "ResponseMetadata" in recorded:
            # Recorded without headers; the status code is what counts.
            want = recorded["ResponseMetadata"].get("HTTPStatusCode")
            got = actual.get("ResponseMetadata", {}).get("HTTPStatusCode")
            if want != got:
                out.append(f"$.ResponseMetadata.HTTPStatusCode: AWS sends {want}, got {got}")
            recorded = {k: v for k, v in recorded.items() if k != "ResponseMetadata"}
            actual = {k: v for k, v in actual.items() if k != "ResponseMetadata"}
        for key in sorted(recorded.keys() - actual.keys()):
            out.append(f"{path}.{key}: AWS sends it ({recorded[key]!r:.60}), missing")
        for key in sorted(actual.keys() - recorded.keys()) if not self.documented else ():
            out.append(f"{path}.{key}: AWS does not send it, got {actual[key]!r:.60}")
        # Plain strings bind their placeholders first, so that a template with two
        # adjacent placeholders (``role<path:1><role-name:1>``) is read with them known.
        for key in sorted(recorded.keys() & actual.keys(), key=lambda k: _binding_order(recorded[k])):
            out += self.differences(recorded[key], actual[key], f"{path}.{key}")
        return out

    def _string(self, recorded: str, actual: Any, path: str) -> list[str]:
        if recorded == "<datetime>":
            if isinstance(actual, datetime.datetime) or (isinstance(actual, str) and ISO_TIME.match(actual)):
                return []
            return [f"{path}: AWS sends a timestamp, got {actual!r:.80}"]
        if REPLACED_WORD.match(recorded) and isinstance(actual, int | float) and not isinstance(actual, bool):
            return []
        if recorded == "timestamp" and (isinstance(actual, datetime.datetime) or (
                isinstance(actual, list) and all(isinstance(t, datetime.datetime) for t in actual))):
            return []  # CloudWatch's Timestamp(s), replaced by LocalStack's cloudwatch transformer
        if recorded == "date":  # LocalStack's name for a replaced ISO-8601 time (Lambda's LastModified)
            if isinstance(actual, str) and ISO_TIME.match(actual):
                return []
            return [f"{path}: AWS sends an ISO-8601 time, got {actual!r:.80}"]
        whole = PLACEHOLDER.fullmatch(recorded)
        if whole is not None and isinstance(actual, int | float) and not isinstance(actual, bool):
            # A number replaced by a placeholder: any number, bound like a string.
            return self._template(recorded, str(actual), path)
        if not isinstance(actual, str):
            return [f"{path}: AWS sends a string {recorded!r:.60}, got {type(actual).__name__} {actual!r:.60}"]
        if "<" not in recorded:
            want = recorded.replace(RECORDED_ACCOUNT, self.account)
            return [] if want == actual else [f"{path}: AWS sends {want!r}, got {actual!r}"]
        return self._template(recorded, actual, path)

    def _template(self, recorded: str, actual: str, path: str) -> list[str]:
        pattern = ""
        names: list[tuple[str, str | None]] = []
        pos = 0
        for m in PLACEHOLDER.finditer(recorded):
            pattern += re.escape(recorded[pos : m.start()].replace(RECORDED_ACCOUNT, self.account))
            name, index = m.group(1), m.group(2)
            bound = self.bindings.get(f"{name}:{index}" if index is not None else name)
            if bound is not None:
                pattern += re.escape(bound)
            elif name == "partition":
                pattern += "aws"
            elif name == "region":
                pattern += re.escape(self.region)
            else:
                pattern += "(.+?)" if m.end() < len(recorded) else "(.+)"
                names.append((name, index))
            pos = m.end()
        pattern += re.escape(recorded[pos:].replace(RECORDED_ACCOUNT, self.account))
        found = re.fullmatch(pattern, actual, re.DOTALL)
        if found is None:
            return [f"{path}: AWS sends {recorded!r}, got {actual!r}"]
        out: list[str] = []
        for (name, index), value in zip(names, found.groups(), strict=True):
            shape = SHAPES.get(name)
            if shape is not None and not shape.match(value):
                out.append(f"{path}: <{name}> has the wrong shape: {value!r}")
            if index is None and name in self.bindings and self.bindings[name] != value:
                out.append(f"{path}: <{name}> is {self.bindings[name]!r}, here {value!r}")
            if index is not None:
                key = f"{name}:{index}"
                bound = self.bindings.setdefault(key, value)
                if bound != value:
                    out.append(f"{path}: <{key}> was {bound!r} elsewhere, here {value!r}")
        return out


def _binding_order(value: Any) -> tuple[int, int]:
    if isinstance(value, str):
        return (0, len(PLACEHOLDER.findall(value)))
    return (1, 0)


def _json_text(value: Any) -> Any:
    """A JSON document sent as a string (Lambda's Policy, Statement, Invoke Payload), parsed:
    the recordings hold it parsed."""
    if isinstance(value, str) and value[:1] in ("{", "["):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value
