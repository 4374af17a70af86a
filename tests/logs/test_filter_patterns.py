"""The filter pattern language, case by case (the documented examples first)."""

from __future__ import annotations

import json

import pytest

from cloudlet.core.errors import AWSError
from cloudlet.services.logs.filter_pattern import compile_pattern
from cloudlet.services.logs.filter_pattern.delimited import split_fields

# Messages from the CloudWatch Logs filter pattern documentation.
JAVA_ERR = "[ERROR 400] BAD REQUEST"
JAVA_EXC = "[ERROR] Caught IllegalArgumentException"
INTERNAL = "[ERROR] INTERNAL SERVER ERROR"
WARN = "[WARN] Low disk space"
INFO = "[INFO] Exiting normally"
ERROR_EXIT = "[ERROR] Exiting due to error"

TRAIL = json.dumps(
    {
        "eventType": "UpdateTrail",
        "sourceIPAddress": "111.111.111.111",
        "arrayKey": ["value", "another value"],
        "objectList": [{"name": "a", "id": 1}, {"name": "b", "id": 2}],
        "SomeObject": None,
        "cidrIp": "0.0.0.0/0",
        "ThisFlag": True,
        "bandwidth": 80,
        "latency": 100.5,
        "code": "200",
    }
)
USERS = json.dumps(
    {
        "user": {"id": 1, "email": "John.Stiles@example.com"},
        "users": [{"id": 2, "email": "John.Doe@example.com"}, {"id": 3, "email": "Jane.Doe@example.com"}],
        "actions": ["GET", "PUT", "DELETE"],
        "coordinates": [[0, 1], [1, 0]],
    }
)
APACHE = '127.0.0.1 - frank [10/Oct/2000:13:25:15 -0700] "GET /apache_pb.gif HTTP/1.0" 200 1534'
APACHE_404 = '127.0.0.1 - frank [10/Oct/2000:13:25:15 -0700] "GET /index.html HTTP/1.0" 404 2326'

