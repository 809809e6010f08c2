"""A short version of bench/load_test.py: a few users inspect and generate on a real server
(subprocess) while one trains. Asserts correctness only — 0 errors, every response checked,
My model private to its owner — never timings (the CI machine's speed is not ours)."""

import pytest

from bench import load_test

pytestmark = [pytest.mark.server, pytest.mark.slow]


def test_four_users_and_a_training_run_get_only_correct_answers():
    report = load_test.run(
        ["--users", "4", "--seconds", "8", "--ttl", "5", "--think", "0.1", "0.4", "--expiry-wait", "0"]
    )
    assert report["errors"] == 0, report["error_records"]
    assert report["server_alive"] and report["isolation_ok"]
    assert report["latency"]["/inspect"]["n"] >= 4 and report["latency"]["/generate"]["n"] >= 2
    assert report["train"]["ok"] and report["train"]["my_model_generates"]
