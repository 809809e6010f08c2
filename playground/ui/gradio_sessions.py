"""Forget Gradio's own per-session records once a session has been idle past the TTL.

Why: Gradio keeps, per session that ever sent an event, a SessionState (a copy of the page's
component configs, ~0.7 MB here) that it frees only when `state_session_capacity` newer sessions
push it out, never by time; and in its queue an AsyncQueue of messages (in an LRU of 2,000), a
set of pending event ids and an analytics record per event, which it never frees at all. Our
session registry forgets idle sessions after the TTL; this does the same for Gradio's side, so
a burst of visitors leaves nothing behind — the small queue records matter as much as the big
configs, because each survivor keeps the allocator from returning the memory around it
(playground/memory.py).
"""

from __future__ import annotations

import datetime
import logging
import threading
import time
from collections.abc import Callable

log = logging.getLogger("playground.ui")


def prune_gradio_sessions(demo, ttl: float) -> int:
    """Forget Gradio's state and queue records of sessions idle longer than `ttl`; returns how
    many sessions' state was dropped. A session with an event still pending keeps its queue."""
    holder = getattr(demo, "state_holder", None)
    session_data, last_used = getattr(holder, "session_data", None), getattr(holder, "time_last_used", None)
    if session_data is None or last_used is None:
        return 0
    now, stale = datetime.datetime.now(), []
    with holder.lock:
        for key, when in list(last_used.items()):
            if (now - when).total_seconds() > ttl:
                session_data.pop(key, None)
                last_used.pop(key, None)
                stale.append(key)
        live = set(session_data)
    queue = getattr(demo, "_queue", None)
    forget_queue_records(queue, set(stale) | idle_queue_sessions(queue, live, ttl))
    return len(stale)


def idle_queue_sessions(queue, live: set[str], ttl: float) -> set[str]:
    """Sessions with records in Gradio's queue but no SessionState any more (dropped by capacity,
    or by an earlier pass) whose newest event started more than `ttl` seconds ago. A session
    without any analytics record is left alone: it may be joining right now."""
    messages = getattr(queue, "pending_messages_per_session", None)
    analytics = getattr(queue, "event_analytics", None)
    if not messages or analytics is None:
        return set()
    newest: dict[str, float] = {}
    for record in list(analytics.values()):
        if isinstance(record, dict) and isinstance(record.get("time"), (int, float)):
            key = record.get("session_hash")
            newest[key] = max(newest.get(key, 0.0), record["time"])
    cutoff = time.time() - ttl
    return {key for key in list(messages.keys()) if key not in live and 0 < newest.get(key, 0.0) < cutoff}


def forget_queue_records(queue, sessions: set[str]) -> int:
    """Drop `sessions`' message queues, empty pending-id sets and analytics records from Gradio's
    queue (those with an event still pending or a message not yet read are kept); returns how
    many message queues were dropped."""
    if queue is None or not sessions:
        return 0
    messages = getattr(queue, "pending_messages_per_session", None)
    pending = getattr(queue, "pending_event_ids_session", None)
    analytics = getattr(queue, "event_analytics", None)
    dropped = 0
    for key in sessions:
        if pending is not None and pending.get(key):
            continue  # an event of this session is queued or running: not idle after all
        box = messages.get(key) if messages is not None else None
        if box is not None and not box.empty():
            continue
        if pending is not None:
            pending.pop(key, None)
        if messages is not None and messages.pop(key, None) is not None:
            dropped += 1
    if analytics:
        for event_id, record in list(analytics.items()):
            if isinstance(record, dict) and record.get("session_hash") in sessions and record.get("status") != "queued":
                analytics.pop(event_id, None)
    return dropped


def start_gradio_pruner(demo, ttl: float, interval: float,
                        after: Callable[[], object] | None = None) -> threading.Thread:
    """A daemon thread pruning Gradio's idle sessions every `interval` seconds; `after()` runs
    after a pass that dropped some and once more after the next pass (to hand the freed memory
    back to the OS, also what their closing connections free a little later)."""

    def run() -> None:
        trailing = False
        while True:
            time.sleep(interval)
            try:
                pruned = prune_gradio_sessions(demo, ttl) > 0
                if (pruned or trailing) and after is not None:
                    after()
                trailing = pruned
            except Exception:  # noqa: BLE001 - Gradio internals changed: keep serving, log once
                log.exception("pruning Gradio's idle sessions failed; they stay until capacity evicts them")
                return

    thread = threading.Thread(target=run, name="gradio-session-pruner", daemon=True)
    thread.start()
    return thread