CASES: list[tuple[str, str, bool]] = [
    # --- text: terms, phrases, OR, exclusion, match-all
    ("ERROR", JAVA_EXC, True),
    ("ERROR", WARN, False),
    ("ERROR", "[error] lower case", False),
    ("ERROR Exception", JAVA_EXC, True),
    ("ERROR Exception", JAVA_ERR, False),
    ('"INTERNAL SERVER ERROR"', INTERNAL, True),
    ('"INTERNAL SERVER ERROR"', "[ERROR] INTERNAL ERROR SERVER", False),
    ("?ERROR ?WARN", WARN, True),
    ("?ERROR ?WARN", JAVA_EXC, True),
    ("?ERROR ?WARN", INFO, False),
    ("ERROR -Exiting", JAVA_EXC, True),
    ("ERROR -Exiting", ERROR_EXIT, False),
    ('ERROR -"Exiting due"', ERROR_EXIT, False),
    ("-Exiting", WARN, True),
    ("-Exiting", INFO, False),
    ("", INFO, True),
    ('" "', "nospaces", True),
    ('""', INFO, True),
    ('"from Valkey"', "Success: Inserted ab. Fetched ab from Valkey", True),
    ('"from Valkey"', "Success: from valkey", False),
    ('"[ERROR]"', JAVA_EXC, True),
    ('?"ERROR 400" ?"ERROR 500"', JAVA_ERR, True),
    # --- text: regex
    ("%ERROR [0-9]{3}%", JAVA_ERR, True),
    ("%ERROR [0-9]{3}%", JAVA_EXC, False),
    ("%^\\[WARN\\]%", WARN, True),
    ("%^\\[WARN\\]%", "x [WARN]", False),
    ("%Ex[a-z]+ing%", INFO, True),
    # --- JSON: the documented examples
    ('{ $.eventType = "UpdateTrail" }', TRAIL, True),
    ("{ $.eventType = UpdateTrail }", TRAIL, True),
    ('{ $.eventType = "Update*" }', TRAIL, True),
    ('{ $.eventType = "Create*" }', TRAIL, False),
    ("{ $.sourceIPAddress != 123.123.* }", TRAIL, True),
    ("{ $.sourceIPAddress != 111.111.* }", TRAIL, False),
    ('{ $.arrayKey[0] = "value" }', TRAIL, True),
    ('{ $.arrayKey[1] = "value" }', TRAIL, False),
    ('{ $.arrayKey[*] = "another value" }', TRAIL, True),
    ("{ $.objectList[1].id = 2 }", TRAIL, True),
    ("{ $.objectList[1].id = 1 }", TRAIL, False),
    ("{ $.SomeObject IS NULL }", TRAIL, True),
    ("{ $.eventType IS NULL }", TRAIL, False),
    ("{ $.SomeOtherObject NOT EXISTS }", TRAIL, True),
    ("{ $.SomeObject NOT EXISTS }", TRAIL, False),
    ("{ $.ThisFlag IS TRUE }", TRAIL, True),
    ("{ $.ThisFlag IS FALSE }", TRAIL, False),
    ('{ $.cidrIp = "0.0.0.0/0" }', TRAIL, True),
    ("{ $.bandwidth > 75 }", TRAIL, True),
    ("{ $.bandwidth < 75 }", TRAIL, False),
    ("{ $.bandwidth >= 80 && $.bandwidth <= 80 }", TRAIL, True),
    ("{ $.latency <= 100 }", TRAIL, False),
    ("{ $.latency > 100.4 }", TRAIL, True),
    ("{ $.bandwidth = 80 }", TRAIL, True),
    ("{ $.bandwidth != 80 }", TRAIL, False),
    ("{ $.bandwidth = 8* }", TRAIL, True),
    ("{ $.eventType > 1 }", TRAIL, False),
    ("{ $.code = 200 }", TRAIL, True),
    ('{ $.bandwidth = "*" }', TRAIL, True),
    ('{ $.missing = "*" }', TRAIL, False),
    ("{ $.missing != 1 }", TRAIL, False),
    ("{ $.eventType = %Update[A-Z]rail% }", TRAIL, True),
    ("{ $.eventType != %^Create% }", TRAIL, True),
    ('{ $.eventType = "UpdateTrail" }', "not json at all", False),
    ('{ $.eventType = "UpdateTrail" }', '["UpdateTrail"]', False),
    # --- JSON: compound expressions from the docs
    ('{ ($.user.id = 1) && ($.users[0].email = "John.Doe@example.com") }', USERS, True),
    ('{ ($.user.id = 2 && $.users[0].email = "nonmatch") || $.actions[2] = "GET" }', USERS, False),
    ('{ $.user.email = "John.Stiles@example.com" || $.coordinates[0][1] = nonmatch && $.actions[2] = nomatch }', USERS, True),
    ('{ ($.user.email = "John.Stiles@example.com" || $.coordinates[0][1] = nonmatch) && $.actions[2] = nomatch }', USERS, False),
    ("{ $.coordinates[0][1] = 1 }", USERS, True),
    ('{ $.users[*].email = "Jane.*" }', USERS, True),
    ("{ $.user.* = 1 }", USERS, True),
    # --- space-delimited
    ("[ip, user, username, timestamp, request, status_code, bytes]", APACHE, True),
    ("[ip, user, username, timestamp, request, status_code]", APACHE, False),
    ("[ip, user, username, timestamp, request, status_code, bytes, extra]", APACHE, False),
    ("[ip, user, username, timestamp, request, status_code = 4*, bytes]", APACHE_404, True),
    ("[ip, user, username, timestamp, request, status_code = 4*, bytes]", APACHE, False),
    ("[ip, user, username, timestamp, request, status_code = 404 || status_code = 200, bytes]", APACHE, True),
    ("[ip, user, username, timestamp, request, status_code = 404 || status_code = 410, bytes]", APACHE, False),
    ("[ip, user, ..., status_code = 200, bytes > 1000]", APACHE, True),
    ("[ip, user, ..., status_code = 200, bytes > 2000]", APACHE, False),
    ("[..., status_code = 404, bytes]", APACHE_404, True),
    ("[..., status_code = 404, ...]", APACHE_404, True),
    ("[..., bytes = 2326]", APACHE_404, True),
    ('[ip, user, username, timestamp, request = "*html*", status_code, bytes]', APACHE_404, True),
    ('[ip, user, username, timestamp, request = "*html*", status_code, bytes]', APACHE, False),
    ("[ip, user = -, username = frank, ...]", APACHE, True),
    ("[ip, user, username != frank, ...]", APACHE, False),
    ('[ip, user, username, timestamp = "10/Oct/2000*", ...]', APACHE, True),
    ("[ip = %127\\.0\\.0\\.[1-9]%, ...]", APACHE, True),
    ("[ip = %^10\\.%, ...]", APACHE, False),
    ("[ip, user, username, timestamp, request, status_code = 200 && bytes < 2000, bytes]", APACHE, True),
    ("[ip, user, username, timestamp, request, status_code = 200 && bytes < 1000, bytes]", APACHE, False),
    ("[w1, w2]", "hello world", True),
    ("[..., a = x, ..., b = y, ..., c = z, ...]", " ".join(["x"] * 60 + ["y"] * 60 + ["w"] * 60 + ["z"]), True),
    ("[..., a = x, ..., b = y, ..., c = z, ...]", " ".join(["x"] * 60 + ["y"] * 60 + ["w"] * 60), False),
    ("[w1, w2]", "hello  big world", False),
]


@pytest.mark.parametrize(("pattern", "message", "expected"), CASES)
def test_pattern(pattern: str, message: str, expected: bool) -> None:
    assert compile_pattern(pattern)(message) is expected


INVALID = [
    "{ $.x = }",
    "{ $.x == 1 }",
    "{ x = 1 }",
    "{ $.x = 1",
    "{ $.x = 1 } trailing",
    "{ $.x > abc }",
    "{ $.x < %re% }",
    "{ $.x IS MAYBE }",
    "{ $. = 1 }",
    "[a, b",
    "[a, a]",
    "[a, b = 1 && c = 2]",
    "[]",
    "%a(b)%",
    "%something!%",
    "%unterminated",
    "foo:bar",
    '"unterminated',
    '"a"b',
]


@pytest.mark.parametrize("pattern", INVALID)
def test_invalid_pattern_is_invalid_parameter(pattern: str) -> None:
    with pytest.raises(AWSError) as ei:
        compile_pattern(pattern)
    assert ei.value.code == "InvalidParameterException"
    assert ei.value.status == 400
    assert "filter pattern" in ei.value.message


def test_split_fields_keeps_quoted_and_bracketed_fields_whole() -> None:
    assert split_fields(APACHE) == [
        "127.0.0.1",
        "-",
        "frank",
        "10/Oct/2000:13:25:15 -0700",
        "GET /apache_pb.gif HTTP/1.0",
        "200",
        "1534",
    ]
