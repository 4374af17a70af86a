"""Durable state: one SQLite database per data dir, in WAL mode.

Why SQLite/WAL (measured on the dev machine, `bench/bench_persist.py` prints the
API-level figures): a one-record commit costs ~10 us with synchronous=NORMAL (safe
against a crash of cloudlet itself; a power loss may drop the last commits, never
corrupts) and ~190 us with synchronous=FULL (fsync per commit: safe against power
loss), about the cost of an fsynced append-only journal (~160 us) but with no
replay/compaction code of our own, while an atomic snapshot file costs ~700 us for
1,000 records and grows with the world. Commits are atomic, so a crash mid-write
leaves the previous state, never a half-written one.

Through the API, fsync per write (FULL) made writes 2-4x slower on a shared disk,
so the default is NORMAL plus a background fsync of the write-ahead log every
SYNC_INTERVAL_S after a write: a kill -9 loses nothing acknowledged, a power loss
at most the last SYNC_INTERVAL_S of writes. CLOUDLET_PERSIST_SYNC=full trades the
speed for nothing lost at all.

Layout (format version FORMAT_VERSION, in table meta):
  records(service, account, region, kind, key, data)  one JSON row per resource
  events(account, region, grp, stream, seq, ...)       CloudWatch Logs events
  credentials(key_id, data, expires_at)                 IAM/STS keys for SigV4
A row that cannot be decoded at start is reported (and kept in the file); a file
that cannot be opened at all stops `cloudlet start` with the reason: cloudlet never
replaces a world it cannot read with an empty one.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import sqlite3

log = logging.getLogger("cloudlet.persist")

FORMAT_VERSION = 1
DB_NAME = "cloudlet.db"
# With synchronous=NORMAL: how soon after a write its WAL pages are fsynced.
SYNC_INTERVAL_S = 0.2

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta(k TEXT PRIMARY KEY, v TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS records(
    service TEXT NOT NULL, account TEXT NOT NULL, region TEXT NOT NULL,
    kind TEXT NOT NULL, key TEXT NOT NULL, data TEXT NOT NULL,
    PRIMARY KEY(service, account, region, kind, key)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS events(
    account TEXT NOT NULL, region TEXT NOT NULL, grp TEXT NOT NULL, stream TEXT NOT NULL,
    seq INTEGER NOT NULL, ts INTEGER NOT NULL, ingested INTEGER NOT NULL, message TEXT NOT NULL,
    PRIMARY KEY(account, region, grp, stream, seq)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS credentials(
    key_id TEXT PRIMARY KEY, data TEXT NOT NULL, expires_at REAL) WITHOUT ROWID;
"""


class StateUnreadable(Exception):
    """The state database cannot be opened or has a format this cloudlet does not know."""


def state_path(data_dir: Path) -> Path:
    return data_dir / "state" / DB_NAME


