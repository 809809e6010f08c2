"""A thread-safe registry of per-session objects (a user's trained model, their last generation)
that forgets sessions after an idle time and frees what they held.

No gradio here: a session is any string key (the UI uses `gr.Request.session_hash`; a notebook
can use its own name). Each session holds named slots; reading or writing a slot counts as
activity. A session idle for longer than `ttl` seconds is dropped on the next sweep (every
access sweeps, and `start_sweeper` adds a background thread), its values' `close()` methods are
called (e.g. to delete a temp folder) and the references are released, so the memory of its
models is returned. A slot can be *pinned* (`busy`) while a long job uses it, so a training run
is never expired under its own feet.

    registry = SessionRegistry(ttl=30 * 60)
    registry.put("abc", "model", bundle)
    registry.get("abc", "model")      # -> bundle; refreshes the session's idle clock
    registry.get("xyz", "model")      # -> SessionError: no such model for this session
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

DEFAULT_TTL = 30 * 60  # seconds a session may stay idle before its objects are freed
MAX_TOMBSTONES = 10_000  # remembered expired session ids (to say "expired", not "never existed")


class SessionError(ValueError):
    """A session has no such object (never had it, or it expired); the message says which."""


class SessionBusy(SessionError):
    """The session already runs a job of this kind (one at a time per session)."""


@dataclass
class _Session:
    last_seen: float
    slots: dict[str, Any] = field(default_factory=dict)
    busy: set[str] = field(default_factory=set)


def _close(value: Any) -> None:
    close = getattr(value, "close", None)
    if callable(close):
        try:
            close()
        except Exception:  # a failing cleanup must not keep other sessions from being freed
            pass


class SessionRegistry:
    """Per-session slots with an idle timeout. All methods are safe to call from any thread."""

    def __init__(self, ttl: float = DEFAULT_TTL, clock: Callable[[], float] = time.monotonic) -> None:
        if not ttl > 0:
            raise ValueError(f"ttl must be a positive number of seconds, got {ttl!r}")
        self.ttl = float(ttl)
        self._clock = clock
        self._lock = threading.RLock()
        self._sessions: dict[str, _Session] = {}
        self._expired: OrderedDict[str, float] = OrderedDict()  # session id -> when it expired
        self._sweeper: threading.Thread | None = None
        self._stop = threading.Event()
        self.n_dropped = 0  # sessions expired or dropped so far

    # ---------------------------------------------------------------- slots
    def put(self, session: str, slot: str, value: Any) -> None:
        """Store `value` in the session's `slot` (the old value, if another object, is closed)."""
        _check_key(session)
        old = None
        with self._lock:
            self._sweep_locked()
            entry = self._sessions.get(session)
            if entry is None:
                entry = self._sessions[session] = _Session(self._clock())
                self._expired.pop(session, None)
            old = entry.slots.get(slot)
            entry.slots[slot] = value
            entry.last_seen = self._clock()
        if old is not None and old is not value:
            _close(old)

    def get(self, session: str | None, slot: str, what: str | None = None) -> Any:
        """The session's `slot`; a SessionError says whether it expired or never existed."""
        what = what or slot
        with self._lock:
            self._sweep_locked()
            entry = self._sessions.get(session) if session else None
            if entry is not None and slot in entry.slots:
                entry.last_seen = self._clock()
                return entry.slots[slot]
            if session and session in self._expired:
                minutes = self.ttl / 60
                raise SessionError(
                    f"{what} has expired: models are kept for {minutes:g} minutes without use; "
                    "train or upload it again"
                )
        raise SessionError(f"there is no {what} in this session")

    def peek(self, session: str | None, slot: str, default: Any = None) -> Any:
        """The slot's value or `default`, without counting as activity."""
        with self._lock:
            entry = self._sessions.get(session) if session else None
            return entry.slots.get(slot, default) if entry else default

    def has(self, session: str | None, slot: str) -> bool:
        with self._lock:
            entry = self._sessions.get(session) if session else None
            return entry is not None and slot in entry.slots

    def pop(self, session: str, slot: str) -> None:
        """Remove one slot (its value is closed)."""
        with self._lock:
            entry = self._sessions.get(session)
            value = entry.slots.pop(slot, None) if entry else None
        if value is not None:
            _close(value)

    def touch(self, session: str | None) -> None:
        """Count as activity without reading a slot (e.g. during a long training run)."""
        with self._lock:
            entry = self._sessions.get(session) if session else None
            if entry is not None:
                entry.last_seen = self._clock()

    # ---------------------------------------------------------------- jobs
    @contextmanager
    def busy(self, session: str, job: str, message: str | None = None) -> Iterator[None]:
        """Mark `job` running for the session for the duration of the block; a second one at
        the same time raises SessionBusy. A busy session is never expired."""
        _check_key(session)
        with self._lock:
            entry = self._sessions.get(session)
            if entry is None:
                entry = self._sessions[session] = _Session(self._clock())
                self._expired.pop(session, None)
            if job in entry.busy:
                raise SessionBusy(message or f"this session is already running {job}; one at a time")
            entry.busy.add(job)
            entry.last_seen = self._clock()
        try:
            yield
        finally:
            with self._lock:
                entry.busy.discard(job)
                entry.last_seen = self._clock()

    def is_busy(self, session: str | None, job: str) -> bool:
        with self._lock:
            entry = self._sessions.get(session) if session else None
            return entry is not None and job in entry.busy

    # ---------------------------------------------------------------- expiry
    def drop(self, session: str) -> None:
        """Forget a session now (e.g. its browser tab closed); its values are closed."""
        with self._lock:
            entry = self._sessions.pop(session, None)
            if entry is not None:
                self._remember_expired(session)
        if entry is not None:
            for value in entry.slots.values():
                _close(value)

    def sweep(self) -> list[str]:
        """Drop sessions idle for more than `ttl` (and not busy); returns their ids."""
        with self._lock:
            dropped = self._sweep_locked()
        return dropped

    def _sweep_locked(self) -> list[str]:
        now = self._clock()
        stale = [
            key for key, entry in self._sessions.items()
            if not entry.busy and now - entry.last_seen > self.ttl
        ]
        values = []
        for key in stale:
            values.extend(self._sessions.pop(key).slots.values())
            self._remember_expired(key)
        for value in values:  # close() only removes temp files: quick enough under the lock
            _close(value)
        return stale

    def _remember_expired(self, session: str) -> None:
        self.n_dropped += 1
        self._expired[session] = self._clock()
        while len(self._expired) > MAX_TOMBSTONES:
            self._expired.popitem(last=False)

    def sessions(self) -> list[str]:
        with self._lock:
            return list(self._sessions)

    def __len__(self) -> int:
        with self._lock:
            return len(self._sessions)

    def start_sweeper(self, interval: float = 60.0, after: Callable[[list[str]], Any] | None = None) -> None:
        """Sweep every `interval` seconds in a daemon thread (idempotent), so idle sessions are
        freed even when nobody calls the registry. `after(dropped_ids)` runs after a sweep that
        dropped sessions (e.g. to hand freed memory back to the OS)."""
        with self._lock:
            if self._sweeper is not None and self._sweeper.is_alive():
                return
            self._stop.clear()

            def run() -> None:
                seen = self.n_dropped
                while not self._stop.wait(interval):
                    dropped = self.sweep()
                    if after is not None and self.n_dropped != seen:  # also sessions dropped by other calls
                        seen = self.n_dropped
                        try:
                            after(dropped)
                        except Exception:  # a failing hook must not stop the sweeps
                            pass

            self._sweeper = threading.Thread(target=run, name="session-sweeper", daemon=True)
            self._sweeper.start()

    def stop_sweeper(self) -> None:
        self._stop.set()


def _check_key(session: object) -> None:
    if not isinstance(session, str) or not session:
        raise SessionError(f"a session id must be a non-empty string, got {session!r}")
