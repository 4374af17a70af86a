"""Resource state, one namespace per (account, region), persisted record by record.

Providers keep all their state in a state object made by the store's factory.
A store bound to the state database (`bind`) writes what a request changed before
the response goes out (`sync`, called by the front door after every operation),
and rebuilds its states at start (`restore`). Which records changed is found
without the provider's help: records added or removed (key sets), records the
request names (its parameters' strings, ARNs and their segments) and records a
provider marks with `changed(...)` (for the few changes no parameter names).
Global services (IAM) use region GLOBAL.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from cloudlet.core import codec

if TYPE_CHECKING:
    from cloudlet.core.persist import RestoreReport, StateDB

T = TypeVar("T")
GLOBAL = "global"
SCALARS = "_scalars"  # the record kind holding a state's plain attributes
# Parameter strings longer than this (policy documents, code) name no resource.
MAX_HINT_LEN = 2048
# Operations that change nothing (by name); everything else is synced after it runs.
READ_PREFIXES = ("Get", "List", "Describe", "Lookup", "Filter", "Test", "Simulate", "Generate")


@dataclasses.dataclass(frozen=True)
class Collection:
    """One dict of records on a state object, e.g. IamState.roles (key -> Role)."""

    attr: str
    record: type
    exclude: frozenset[str] = frozenset()  # runtime-only fields (processes, caches)
    # Custom forms for records that hold what is stored elsewhere (log events).
    encode: Callable[[Any], Any] | None = None
    decode: Callable[[dict[str, Any]], Any] | None = None

    def dump(self, obj: Any, base: Path) -> Any:
        return self.encode(obj) if self.encode else codec.encode(obj, self.exclude, base)

    def load(self, data: dict[str, Any], base: Path) -> Any:
        return self.decode(data) if self.decode else codec.decode_record(self.record, data, base=base)


@dataclasses.dataclass(frozen=True)
class PersistSpec:
    """What of a service's state is durable, declared next to the state's classes."""

    collections: tuple[Collection, ...]
    scalars: tuple[str, ...] = ()  # plain attributes of the state object
    # Operations whose changes are written another way (PutLogEvents: the events journal).
    skip_ops: frozenset[str] = frozenset()
    # Given each state as it is made (fresh: False) or restored (True), with the
    # database: for what the records do not hold (the logs' events journal).
    attach_state: Callable[[Any, StateDB, str, str, bool], None] | None = None
    # Extra statements written with a record (or its removal, record None).
    record_ops: Callable[[str, str, str, str, Any], list[tuple[str, tuple[Any, ...]]]] | None = None


def param_hints(params: Any, out: set[str] | None = None, depth: int = 0) -> set[str]:
    """Every string a request carries, lowercased too, and the segments of its ARNs."""
    out = set() if out is None else out
    if isinstance(params, str):
        if len(params) <= MAX_HINT_LEN:
            out.add(params)
            out.add(params.lower())
            if ":" in params:
                for seg in params.split(":"):
                    out.add(seg)
                    out.add(seg.lower())
                    if "/" in seg:
                        tail = seg.rsplit("/", 1)[1]
                        out.add(tail)
                        out.add(tail.lower())
    elif depth < 4 and isinstance(params, dict):
        for v in params.values():
            param_hints(v, out, depth + 1)
    elif depth < 4 and isinstance(params, (list, tuple)):
        for v in params:
            param_hints(v, out, depth + 1)
    return out


class _Binding:
    def __init__(self, db: StateDB, service: str, spec: PersistSpec) -> None:
        self.db = db
        self.base = db.data_dir
        self.service = service
        self.spec = spec
        # Keys last written, per (account, region, attr): diffed to find adds and removes.
        self.saved: dict[tuple[str, str, str], set[str]] = {}
        self.saved_scalars: dict[tuple[str, str], str] = {}
        self.fresh: set[tuple[str, str]] = set()
        self.dirty: dict[tuple[str, str], set[tuple[str, str | None]]] = {}


class AccountRegionStore(Generic[T]):
    def __init__(self, factory: Callable[[str, str], T]) -> None:
        self._factory = factory
        self._states: dict[tuple[str, str], T] = {}
        self._lock = threading.RLock()
        # Guards only the dirty marks: taken briefly, never while waiting for another
        # lock, so providers may mark changes while holding their states' locks.
        self._dirty_lock = threading.Lock()
        self._bound: _Binding | None = None

    def get(self, account_id: str, region: str = GLOBAL) -> T:
        key = (account_id, region)
        state = self._states.get(key)
        if state is None:
            with self._lock:
                state = self._states.get(key)
                if state is None:
                    state = self._factory(account_id, region)
                    b = self._bound
                    if b is not None:
                        if b.spec.attach_state is not None:
                            b.spec.attach_state(state, b.db, account_id, region, False)
                        b.fresh.add(key)
                    self._states[key] = state
        return state

    def items(self) -> Iterator[tuple[tuple[str, str], T]]:
        return iter(list(self._states.items()))

    def states(self) -> list[T]:
        return list(self._states.values())

    # -- persistence ------------------------------------------------------------------
    @property
    def persistent(self) -> bool:
        return self._bound is not None

    def bind(self, db: StateDB, service: str, spec: PersistSpec) -> None:
        self._bound = _Binding(db, service, spec)

    def changed(self, account_id: str, region: str, attr: str, key: str | None = None) -> None:
        """Mark a record (KEY None: all of ATTR's) changed by something no parameter names.

        Written with the request's other changes, or by Persistence.flush() for
        changes made outside requests (background transitions)."""
        b = self._bound
        if b is not None:
            with self._dirty_lock:
                b.dirty.setdefault((account_id, region), set()).add((attr, key))

    def changed_all(self) -> None:
        """Mark every record of every state changed (after background transitions)."""
        b = self._bound
        if b is not None:
            with self._dirty_lock:
                for key in list(self._states):
                    b.dirty.setdefault(key, set()).update((c.attr, None) for c in b.spec.collections)

    def sync(self, account_id: str | None, region: str | None, params: Any, operation: str) -> None:
        """Write what changed: every fresh state, and the request's (account, region) state."""
        b = self._bound
        if b is None:
            return
        with self._lock:
            targets: dict[tuple[str, str], set[str] | None] = {}
            for key in b.fresh:
                targets[key] = None  # all records
            b.fresh.clear()
            with self._dirty_lock:
                dirty, b.dirty = b.dirty, {}
            for key in dirty:
                targets.setdefault(key, set())
            mutating = not operation.startswith(READ_PREFIXES) and operation not in b.spec.skip_ops
            if mutating and account_id is not None and region is not None:
                for key in ((account_id, region), (account_id, GLOBAL)):
                    if key in self._states and key not in targets:
                        targets[key] = param_hints(params)
            if not targets:
                return
            ops: list[tuple[str, tuple[Any, ...]]] = []
            for key, hints in targets.items():
                state = self._states.get(key)
                if state is None:
                    continue
                # A state with its own lock (logs) is read under it.
                lock = getattr(state, "lock", None)
                if lock is not None:
                    with lock:
                        ops.extend(self._changes(b, key, state, hints, dirty.get(key, set())))
                else:
                    ops.extend(self._changes(b, key, state, hints, dirty.get(key, set())))
            if ops:
                b.db.write(ops)

    def _changes(
        self,
        b: _Binding,
        key: tuple[str, str],
        state: Any,
        hints: set[str] | None,
        dirty: set[tuple[str, str | None]],
    ) -> Iterable[tuple[str, tuple[Any, ...]]]:
        from cloudlet.core.persist import DEL_RECORD, PUT_RECORD, dumps

        account, region = key
        for col in b.spec.collections:
            records: dict[str, Any] = getattr(state, col.attr)
            skey = (account, region, col.attr)
            saved = b.saved.setdefault(skey, set())
            if hints is None:
                write: set[str] = set(records)
            else:
                write = set(records.keys() - saved)
                write.update(h for h in hints if h in records)
                for attr, k in dirty:
                    if attr == col.attr:
                        write.update(records if k is None else [k] if k in records else [])
                if any(h.startswith("arn:") for h in hints):
                    write.update(k for k, r in records.items() if getattr(r, "arn", None) in hints)
            extra = b.spec.record_ops
            for gone in saved - records.keys():
                yield DEL_RECORD, (b.service, account, region, col.attr, gone)
                if extra is not None:
                    yield from extra(account, region, col.attr, gone, None)
            for k in write:
                yield PUT_RECORD, (b.service, account, region, col.attr, k, dumps(col.dump(records[k], b.base)))
                if extra is not None:
                    yield from extra(account, region, col.attr, k, records[k])
            b.saved[skey] = set(records)
        if b.spec.scalars:
            text = dumps({a: codec.encode(getattr(state, a), base=b.base) for a in b.spec.scalars})
            if b.saved_scalars.get(key) != text:
                b.saved_scalars[key] = text
                yield PUT_RECORD, (b.service, account, region, SCALARS, "", text)

    def restore(self, report: RestoreReport) -> list[T]:
        """Rebuild states from the database (before serving); returns the states made."""
        b = self._bound
        if b is None:
            return []
        cols = {c.attr: c for c in b.spec.collections}
        made: dict[tuple[str, str], T] = {}
        with self._lock:
            for account, region, kind, key, data in b.db.records(b.service):
                what = f"{b.service} {kind} {key!r} ({account}/{region})"
                state = made.get((account, region))
                if state is None:
                    state = made[(account, region)] = self._factory(account, region)
                    for c in b.spec.collections:
                        getattr(state, c.attr).clear()
                try:
                    if kind == SCALARS:
                        self._load_scalars(state, data, b.base)
                    elif kind in cols:
                        getattr(state, kind)[key] = cols[kind].load(_json(data), b.base)
                        b.saved.setdefault((account, region, kind), set()).add(key)
                    else:
                        raise ValueError(f"unknown record kind {kind!r}")
                    report.loaded += 1
                except Exception as e:  # noqa: BLE001 -- one bad row must not cost the rest
                    report.bad(what, e)
                    # Keep the row in the file: never delete what could not be read.
                    b.saved.setdefault((account, region, kind), set()).discard(key)
            if b.spec.attach_state is not None:
                for (account, region), restored in made.items():
                    b.spec.attach_state(restored, b.db, account, region, True)
            for where, restored in made.items():
                self._states[where] = restored
                if b.spec.scalars:
                    b.saved_scalars[where] = _scalar_text(restored, b.spec.scalars, b.base)
        return list(made.values())

    def _load_scalars(self, state: Any, data: str, base: Path) -> None:
        cls: type = type(state)
        hints = codec.type_hints(cls) if dataclasses.is_dataclass(cls) else {}
        for attr, value in _json(data).items():
            setattr(state, attr, codec.decode(hints.get(attr, Any), value, base))


def _json(text: str) -> Any:
    import json

    return json.loads(text)


def _scalar_text(state: Any, attrs: tuple[str, ...], base: Path) -> str:
    from cloudlet.core.persist import dumps

    return dumps({a: codec.encode(getattr(state, a), base=base) for a in attrs})