class StateDB:
    """The SQLite file; every method is safe to call from any thread.

    A file that exists is opened at once (one that cannot be read stops the start). A
    data dir without one (a fresh or ephemeral start) gets it at its first write: until
    then there is nothing to read, and neither SQLite nor its fsync thread cost memory.
    """

    def __init__(self, path: Path, synchronous: str = "NORMAL") -> None:
        self.path = path
        self.data_dir = path.parent.parent  # DATA_DIR/state/cloudlet.db
        # It holds secret keys, session tokens and the caches' backend secrets: this
        # user's alone, whatever the data dir's own mode (another user may traverse it).
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.chmod(path.parent, 0o700)
        self._lock = threading.RLock()
        self._closed = False
        self._unsynced = threading.Event()
        self._full = synchronous.upper() == "FULL"
        self._db: sqlite3.Connection | None = None
        self.format_version = FORMAT_VERSION
        if path.exists():
            self._connect()
        elif not os.access(path.parent, os.W_OK | os.X_OK):  # said at start, not at a first write
            raise StateUnreadable(f"{path}: cannot create it (no write access to {path.parent})")

    def _connect(self) -> sqlite3.Connection:
        import sqlite3  # here: a start without a state file never loads it

        path = self.path
        try:
            db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute(f"PRAGMA synchronous={'FULL' if self._full else 'NORMAL'}")
            db.executescript(_SCHEMA)
            row = db.execute("SELECT v FROM meta WHERE k='format_version'").fetchone()
        except sqlite3.DatabaseError as e:
            raise StateUnreadable(f"{path}: {e}") from e
        if row is None:
            db.execute("INSERT INTO meta VALUES('format_version', ?)", (str(FORMAT_VERSION),))
            self.format_version = FORMAT_VERSION
        else:
            try:
                self.format_version = int(row[0])
            except ValueError:
                raise StateUnreadable(f"{path}: format version {row[0]!r} is not a number") from None
            if self.format_version > FORMAT_VERSION:
                raise StateUnreadable(
                    f"{path}: written by a newer cloudlet (format {self.format_version}; "
                    f"this one reads up to {FORMAT_VERSION})"
                )
        self._db = db
        self._migrate()
        if not self._full:
            threading.Thread(target=self._sync_loop, name="state-fsync", daemon=True).start()
        return db

    @property
    def opened(self) -> bool:
        """False until the file exists (nothing was ever written to this data dir)."""
        return self._db is not None

    def _conn(self) -> sqlite3.Connection:
        """The open connection, opened (the file created) at the first write. Under _lock."""
        return self._db if self._db is not None else self._connect()

    def _sync_loop(self) -> None:
        """fsync the WAL soon after writes, off the request path (synchronous=NORMAL)."""
        wal = self.path.with_name(self.path.name + "-wal")
        while not self._closed:
            self._unsynced.wait()
            time.sleep(SYNC_INTERVAL_S)  # gathers the writes of the interval into one fsync
            self._unsynced.clear()
            try:
                fd = os.open(wal, os.O_RDONLY)
            except FileNotFoundError:  # checkpointed away: the database file itself holds it
                continue
            try:
                os.fsync(fd)
            except OSError as e:
                log.error("fsync of %s failed: %s", wal, e)
            finally:
                os.close(fd)
    def _migrate(self) -> None:
        """Bring an older format up to FORMAT_VERSION (version 1 is the first: nothing yet)."""
        if self.format_version < FORMAT_VERSION:
            self._conn().execute("UPDATE meta SET v=? WHERE k='format_version'", (str(FORMAT_VERSION),))
            self.format_version = FORMAT_VERSION

    def close(self) -> None:
        with self._lock:
            self._closed = True
            if self._db is not None:
                self._db.close()  # the last connection: checkpoints and syncs the WAL into the file
        self._unsynced.set()

    def _open(self) -> bool:
        if self._closed:
            # Shutdown: a cancelled background task or a function's last output line.
            log.warning("state file closed: a late write during shutdown was not saved")
        return not self._closed

    # -- transactions: one per API request (or internal write), committed before it answers
    def write(self, ops: Iterable[tuple[str, tuple[Any, ...]]]) -> None:
        with self._lock:
            if not self._open():
                return
            db = self._conn()
            db.execute("BEGIN")
            try:
                for sql, args in ops:
                    db.execute(sql, args)
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")
            self._unsynced.set()

    def write_many(self, sql: str, rows: list[tuple[Any, ...]]) -> None:
        with self._lock:
            if not self._open():
                return
            db = self._conn()
            db.execute("BEGIN")
            try:
                db.executemany(sql, rows)
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")
            self._unsynced.set()

    def query(self, sql: str, args: tuple[Any, ...] = ()) -> list[Any]:
        with self._lock:
            if self._db is None:  # no file yet: nothing written, nothing to read
                return []
            return self._db.execute(sql, args).fetchall()

    def records(self, service: str) -> Iterator[tuple[str, str, str, str, str]]:
        """(account, region, kind, key, data) of SERVICE's rows."""
        rows = self.query(
            "SELECT account, region, kind, key, data FROM records WHERE service=?", (service,)
        )
        return iter(rows)


# SQL the stores and the logs journal use.
PUT_RECORD = "INSERT OR REPLACE INTO records VALUES(?,?,?,?,?,?)"
DEL_RECORD = "DELETE FROM records WHERE service=? AND account=? AND region=? AND kind=? AND key=?"
PUT_EVENT = "INSERT OR REPLACE INTO events VALUES(?,?,?,?,?,?,?,?)"


def dumps(data: Any) -> str:
    return json.dumps(data, separators=(",", ":"))


class RestoreReport:
    """What start-up found: rows read, rows that could not be, for the log and `status`."""

    def __init__(self) -> None:
        self.loaded = 0
        self.failed: list[str] = []
        self.started = time.monotonic()
        self.load_s = 0.0

    def bad(self, what: str, err: BaseException) -> None:
        self.failed.append(f"{what}: {type(err).__name__}: {err}")

    def lines(self) -> list[str]:
        if not self.failed:
            return []
        head = (
            f"state: kept {self.loaded} records; {len(self.failed)} unreadable "
            "(left in the state file, not loaded):"
        )
        return [head, *(f"  {f}" for f in self.failed[:20])]


