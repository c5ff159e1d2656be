"""api/coalesce.py: callers waiting at the same time share one read, and none takes a read that began before it
arrived (what makes a shared state version as fresh as a request's own)."""
from __future__ import annotations

import threading

import pytest

from api.coalesce import SharedRead
from tests.support.polling import wait_until


def test_callers_arriving_during_a_read_share_the_next_one_never_the_one_under_way():
    started: list[int] = []  # the number of commits the state had when each read started
    commits = [0]
    release = [threading.Event(), threading.Event()]

    def read() -> int:
        started.append(commits[0])
        release[len(started) - 1].wait(10)
        return commits[0] if len(started) > 1 else started[0]  # the first read answers what it saw at its start

    shared = SharedRead(read)
    first: list[int] = []
    leader = threading.Thread(target=lambda: first.append(shared()))
    leader.start()
    wait_until(lambda: started, timeout=10, interval=0.001)
    commits[0] = 1  # a change committed while the first read runs, before the others arrive
    answers: list[int] = []
    others = [threading.Thread(target=lambda: answers.append(shared())) for _ in range(8)]
    for thread in others:
        thread.start()
    wait_until(lambda: shared.waiting == len(others), timeout=10, interval=0.001)  # all arrived during read 1
    release[0].set()
    wait_until(lambda: len(started) >= 2, timeout=10, interval=0.001)
    release[1].set()
    for thread in [leader, *others]:
        thread.join(10)
    assert first == [0]
    assert answers == [1] * 8  # every later caller saw the change: they waited for a read started after them
    assert shared.reads == 2 and started == [0, 1]


def test_a_failed_read_fails_its_callers_and_the_next_caller_reads_again():
    calls = [0]

    def read() -> int:
        calls[0] += 1
        if calls[0] == 1:
            raise ConnectionError("database gone")
        return calls[0]

    shared = SharedRead(read)
    with pytest.raises(ConnectionError):
        shared()
    assert shared() == 2
    assert shared() == 3  # one read per call when nobody waits at the same time
