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

import sys
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from .errors import Label, PlaygroundError, register

DEFAULT_TTL = 30 * 60  # seconds a session may stay idle before its objects are freed
MAX_TOMBSTONES = 10_000  # remembered expired session ids (to say "expired", not "never existed")
MB = 1024 * 1024

register({
    "session.evicted": (
        "{what} was removed to make room for other users: this server keeps at most {limit_mb} MB for "
        "all sessions together and frees the least recently used first. Do it again ({again})",
        "{what}已被清除，为其他用户腾出空间：这台服务器为所有会话一共最多保留 {limit_mb} MB，"
        "最久未使用的先被清除。请重新操作（{again}）",
    ),
    "session.again_default": ("train, upload or run it again", "重新训练、上传或运行"),
})


class SessionError(PlaygroundError):
    """A session has no such object (never had it, or it expired); the message says which."""


class SessionBusy(SessionError):
    """The session already runs a job of this kind (one at a time per session)."""


class SessionEvicted(SessionError, PlaygroundError):
    """The slot was freed early by the memory budget (least recently used session first)."""


def nbytes(value: Any, _depth: int = 0) -> int:
    """About how many bytes `value` keeps alive: arrays and tensors exactly, containers summed,
    objects that know their size (an `nbytes` attribute or method) asked; Python overhead
    estimated. Used to charge a slot against the registry's budget."""
    size = getattr(value, "nbytes", None)
    if callable(size):
        size = size()
    if isinstance(size, int) and not isinstance(value, type):
        return size
    if hasattr(value, "element_size") and hasattr(value, "numel"):  # a torch tensor
        return int(value.element_size() * value.numel())
    if _depth > 6:
        return sys.getsizeof(value)
    if isinstance(value, dict):
        return 64 + sum(nbytes(k, _depth + 1) + nbytes(v, _depth + 1) for k, v in value.items())
    if isinstance(value, (list, tuple, set, frozenset)):
        return 56 + 8 * len(value) + sum(nbytes(v, _depth + 1) for v in value)
    if hasattr(value, "__dict__") and not isinstance(value, type):
        return sys.getsizeof(value) + nbytes(vars(value), _depth + 1)
    return sys.getsizeof(value)