class Persistence:
    """The data dir's durable state, or nothing (`--ephemeral`, CLOUDLET_PERSIST=0).

    Called in order: `attach` (the credential registry writes through), `restore` (the
    credentials back, when the front door starts), `adopt` (each provider as it is built:
    its store bound, its rows loaded), `revive` (each provider once started: caches,
    functions), `after_request` (after every operation, before its response is sent).
    """

    def __init__(self, db: StateDB | None) -> None:
        self.db = db
        self.report = RestoreReport()
        self._stores: dict[str, Any] = {}
        self._revivers: dict[str, Any] = {}

    @classmethod
    def open(cls, config: Any) -> Persistence:
        if not config.persist:
            return cls(None)
        return cls(StateDB(state_path(config.data_dir), config.persist_sync))

    @property
    def enabled(self) -> bool:
        return self.db is not None

    def attach(self, world: Any) -> None:
        if self.db is None:
            return
        world.credentials.listener = self._credential_changed

    def services_with_state(self) -> list[str]:
        """The services the state file holds records of (their providers are built at start)."""
        if self.db is None:
            return []
        return [row[0] for row in self.db.query("SELECT DISTINCT service FROM records")]

    def restore(self, world: Any) -> None:
        """The credentials back into memory; a row that fails is reported, the rest still load."""
        if self.db is None or not self.db.opened:  # no state file: nothing to restore
            return
        from cloudlet.core.codec import decode_record
        from cloudlet.core.identity import Credential

        now = time.time()
        self.db.write([("DELETE FROM credentials WHERE expires_at IS NOT NULL AND expires_at <= ?", (now,))])
        for key_id, data in self.db.query("SELECT key_id, data FROM credentials"):
            try:
                cred = decode_record(Credential, json.loads(data), base=self.db.data_dir)
                world.credentials.add(cred, quiet=True)
                self.report.loaded += 1
            except Exception as e:  # noqa: BLE001 -- reported; the other keys still load
                self.report.bad(f"credential {key_id}", e)

    def adopt(self, provider: Any) -> None:
        """A provider just built: its store bound to the state file, its rows loaded into it."""
        if self.db is None:
            return
        from cloudlet.services.persisted import SERVICES

        load = SERVICES.get(provider.service)
        if load is None:
            return
        spec, reviver = load()
        store = provider.store
        store.bind(self.db, provider.service, spec)
        t0 = time.monotonic()
        store.restore(self.report)
        self.report.load_s += time.monotonic() - t0
        self._stores[provider.service] = store
        if reviver is not None:
            self._revivers[provider.service] = reviver

    async def revive(self, provider: Any) -> None:
        """Bring back what a started provider's restored state runs (caches, functions)."""
        reviver = self._revivers.get(provider.service)
        if reviver is None:
            return
        try:
            await reviver(provider)
        except Exception:
            log.exception("restoring %s failed", provider.service)

    def log_restored(self) -> None:
        """Said once the state found at start is back; with what could not be read."""
        if self.db is not None:
            log.info(
                "state: %d records restored from %s (loaded in %.3f s, running again in %.3f s)",
                self.report.loaded, self.db.path, self.report.load_s, time.monotonic() - self.report.started,
            )
        for line in self.report.lines():
            log.error("%s", line)

    def after_request(self, service: str, account_id: str, region: str, operation: str, params: Any) -> None:
        for name, store in list(self._stores.items()):
            if name == service:
                store.sync(account_id, region, params, operation)
            else:
                store.sync(None, None, None, operation)

    def flush(self) -> None:
        """Write changes made outside requests (background transitions, internal writes)."""
        for store in list(self._stores.values()):
            store.sync(None, None, None, "Get")

    def _credential_changed(self, key_id: str, cred: Any) -> None:
        assert self.db is not None
        from cloudlet.core.codec import encode

        if cred is None:
            self.db.write([("DELETE FROM credentials WHERE key_id=?", (key_id,))])
        else:
            self.db.write([(
                "INSERT OR REPLACE INTO credentials VALUES(?,?,?)",
                (key_id, dumps(encode(cred)), cred.expires_at),
            )])

    def close(self) -> None:
        if self.db is not None:
            self.db.close()
