"""Resource state, one namespace per (account, region).

Providers keep all their state in a state object made by the store's factory,
so that persistence can later snapshot these objects without touching providers.
Global services (IAM) use region GLOBAL.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

T = TypeVar("T")
GLOBAL = "global"


class AccountRegionStore(Generic[T]):
    def __init__(self, factory: Callable[[str, str], T]) -> None:
        self._factory = factory
        self._states: dict[tuple[str, str], T] = {}
        self._lock = threading.Lock()

    def get(self, account_id: str, region: str = GLOBAL) -> T:
        key = (account_id, region)
        state = self._states.get(key)
        if state is None:
            with self._lock:
                state = self._states.get(key)
                if state is None:
                    state = self._factory(account_id, region)
                    self._states[key] = state
        return state

    def items(self) -> Iterator[tuple[tuple[str, str], T]]:
        return iter(list(self._states.items()))
