"""The engine behind the stream consumer: every database call and every solve runs off the event loop.

- Database work runs on one dedicated thread (ingest batches, plan snapshots and publishes), so a
  worker's own writes never interleave; across workers ``UnitOfWork.lock_writes`` serialises them.
- A solve runs on its own thread, which waits on the CP-SAT process pool (``solver.workers``): the
  GIL-free search happens in another process, and neither the loop nor ingest waits for it.
- The outbox relay reads and marks rows on a third thread, holding its transaction (and, on
  PostgreSQL, the ``relay`` advisory lock) while the broker acknowledges: one relay at a time across
  workers, rows marked sent only after the acknowledgement, in outbox order.
"""
from __future__ import annotations

import asyncio
import functools
import logging
import json
import time
from collections.abc import Awaitable, Callable, Collection, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any, TypeVar

from engine import state_keys as keys
from engine.alerts.sweep import SweepResult
from engine.bootstrap import Engine
from engine.reports.publish import (
    UnknownRegion,
    already_published,
    publish_weekly_report,
)
from engine.services.ingest import BatchResult, RawEvent, applied_offsets
from engine.services.fencing import Fence, Stale
from engine.services.planning import PlanOutcome

log = logging.getLogger(__name__)
T = TypeVar("T")

RETRIES = 3          # whole-batch attempts before a batch is split to find the message that fails
BACKOFF_S = (0.2, 1.0, 5.0)
RELAY_WAIT_S = 120.0  # longest the relay waits for a batch's acknowledgements (its producer gives up sooner)


class DatabaseWasDown(Exception):
    """A batch failed while the database did not answer; it answers again now, and the caller asked to be told
    (to resume from the offsets the database holds, which a crash may have set back) instead of a retry."""


@dataclass
class Stats:
    """Counters the health endpoint and tests read."""

    batches: int = 0
    ingest: BatchResult = field(default_factory=BatchResult)
    plans: int = 0
    plans_dropped: int = 0      # stale basis or not carried onto the current state: planned again
    scoped_plans: int = 0       # of the published plans, those that freed only some programmes (engine/services/scope.py)
    relayed: int = 0
    retries: int = 0
    isolated: int = 0           # batches split after repeated failure
    last_plan: dict[str, Any] = field(default_factory=dict)
    started: float = field(default_factory=time.time)


