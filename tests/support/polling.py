"""Waiting in tests: poll a condition until it holds or a deadline passes, never sleep a fixed time.

A fixed sleep is either too short on a slow machine (a flaky failure) or too long on a fast one (a slow
suite); a poll returns as soon as the condition holds and fails with what it last saw when it never does.
"""
from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")


def wait_until(condition: Callable[[], T], timeout: float, interval: float = 0.2,
               message: str | Callable[[], str] = "") -> T:
    """Call ``condition`` until it returns something truthy (returned), or fail after ``timeout`` seconds.

    ``message`` (text, or a function giving it, e.g. a worker's log tail) is added to the failure."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() >= deadline:
            raise AssertionError(f"not true after {timeout} s: {_describe(condition)}"
                                 f"{': ' if message else ''}{message() if callable(message) else message}")
        time.sleep(interval)


async def wait_until_async(condition: Callable[[], T | Awaitable[T]], timeout: float, interval: float = 0.01) -> T:
    """:func:`wait_until` inside an event loop: the loop keeps running the code under test meanwhile."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return result
        if time.monotonic() >= deadline:
            raise AssertionError(f"not true after {timeout} s: {_describe(condition)}")
        await asyncio.sleep(interval)


def _describe(condition: Callable) -> str:
    return getattr(condition, "__doc__", None) or getattr(condition, "__name__", repr(condition))
