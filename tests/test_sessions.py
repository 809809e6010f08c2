"""The session registry: isolation between sessions, idle expiry that frees, one job at a time."""

import gc
import threading
import weakref

import pytest

from playground.sessions import SessionBusy, SessionError, SessionRegistry


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


class Model:
    """Stands in for a session's model: records close() and can be weakly referenced."""

    def __init__(self):
        self.closed = False

    def close(self):
        self.closed = True


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def registry(clock):
    return SessionRegistry(ttl=60, clock=clock)


def test_each_session_sees_only_its_own_values(registry):
    a, b = Model(), Model()
    registry.put("alice", "model", a)
    registry.put("bob", "model", b)
    assert registry.get("alice", "model") is a
    assert registry.get("bob", "model") is b
    with pytest.raises(SessionError, match="no model in this session"):
        registry.get("carol", "model")
    with pytest.raises(SessionError):
        registry.get(None, "model")


def test_idle_sessions_expire_are_closed_and_their_memory_is_freed(registry, clock):
    model = Model()
    ref = weakref.ref(model)
    registry.put("alice", "model", model)
    registry.put("bob", "model", Model())
    clock.now = 50
    registry.get("bob", "model")  # bob is active, alice is not
    clock.now = 61
    assert registry.sweep() == ["alice"]
    assert model.closed
    del model
    gc.collect()
    assert ref() is None, "the registry must not keep an expired session's model alive"
    with pytest.raises(SessionError, match="expired"):
        registry.get("alice", "model")
    assert registry.sessions() == ["bob"]


def test_every_access_sweeps_so_nothing_idle_survives_without_a_sweeper(registry, clock):
    registry.put("alice", "model", Model())
    clock.now = 100
    registry.put("bob", "model", Model())
    assert registry.sessions() == ["bob"]


def test_replacing_a_value_closes_the_old_one(registry):
    old, new = Model(), Model()
    registry.put("alice", "model", old)
    registry.put("alice", "model", new)
    assert old.closed and not new.closed


def test_a_busy_session_is_not_expired_and_runs_one_job_at_a_time(registry, clock):
    registry.put("alice", "model", Model())
    with registry.busy("alice", "training"):
        with pytest.raises(SessionBusy):
            with registry.busy("alice", "training"):
                pass
        with registry.busy("bob", "training"):  # other sessions are independent
            pass
        clock.now = 1000
        assert registry.sweep() == ["bob"]  # idle bob goes, busy alice stays
    assert not registry.is_busy("alice", "training")
    clock.now = 2000
    assert registry.sweep() == ["alice"]


def test_drop_forgets_a_session_at_once(registry):
    model = Model()
    registry.put("alice", "model", model)
    registry.drop("alice")
    assert model.closed and not registry.has("alice", "model")


def test_concurrent_writers_keep_their_sessions_apart(registry):
    def work(name):
        for i in range(200):
            registry.put(name, "n", i)
            assert registry.get(name, "n") == i

    threads = [threading.Thread(target=work, args=(f"s{k}",)) for k in range(8)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert sorted(registry.sessions()) == [f"s{k}" for k in range(8)]
    assert all(registry.get(f"s{k}", "n") == 199 for k in range(8))


def test_the_background_sweeper_frees_idle_sessions(clock):
    registry = SessionRegistry(ttl=1, clock=clock)
    model = Model()
    registry.put("alice", "model", model)
    clock.now = 5
    registry.start_sweeper(interval=0.01)
    try:
        for _ in range(200):
            if model.closed:
                break
            threading.Event().wait(0.01)
    finally:
        registry.stop_sweeper()
    assert model.closed and len(registry) == 0


def test_the_sweepers_hook_runs_after_a_drop_and_once_more_after_it(clock):
    """after(ids) follows a sweep that dropped sessions, then after([]) follows the next sweep
    (memory their connections free a little later), and then nothing while nothing expires."""
    registry = SessionRegistry(ttl=1, clock=clock)
    registry.put("alice", "model", Model())
    calls, done = [], threading.Event()

    def after(ids):
        calls.append(list(ids))
        if len(calls) == 2:
            done.set()

    clock.now = 5
    registry.start_sweeper(interval=0.01, after=after)
    try:
        assert done.wait(5)
        threading.Event().wait(0.2)  # twenty more sweeps with nothing to drop
    finally:
        registry.stop_sweeper()
    assert calls == [["alice"], []]


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match="ttl"):
        SessionRegistry(ttl=0)
    with pytest.raises(SessionError, match="session id"):
        SessionRegistry().put("", "model", 1)


# ---------------------------------------------------------------- the memory budget (issue 14)


def test_the_budget_frees_least_recently_used_sessions_and_says_so():
    import numpy as np

    from playground.sessions import SessionEvicted, nbytes

    now = [0.0]
    reg = SessionRegistry(ttl=3600, clock=lambda: now[0], max_bytes=3_000_000)
    for i in range(3):  # 1 MB each: exactly at the budget
        now[0] += 1
        reg.put(f"s{i}", "view", np.zeros(250_000, np.float32))
    assert reg.total_bytes == 3 * nbytes(np.zeros(250_000, np.float32)) and len(reg) == 3
    now[0] += 1
    reg.get("s0", "view")  # s0 used recently: s1 is now the least recently used
    now[0] += 1
    reg.put("s3", "view", np.zeros(250_000, np.float32))
    assert sorted(reg.sessions()) == ["s0", "s2", "s3"] and reg.total_bytes <= reg.max_bytes
    assert reg.n_evicted == 1 and reg.was_evicted("s1", "view")
    with pytest.raises(SessionEvicted) as caught:
        reg.get("s1", "view", what="your view")
    assert "3 MB" in caught.value.message("en") and "least recently used" in caught.value.message("en")
    assert "最久未使用" in caught.value.message("zh")
    reg.put("s1", "view", np.zeros(10, np.float32))  # doing it again clears the notice
    assert not reg.was_evicted("s1", "view")


def test_the_budget_never_frees_a_busy_session_or_the_one_putting():
    import numpy as np

    now = [0.0]
    reg = SessionRegistry(ttl=3600, clock=lambda: now[0], max_bytes=1_000_000)
    with reg.busy("trainer", "training"):
        reg.put("trainer", "model", np.zeros(200_000, np.float32))  # 0.8 MB, oldest, but busy
        now[0] += 1
        reg.put("big", "view", np.zeros(200_000, np.float32))  # over budget: only "big" itself could go
        assert sorted(reg.sessions()) == ["big", "trainer"]
        now[0] += 1
        reg.put("next", "view", np.zeros(10, np.float32))
        assert sorted(reg.sessions()) == ["next", "trainer"]  # "big" freed, the busy trainer kept


def test_expiry_and_drops_give_the_bytes_back():
    import numpy as np

    now = [0.0]
    reg = SessionRegistry(ttl=10, clock=lambda: now[0], max_bytes=10_000_000)
    reg.put("a", "x", np.zeros(1000, np.float32))
    reg.put("b", "x", np.zeros(1000, np.float32))
    reg.pop("b", "x")
    reg.drop("b")
    now[0] += 11
    reg.sweep()
    assert reg.total_bytes == 0 and len(reg) == 0