class EngineService:
    def __init__(self, engine: Engine, clock: str = "event", relay_batch: int = 1000) -> None:
        self.engine = engine
        self.ingestor = engine.ingestor
        self.planner = engine.planner()
        self.clock_mode, self.relay_batch = clock, relay_batch
        self.stats = Stats()
        self._db = ThreadPoolExecutor(1, thread_name_prefix="cohortplan-db")
        self._solve = ThreadPoolExecutor(1, thread_name_prefix="cohortplan-solve")
        self._relay = ThreadPoolExecutor(1, thread_name_prefix="cohortplan-relay")
        self._sinks = ThreadPoolExecutor(1, thread_name_prefix="cohortplan-sinks")
        self._lows = ThreadPoolExecutor(1, thread_name_prefix="cohortplan-lows")  # see exchange_lows
        self.readers = engine.outbox_readers(embedded=False)  # webhook / email; the topic gets them via the relay
        self.sweep = engine.alert_sweep()

    async def _on(self, executor: ThreadPoolExecutor, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(executor, functools.partial(fn, *args))

    def close(self) -> None:
        self.readers.close()  # first: cuts short a sink's backoff so its thread can finish
        for executor in (self._db, self._solve, self._relay, self._sinks, self._lows):
            executor.shutdown(wait=True, cancel_futures=True)

    # ingest -----------------------------------------------------------------------------------
    async def apply(self, batch: Sequence[RawEvent], abort_on_outage: bool = False) -> BatchResult:
        """Apply a batch in one transaction. A batch that keeps failing while the database answers
        is split, and a message that fails on its own becomes a dead letter: processing continues.
        While the database does not answer, it waits and retries the whole batch: a failure the outage
        caused is never counted against the batch, so nothing valid is split or dead-lettered for it.
        With ``abort_on_outage`` it raises :class:`DatabaseWasDown` instead of that retry, once the database
        answers again: a database that crashed may have lost commits it acknowledged (PostgreSQL without
        ``synchronous_commit``), and the caller resumes from the offsets it really holds."""
        attempt = 0
        while True:
            try:
                result = await self._on(self._db, self.ingestor.process, batch)
                self._count(result)
                return result
            except Exception as exc:  # noqa: BLE001 - any failure: retry, then isolate
                self.stats.retries += 1
                log.warning("batch of %d from %s failed (attempt %d): %r", len(batch), batch[0].origin,
                            attempt + 1, exc)
            if await self._wait_for_database():
                if abort_on_outage:
                    raise DatabaseWasDown(f"batch of {len(batch)} from {batch[0].origin} not applied")
                continue  # the database was down: the outage failed the batch, not its messages
            attempt += 1
            if attempt >= RETRIES:
                break
            await asyncio.sleep(BACKOFF_S[min(attempt - 1, len(BACKOFF_S) - 1)])
        if len(batch) == 1:
            return await self._reject(batch[0])
        self.stats.isolated += 1
        total = BatchResult()
        for item in batch:
            total.add(await self.apply([item], abort_on_outage))
        return total

    async def _reject(self, item: RawEvent) -> BatchResult:
        reason = f"internal error applying this message (see the worker log at partition {item.partition} " \
                 f"offset {item.offset}); it was set aside so processing could continue"
        while True:
            try:
                result = await self._on(self._db, self.ingestor.reject, item, reason)
                self._count(result)
                return result
            except Exception as exc:  # noqa: BLE001
                log.error("could not dead-letter %s/%s@%s: %r; retrying", item.origin, item.partition,
                          item.offset, exc)
                await self._wait_for_database()

    async def _wait_for_database(self) -> bool:
        """Wait until the database answers; True if it did not answer at first (an outage)."""
        delay, waited = 0.5, False
        while True:
            try:
                await self._on(self._db, self.planner.clock)
                return waited
            except Exception as exc:  # noqa: BLE001
                log.error("database unavailable (%r); retrying in %.1f s", exc, delay)
                waited = True
                await asyncio.sleep(delay)
                delay = min(delay * 2, 30.0)

    def _count(self, result: BatchResult) -> None:
        self.stats.batches += 1
        self.stats.ingest.add(result)

    # planning ---------------------------------------------------------------------------------
    async def as_of(self) -> date:
        if self.clock_mode == "wall":
            return datetime.now(timezone.utc).date()
        clock = await self._on(self._db, self.planner.clock)
        return (clock or datetime.now(timezone.utc)).date()

    async def replan(self, region: str) -> PlanOutcome | None:
        """Snapshot → solve in the process pool → publish carried onto the state now."""
        started = time.perf_counter()
        as_of = await self.as_of()
        prepared, scope = await self._on(self._db, self.planner.prepare_next, region, as_of)
        plan = await self._on(self._solve, self.planner.allocator.allocate, prepared.problem)
        try:
            outcome = await self._on(self._db, self.planner.publish, prepared, plan)
        except Stale as exc:
            log.warning("plan for %s dropped: %s", region, exc)
            outcome = None
        if outcome is None:
            self.stats.plans_dropped += 1
            return None
        self.stats.plans += 1
        self.stats.last_plan = dict(region=region, as_of=as_of.isoformat(), version=outcome.plan_version,
                                    status=plan.status, made=outcome.made, changed=outcome.changed,
                                    removed=outcome.removed, seconds=round(time.perf_counter() - started, 3),
                                    scope=scope.describe())
        self.stats.scoped_plans += not scope.full
        log.info("plan %d for %s as of %s (%s: %s): %s, made %d changed %d removed %d in %.2f s", outcome.plan_version,
                 region, as_of, scope.describe(), scope.why, plan.status, outcome.made, outcome.changed,
                 outcome.removed, time.perf_counter() - started)
        return outcome

    async def sweep_alerts(self, region: str) -> SweepResult:
        """Run the alert sweep for a region between plans (dates move on, events get rejected)."""
        as_of = await self.as_of()
        result = await self._on(self._db, self.sweep.sweep, self.engine.database.uow, region, as_of)
        return result

    async def dirty_regions(self) -> list[str]:
        return await self._on(self._db, self.planner.dirty_regions)

    async def known_regions(self) -> list[str]:
        return await self._on(self._db, self.planner.known_regions)

    async def take_fence(self, name: str, holder: str, held: int | None) -> Fence:
        """Take a re-plan partition's fence (:func:`engine.services.fencing.take_fence`) on the database thread."""
        return await self._on(self._db, self.planner.take_fence, name, holder, held)

    async def offsets(self) -> dict[tuple[str, int], int]:
        """The applied offset per (topic, partition), as stored with the state."""
        def read() -> dict[tuple[str, int], int]:
            with self.engine.database.uow() as uow:
                return applied_offsets(uow)
        return await self._on(self._db, read)

    async def exchange_lows(self, mine: dict[tuple[str, int], tuple | None], stale_s: float
                            ) -> tuple[dict[tuple[str, int], tuple | None], set[tuple[str, int]]]:
        """Publish this worker's low watermarks and read everyone's (see :mod:`streams.merge`): the fresh
        ones, and the partitions with a stale entry. Entries not refreshed for ``stale_s`` are left out:
        a partition nobody has published for that long (its worker gone and not replaced) must not hold
        the others for ever.

        A row is written only when its low changed or its time is a quarter of ``stale_s`` old: this runs
        every ``COHORTPLAN_WATERMARK_INTERVAL_S`` (50 times a second), and rewriting unchanged rows made every
        exchange a commit (a WAL flush on a durable PostgreSQL). What the others read is the same: the current
        low, never older than ``stale_s``. It runs on its own thread and connection: on the ingest's, each
        event arriving during an exchange (2.4 ms, 40 a second at 50 events/s) waited for it (BENCHMARKS.md,
        issue 16, session 16). The lows are computed on the event loop before, so nothing orders them after
        the ingest's commits."""
        def run() -> tuple[dict[tuple[str, int], tuple | None], set[tuple[str, int]]]:
            now = time.time()
            with self.engine.database.uow() as uow:
                rows = uow.states(keys.LOW_WATERMARK.prefix)
                written = False
                for (topic, partition), low in sorted(mine.items()):
                    name, key = keys.LOW_WATERMARK.key(topic, partition), _encode(low)
                    stored = json.loads(rows[name]) if name in rows else None
                    if stored is None or stored["key"] != key or now - stored["at"] >= stale_s / 4:
                        rows[name] = json.dumps({"at": now, "key": key})
                        uow.set_state(name, rows[name])
                        written = True
                if written:
                    uow.commit()
            fresh, stale = {}, set()
            for name, value in rows.items():
                topic, partition = keys.LOW_WATERMARK.parts(name)
                entry = json.loads(value)
                if now - entry["at"] <= stale_s:
                    fresh[(topic, int(partition))] = _decode(entry["key"])
                else:
                    stale.add((topic, int(partition)))
            return fresh, stale
        return await self._on(self._lows, run)

    async def last_planned(self, region: str) -> date | None:
        return await self._on(self._db, self.planner.last_planned, region)

    # outbox -----------------------------------------------------------------------------------
    async def deliver_alerts(self) -> int:
        """One round of every alert sink's outbox reader (off the loop); returns the rows delivered."""
        drained = await self._on(self._sinks, self.readers.drain)
        return sum(d.delivered for d in drained.values())

    async def relay(self, send: Callable[[list[dict]], Awaitable[Collection[int]]]) -> int:
        """Send unsent outbox rows (oldest first) and mark sent those the broker acknowledged: ``send`` answers the
        ids of the rows acknowledged. A row is marked only when every earlier row of its topic and key was too
        (:func:`sent_in_order`), so a row sent again never overtakes its key's order; the rest are sent again on the
        next round. Marking what was acknowledged, not all or nothing, is what keeps a partly failed batch (a broker
        restarted under it) from sending its acknowledged rows twice."""
        loop = asyncio.get_running_loop()

        def drain() -> int:
            with self.engine.database.uow() as uow:
                if not uow.try_lock("relay"):
                    return 0
                rows = uow.unsent_outbox(self.relay_batch)
                if not rows:
                    return 0
                sending = asyncio.run_coroutine_threadsafe(send(rows), loop)
                try:
                    acknowledged = sending.result(timeout=RELAY_WAIT_S)
                except TimeoutError:
                    sending.cancel()  # no row of it marked: it must not go on sending beside the next round's copy
                    raise
                done = sent_in_order(rows, acknowledged)
                if done:
                    uow.mark_sent(done, datetime.now(timezone.utc))
                    uow.commit()
                return len(done)  # the others are sent again on the next round (the sender logged why)

        sent = await self._on(self._relay, drain)
        self.stats.relayed += sent
        return sent

    # reports ----------------------------------------------------------------------------------
    async def weekly_report(self, region: str, out_dir: Path) -> Path | None:
        """Write the region's weekly planner report (HTML with charts, CSVs, JSON headline numbers) and
        publish ``report.published``, once per region and date; the HTML's path, or None if already done."""
        as_of = await self.as_of()

        def run() -> Path | None:
            if already_published(self.engine.database, region, as_of):
                return None
            try:
                done = publish_weekly_report(self.engine.database, self.engine.rules, region, as_of, out_dir)
            except UnknownRegion as exc:
                log.warning("no weekly report for %s: %s", region, exc)
                return None
            return done.html if done.published else None

        return await self._on(self._db, run)




def _encode(key: tuple | None) -> list | None:
    """An event-time key as JSON: (1, datetime, rank, event id), (0,) for invalid, () for nothing yet."""
    return None if key is None else [k.isoformat() if isinstance(k, datetime) else k for k in key]


def _decode(value: list | None) -> tuple | None:
    if value is None:
        return None
    return tuple(datetime.fromisoformat(v) if i == 1 and isinstance(v, str) else v for i, v in enumerate(value))


def sent_in_order(rows: list[dict], acknowledged: Collection[int]) -> list[int]:
    """The ids of ``rows`` (outbox order) that may be marked sent: acknowledged, and no earlier row of the same topic
    and key unacknowledged (that one is sent again, and its key's later rows after it)."""
    acknowledged, held, done = set(acknowledged), set(), []
    for row in rows:
        route = (row["topic"], row["key"])
        if route in held or row["id"] not in acknowledged:
            held.add(route)
        else:
            done.append(row["id"])
    return done
