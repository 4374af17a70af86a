"""A plain HTTP client of the console (what a script, another local user or a rebinding page
would send), for the tests that check who the console refuses."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from typing import Any

from cloudlet_process import CloudletProcess


@dataclass
class Answer:
    status: int
    body: dict[str, Any]
    headers: dict[str, str]

    @property
    def code(self) -> str:
        return str(self.body.get("Error", {}).get("Code", ""))


@dataclass
class ConsoleHttp:
    server: CloudletProcess
    cookie: str = ""
    csrf: str = ""
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.server.console_port}"

    def request(self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None) -> Answer:
        h = {"Host": f"127.0.0.1:{self.server.console_port}", "Origin": self.origin}
        if body is not None:
            h["Content-Type"] = "application/json"
        if self.cookie:
            h["Cookie"] = self.cookie
        if self.csrf:
            h["X-Console-Csrf"] = self.csrf
        h.update(self.extra)
        h.update(headers or {})
        h = {k: v for k, v in h.items() if v is not None}
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.origin + path, data=data, method=method, headers=h)
        try:
            with urllib.request.urlopen(req, timeout=60) as r:
                raw, status, hdrs = r.read(), r.status, dict(r.headers)
        except urllib.error.HTTPError as e:
            raw, status, hdrs = e.read(), e.code, dict(e.headers)
        try:
            parsed = json.loads(raw) if raw else {}
        except ValueError:
            parsed = {"_text": raw.decode(errors="replace")}
        return Answer(status, parsed if isinstance(parsed, dict) else {"_value": parsed}, hdrs)

    def sign_in(self, **form: str) -> Answer:
        a = self.request("POST", "/api/signin", form)
        if a.status == 200:
            self.cookie = a.headers["Set-Cookie"].split(";", 1)[0]
            self.csrf = a.body["csrf"]
        return a

    def call(self, service: str, operation: str, input: dict[str, Any] | None = None, **kw: Any) -> Answer:
        return self.request("POST", "/api/call", {"service": service, "operation": operation, "input": input or {}}, **kw)


def console_secret(server: CloudletProcess) -> str:
    return (server.data_dir / "console" / "secret").read_text().strip()
