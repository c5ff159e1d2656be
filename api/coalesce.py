"""One read shared by the requests that wait for it: :class:`SharedRead`.

Every request reads the engine's state version and the limited-access rules before anything else (api/deps.py). With
many requests in flight, each read costs a pooled connection's ping and a statement though they all find the
same answer. A request may take the answer of any read that **started after the request arrived**: that read sees
every change committed before the request began, exactly what a read of its own would have seen (or newer). So
the requests that arrive while one read runs wait for the next one, and all take its answer; a request never takes
the answer of a read that started before it arrived.
"""
from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class SharedRead(Generic[T]):
    """``read()`` for each caller, shared by callers waiting at the same time (thread-safe)."""

    def __init__(self, read: Callable[[], T]) -> None:
        self._read = read
        self._cond = threading.Condition()
        self._next = 1  # the number of the next read to start; a caller arriving now takes that one (or a later)
        self._done = 0  # the number of the last read finished ...
        self._answer: tuple[T | None, BaseException | None] = (None, None)  # ... and what it found
        self._reading = False
        self.reads = 0  # reads made (tests read it)
        self.waiting = 0  # callers waiting for a read to finish (tests read it)

    def __call__(self) -> T:
        with self._cond:
            mine = self._next  # a read numbered ``mine`` or later starts after this caller arrived
            while self._done < mine:
                if not self._reading:
                    self._reading, self._next = True, mine + 1
                    break  # this caller makes read ``mine``: those arriving from now on wait for the next
                self.waiting += 1
                try:
                    self._cond.wait()
                finally:
                    self.waiting -= 1
            else:
                return self._take()
        answer: tuple[T | None, BaseException | None]
        try:
            answer = (self._read(), None)
        except BaseException as error:  # noqa: BLE001 - handed to every caller of this read
            answer = (None, error)
        with self._cond:
            self.reads += 1
            self._reading, self._done, self._answer = False, mine, answer
            self._cond.notify_all()
            return self._take()

    def _take(self) -> T:
        value, error = self._answer
        if error is not None:
            raise error
        return value  # type: ignore[return-value]