register(
    {
        "session.expired": (
            "{what} has expired: models are kept for {minutes} minutes without use; train or upload it again",
            "{what}已过期：模型在 {minutes} 分钟不使用后会被清除；请重新训练或上传",
        ),
        "session.missing": ("there is no {what} in this session", "本会话中没有{what}"),
        "session.busy": (
            "this session is already running {job}; one at a time",
            "本会话已经在运行 {job}；同一时间只能运行一个",
        ),
        "session.bad_id": (
            "a session id must be a non-empty string, got {got}",
            "会话 id 必须是非空字符串，收到 {got}",
        ),
    }
)


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

    def __init__(self, ttl: float = DEFAULT_TTL, clock: Callable[[], float] = time.monotonic,
                 max_bytes: int | None = None) -> None:
        if not ttl > 0:
            raise ValueError(f"ttl must be a positive number of seconds, got {ttl!r}")
        self.ttl = float(ttl)
        # The memory budget for all sessions' slots together (None: no budget). When a put
        # goes over it, whole sessions are freed, least recently used first (never a busy one,
        # never the one putting), and their owners are told so when they come back.
        self.max_bytes = max_bytes
        self.total_bytes = 0
        self._sizes: dict[tuple[str, str], int] = {}
        self._evicted: OrderedDict[tuple[str, str], float] = OrderedDict()  # (session, slot) -> when
        self.n_evicted = 0  # sessions freed by the budget so far
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
        size = nbytes(value) if self.max_bytes is not None else 0
        with self._lock:
            self._sweep_locked()
            entry = self._sessions.get(session)
            if entry is None:
                entry = self._sessions[session] = _Session(self._clock())
                self._expired.pop(session, None)
            old = entry.slots.get(slot)
            entry.slots[slot] = value
            entry.last_seen = self._clock()
            self._charge(session, slot, size)
            self._evicted.pop((session, slot), None)
            freed = self._evict_locked(keep=session)
        if old is not None and old is not value:
            _close(old)
        for value in freed:
            _close(value)

    # ---------------------------------------------------------------- the memory budget
    def _charge(self, session: str, slot: str, size: int | None) -> None:
        """Record a slot's size (None: the slot is gone); keeps total_bytes in step."""
        self.total_bytes -= self._sizes.pop((session, slot), 0)
        if size is not None:
            self._sizes[(session, slot)] = size
            self.total_bytes += size

    def _evict_locked(self, keep: str) -> list[Any]:
        """Free least recently used sessions until the budget holds; returns their values."""
        if self.max_bytes is None or self.total_bytes <= self.max_bytes:
            return []
        freed = []
        victims = sorted((entry.last_seen, key) for key, entry in self._sessions.items()
                         if key != keep and not entry.busy)
        for _, key in victims:
            if self.total_bytes <= self.max_bytes:
                break
            entry = self._sessions.pop(key)
            for slot, value in entry.slots.items():
                self._charge(key, slot, None)
                self._evicted[(key, slot)] = self._clock()
                freed.append(value)
            self.n_evicted += 1
        while len(self._evicted) > MAX_TOMBSTONES:
            self._evicted.popitem(last=False)
        return freed

    def was_evicted(self, session: str | None, slot: str) -> bool:
        """True if the session's `slot` was freed by the memory budget (and not put again)."""
        with self._lock:
            return bool(session) and (session, slot) in self._evicted

    def evicted_error(self, what: str, again: str) -> SessionEvicted:
        """The keyed error telling a user their `what` was freed by the budget; `again` says how
        to get it back (both may be message keys, shown in the reader's language)."""
        limit = round((self.max_bytes or 0) / MB)
        return SessionEvicted("session.evicted", what=Label(what), again=Label(again), limit_mb=limit)

    def get(self, session: str | None, slot: str, what: str | None = None) -> Any:
        """The session's `slot`; a SessionError says whether it expired or never existed.
        `what` is the registered key of the slot's name in messages (default: the slot's name)."""
        what = Label(what) if what else slot
        with self._lock:
            self._sweep_locked()
            entry = self._sessions.get(session) if session else None
            if entry is not None and slot in entry.slots:
                entry.last_seen = self._clock()
                return entry.slots[slot]
            if session and (session, slot) in self._evicted:
                raise self.evicted_error(what, "session.again_default")
            if session and session in self._expired:
                raise SessionError("session.expired", what=what, minutes=self.ttl / 60)
        raise SessionError("session.missing", what=what)

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
            self._charge(session, slot, None)
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
    def busy(self, session: str, job: str, *, key: str = "session.busy") -> Iterator[None]:
        """Mark `job` running for the session for the duration of the block; a second one at
        the same time raises SessionBusy(`key`, job=job). A busy session is never expired."""
        _check_key(session)
        with self._lock:
            entry = self._sessions.get(session)
            if entry is None:
                entry = self._sessions[session] = _Session(self._clock())
                self._expired.pop(session, None)
            if job in entry.busy:
                raise SessionBusy(key, job=job)
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
                for slot in entry.slots:
                    self._charge(session, slot, None)
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
            slots = self._sessions.pop(key).slots
            values.extend(slots.values())
            for slot in slots:
                self._charge(key, slot, None)
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
        dropped sessions (e.g. to hand freed memory back to the OS), and once more on the sweep
        after it (with no ids), for what the dropped sessions' connections free a little later.
        (That second call made no measurable difference in bench.memory_probe; the README's soak
        figures were measured with it.)"""
        with self._lock:
            if self._sweeper is not None and self._sweeper.is_alive():
                return
            self._stop.clear()

            def run() -> None:
                seen, trailing = self.n_dropped, False
                while not self._stop.wait(interval):
                    dropped = self.sweep()
                    changed = self.n_dropped != seen  # also sessions dropped by other calls
                    if after is not None and (changed or trailing):
                        seen = self.n_dropped
                        try:
                            after(dropped)
                        except Exception:  # a failing hook must not stop the sweeps
                            pass
                    trailing = changed

            self._sweeper = threading.Thread(target=run, name="session-sweeper", daemon=True)
            self._sweeper.start()

    def stop_sweeper(self) -> None:
        self._stop.set()


def _check_key(session: object) -> None:
    if not isinstance(session, str) or not session:
        raise SessionError("session.bad_id", got=repr(session)[:60])
