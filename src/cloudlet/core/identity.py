"""Access keys cloudlet knows: the root key, IAM users' keys, STS temporary keys.

SigV4 verification (API and data plane alike) looks a key id up here. IAM and
STS register and revoke keys; nothing else writes to it.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable

from cloudlet.core.context import Principal


@dataclasses.dataclass
class Credential:
    access_key_id: str
    secret_access_key: str
    principal: Principal
    session_token: str | None = None  # set for ASIA... temporary keys
    expires_at: float | None = None  # epoch seconds; None = long-term
    active: bool = True  # IAM access key status Active/Inactive

    def expired(self, now: float | None = None) -> bool:
        return self.expires_at is not None and (now or time.time()) >= self.expires_at


class CredentialRegistry:
    def __init__(self) -> None:
        self._by_key: dict[str, Credential] = {}
        self._lock = threading.Lock()
        # Told of every key added (the credential) or removed (None): the state file.
        self.listener: Callable[[str, Credential | None], None] | None = None

    def add(self, cred: Credential, quiet: bool = False) -> None:
        with self._lock:
            self._by_key[cred.access_key_id] = cred
        if self.listener is not None and not quiet:
            self.listener(cred.access_key_id, cred)

    def remove(self, access_key_id: str) -> None:
        with self._lock:
            known = self._by_key.pop(access_key_id, None)
        if self.listener is not None and known is not None:
            self.listener(access_key_id, None)

    def get(self, access_key_id: str) -> Credential | None:
        return self._by_key.get(access_key_id)

