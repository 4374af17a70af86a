"""The VPC's DNS: names of cloudlet's endpoints -> loopback addresses.

Kept in memory and mirrored to DATA_DIR/hosts (/etc/hosts format), which the
Lambda runtime's resolver shim reads and `cloudlet hosts` prints.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path


class HostsRegistry:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._mirrors: list[Path] = []
        self._names: dict[str, str] = {}
        self._lock = threading.Lock()
        self._write()

    def register(self, hostname: str, address: str) -> None:
        with self._lock:
            self._names[hostname.lower()] = address
            self._write()

    def unregister(self, hostname: str) -> None:
        with self._lock:
            self._names.pop(hostname.lower(), None)
            self._write()

    def resolve(self, hostname: str) -> str | None:
        return self._names.get(hostname.lower())

    def entries(self) -> dict[str, str]:
        return dict(self._names)

    def add_mirror(self, path: Path) -> None:
        """Also keep a copy at path (alone in its directory, which a Lambda sandbox mounts)."""
        with self._lock:
            if path not in self._mirrors:
                self._mirrors.append(path)
            self._write()

    def _write(self) -> None:
        text = "".join(f"{addr}\t{name}\n" for name, addr in sorted(self._names.items()))
        for path in (self.path, *self._mirrors):
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(".tmp")
            tmp.write_text(text)
            os.replace(tmp, path)
