"""The faust worker: one thin agent per inbound topic, a re-plan agent, the outbox relay and timers.

Inbound agents (concurrency 1): take a batch of messages → hand it to the engine on its database
thread (decode, validate, apply, dead-letter, in one transaction with the partition offsets) → send a
re-plan request for every region it changed → return, which acknowledges the batch for commit.

Re-planning is owned through Kafka: requests go to ``programmes.replan.v1`` keyed by region, to the
partition :func:`region_partition` names, and only the worker that owns that partition plans the
region — after a debounce (quiet period, maximum delay). A rebalance hands regions over; the new owner
finds regions still dirty in the database and plans them. A publish whose basis moved is dropped, so
even a stale owner during a rebalance cannot publish a conflicting plan.
"""
from __future__ import annotations

import asyncio
import json
import logging
import time
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

import faust
from aiokafka.partitioner import murmur2
from faust.types import TP

from engine.bootstrap import Engine, bootstrap, clock_bounds
from engine.services.ingest import RawEvent, decode_or_error
from engine.services.replay import object_or_none
from engine.settings import EngineSettings
from streams.debounce import Debouncer
from streams.merge import EventTimeMerger
from streams.service import EngineService
from streams.settings import StreamSettings

log = logging.getLogger(__name__)
HEARTBEAT_S = 0.1
BATCH_WITHIN_S = 0.005  # how long an agent waits to fill a batch: bounds the latency it adds
REQUEST_EVERY_S = 0.5


def region_partition(region: str, partitions: int) -> int:
    """The re-plan partition of a region (Kafka's default key partitioner, fixed here explicitly)."""
    return (murmur2(region.encode()) & 0x7FFFFFFF) % partitions


def _text(value: bytes | str | None) -> str:
    if value is None:
        return ""
    return value.decode("utf-8", errors="replace") if isinstance(value, (bytes, bytearray)) else str(value)


def _raw_event(message: Any) -> RawEvent:
    value = message.value
    try:
        text, exact = (value.decode("utf-8"), None) if isinstance(value, (bytes, bytearray)) else (_text(value), None)
    except UnicodeDecodeError:  # kept as bytes too, so a dead letter carries them exactly
        text, exact = value.decode("utf-8", errors="replace"), bytes(value)
    item = RawEvent(text, message.topic, partition=message.partition, offset=message.offset,
                    parsed=object_or_none(text), raw_bytes=exact)
    return replace(item, decoded=decode_or_error(item))  # once, here: the merge and the ingestor both use it


class LoopWatch:
    """Heartbeats on the event loop: the longest gap shows whether anything blocked it."""

    def __init__(self) -> None:
        self.beats, self.last, self.max_gap = 0, time.monotonic(), 0.0

    def beat(self) -> None:
        now = time.monotonic()
        if self.beats:
            self.max_gap = max(self.max_gap, now - self.last)
        self.beats, self.last = self.beats + 1, now


class Worker:
    """A cohortplan service worker: the faust app wired to one engine."""

    def __init__(self, settings: StreamSettings | None = None, engine: Engine | None = None) -> None:
        self.settings = s = settings or StreamSettings()
        self.engine = engine or bootstrap(EngineSettings())
        # On the wall clock no event may be dated past today (plus skew); on the event clock, no jump.
        self.engine.ingestor.clock = clock_bounds(self.engine.settings, wall=s.clock == "wall")
        self.service = EngineService(self.engine, s.clock, s.relay_batch)
        self.debouncer = Debouncer(s.replan_quiet_s, s.replan_max_delay_s)
        self.watch = LoopWatch()
        self.owned: set[int] = set()
        self._tasks: set[asyncio.Task] = set()
        Path(s.data_dir, s.app_id).mkdir(parents=True, exist_ok=True)  # faust does not create parents
        self.engine.rules.is_holiday(date.today())  # load the holiday calendar now, not inside the first batch
        self.merger = EventTimeMerger(self._apply, s.merge_idle_s, s.batch_max, caught_up=self._caught_up,
                                      clock=self.engine.ingestor.clock)
        self._expected: dict[tuple[str, int], int] = {}  # next offset to admit per inbound partition
        self._pending: dict[int, Any] = {}                # id(RawEvent) → its faust event, acked once applied
        self._requested: dict[str, float] = {}            # region → when a re-plan was last requested
        self.gaps = 0
        self.app = faust.App(
            s.app_id, broker=s.broker_url, value_serializer="raw", key_serializer="raw",
            topic_partitions=s.partitions, topic_replication_factor=s.replication_factor,
            topic_allow_declare=True, consumer_auto_offset_reset="earliest", producer_acks=-1,
            web_enabled=s.web_enabled, web_host=s.web_host, web_port=s.web_port, store="memory://",
            datadir=f"{s.data_dir}/{s.app_id}", broker_commit_interval=1.0, stream_wait_empty=False, broker_session_timeout=s.session_timeout_s,
            broker_heartbeat_interval=s.session_timeout_s / 3)
        self.replan_topic = self._topic(s.topic_replan)
        for name in s.inbound_topics:
            self.app.agent(self._topic(name), name=f"ingest.{name}", concurrency=1)(self._ingest_agent())
        self.app.agent(self.replan_topic, name="replan", concurrency=1)(self._replan_agent)
        self.app.task(self._run_merger)
        self.app.timer(HEARTBEAT_S, name="heartbeat")(self._heartbeat)
        self.app.timer(0.2, name="schedule")(self._schedule)
        self.app.task(self._relay_loop)
        self.app.task(self._watermark_loop)
        self.app.timer(s.sweep_interval_s, name="sweep")(self._sweep)
        self.app.crontab(s.report_cron, on_leader=True)(self._weekly_report)
        self.app.on_partitions_assigned.connect(self._on_assigned)
        self.app.on_partitions_revoked.connect(self._on_revoked)
        if s.web_enabled:
            async def health(view, request):
                return view.json(self.health())
            self.app.page("/health")(health)

    def _topic(self, name: str) -> Any:
        return self.app.topic(name, partitions=self.settings.partitions, key_type=bytes, value_type=bytes,
                              key_serializer="raw", value_serializer="raw")

    # agents -----------------------------------------------------------------------------------
    def _ingest_agent(self):
        async def ingest(stream):
            # A message is acknowledged (so its offset may be committed) only once the transaction that
            # applied it committed: each gets an extra reference here, which ``_apply`` releases, so the
            # acknowledgement ``take_events`` gives after handing over a batch does not complete it.
            async for events in stream.take_events(self.settings.batch_max, within=BATCH_WITHIN_S):
                admitted = []
                for event in events:
                    item = _raw_event(event.message)
                    if self._admit(item):
                        event.message.incref()
                        self._pending[id(item)] = event
                        admitted.append(item)
                await self.merger.submit(admitted)
        return ingest

    def _admit(self, item: RawEvent) -> bool:
        """Admit each partition's messages once, contiguously from the database's stored offset.

        Messages below the next expected offset were applied already (the committed offset lags the
        database after a crash): they are dropped. Commits never run ahead of the database, so a gap
        means someone else moved this group's offsets: it is logged and counted, then accepted.
        """
        tp = (item.origin, item.partition or 0)
        expected = self._expected.get(tp)
        if expected is not None and item.offset is not None and item.offset < expected:
            return False
        if expected is not None and item.offset is not None and item.offset > expected:
            self.gaps += 1
            log.error("%s[%d]: offsets %d..%d were never applied here and are skipped (someone moved the "
                      "group's committed offsets?)", *tp, expected, item.offset - 1)
        self._expected[tp] = (item.offset or 0) + 1
        return True

    def _caught_up(self, tp: tuple[str, int]) -> bool:
        """Everything the broker had in this partition at the last fetch was admitted."""
        expected = self._expected.get(tp)
        try:
            highwater = self.app.consumer.highwater(TP(*tp))
        except Exception:  # noqa: BLE001 - not assigned (any more), or no fetch yet
            return False
        return expected is not None and highwater is not None and expected >= highwater

    async def _apply(self, batch: list[RawEvent]) -> None:
        result = await self.service.apply(batch)
        for item in batch:
            event = self._pending.pop(id(item), None)
            if event is not None:
                event.ack()
        for region in sorted(result.dirty_regions):
            await self.request_replan(region)

    async def _watermark_loop(self) -> None:
        """While other workers own some inbound partitions, exchange low watermarks with them through
        the database so that partitions are applied in event-time order across workers too."""
        s = self.settings
        every = {(topic, p) for topic in s.inbound_topics for p in range(s.partitions)}
        while True:
            await asyncio.sleep(s.watermark_interval_s)
            try:
                mine = self.merger.lows()
                if every <= set(mine):
                    if self.merger.foreign:
                        self.merger.set_foreign({})
                    continue  # this worker owns every partition: its own merge orders them all
                lows = await self.service.exchange_lows(mine, stale_s=3 * s.session_timeout_s)
                self.merger.set_foreign({tp: low for tp, low in lows.items() if tp in every})
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - keep going; the last known lows stay in force meanwhile
                log.exception("low-watermark exchange failed")
                await asyncio.sleep(1.0)

    async def _run_merger(self) -> None:
        while True:
            try:
                await self.merger.run()
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - keep applying; the batch is retried from the stored offsets
                log.exception("event-time merger failed; restarting it")
                await asyncio.sleep(1.0)

    async def request_replan(self, region: str) -> None:
        """Ask the region's owner for a re-plan; at most one request per region every REQUEST_EVERY_S
        (a steady stream would otherwise send one per transaction; the debounce needs only the rhythm)."""
        now = time.monotonic()
        if now - self._requested.get(region, -REQUEST_EVERY_S) < REQUEST_EVERY_S:
            return
        self._requested[region] = now
        await self.replan_topic.send(key=region.encode(), value=json.dumps({"region": region}).encode(),
                                     partition=region_partition(region, self.settings.partitions))

    async def _replan_agent(self, stream) -> None:
        async for event in stream.events():
            self.debouncer.note(_text(event.key), time.monotonic())

    # timers -----------------------------------------------------------------------------------
    async def _heartbeat(self) -> None:
        self.watch.beat()

    def owns(self, region: str) -> bool:
        return region_partition(region, self.settings.partitions) in self.owned

    async def _schedule(self) -> None:
        for region in self.debouncer.due(time.monotonic()):
            if not self.owns(region):
                self.debouncer.done(region)
                continue
            task = asyncio.create_task(self._plan(region), name=f"plan:{region}")
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _plan(self, region: str) -> None:
        try:
            await self.service.replan(region)
        except Exception:  # noqa: BLE001 - a failed plan is retried after the quiet period
            log.exception("re-plan of %s failed; it stays dirty and is planned again", region)
        finally:
            self.debouncer.done(region)
        if self.owns(region) and region in await self.service.dirty_regions():
            self.debouncer.note(region, time.monotonic())

    async def _relay_loop(self) -> None:
        """Drain the outbox continuously; sleep only when it is empty (or after a failure)."""
        while True:
            try:
                if await self.service.relay(self._send) >= self.settings.relay_batch:
                    continue
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - unsent rows stay unsent and go on the next round
                log.exception("outbox relay failed; retrying")
                await asyncio.sleep(1.0)
            await asyncio.sleep(self.settings.relay_interval_s)

    async def _send(self, rows: list[dict]) -> None:
        futures = []
        for row in rows:
            futures.append(await self.app.producer.send(
                self.settings.outbound_topic(row["topic"]), row["key"].encode(), row["message"].encode(),
                None, None, [("message_id", row["message_id"].encode()), ("event_type", row["event_type"].encode())]))
        await asyncio.gather(*futures)

    async def _sweep(self) -> None:
        """Alerts between plans: each owned region's sweep (dates move on; events get rejected). On the
        wall clock, a region also gets a plan once the day changed."""
        try:
            regions = [r for r in await self.service.known_regions() if self.owns(r)]
            for region in regions:
                await self.service.sweep_alerts(region)
            today = await self.service.as_of()
            for region in regions if self.settings.clock == "wall" else ():
                last = await self.service.last_planned(region)
                if last is None or last < today:
                    self.debouncer.note(region, time.monotonic() - self.settings.replan_quiet_s)
        except Exception:  # noqa: BLE001 - a failed sweep is retried on the next tick
            log.exception("alert sweep failed")

    async def weekly_report(self) -> list:
        """Every known region's weekly planner report: HTML with charts, CSVs and headline numbers (the
        leader runs this on the report crontab; each region and date is published once)."""
        out = self.engine.settings.output_dir
        paths = [await self.service.weekly_report(region, out) for region in await self.service.known_regions()]
        return [p for p in paths if p]

    async def _weekly_report(self) -> None:
        try:
            for path in await self.weekly_report():
                log.info("weekly report written to %s", path)
        except Exception:  # noqa: BLE001 - the next tick tries again; nothing else depends on it
            log.exception("weekly report failed")

    # rebalances -------------------------------------------------------------------------------
    async def _on_assigned(self, app, assigned, **_: Any) -> None:
        assignment = app.consumer.assignment()
        self.owned = {tp.partition for tp in assignment if tp.topic == self.settings.topic_replan}
        inbound = [(tp.topic, tp.partition) for tp in assignment if tp.topic in self.settings.inbound_topics]
        applied = await self.service.offsets()
        self._expected = {tp: applied[tp] + 1 if tp in applied else 0 for tp in inbound}
        self.merger.revoke([tp for tp in self.merger.partitions if tp not in self._expected])
        self.merger.assign(inbound)
        log.info("worker %s owns re-plan partitions %s", self.settings.worker_id, sorted(self.owned))
        for region in await self.service.dirty_regions():
            if self.owns(region):
                self.debouncer.note(region, time.monotonic())

    async def _on_revoked(self, app, revoked, **_: Any) -> None:
        self.owned -= {tp.partition for tp in revoked if tp.topic == self.settings.topic_replan}
        gone = [(tp.topic, tp.partition) for tp in revoked if tp.topic in self.settings.inbound_topics]
        for item in self.merger.revoke(gone):  # unapplied, never acked: the next owner reads them again
            self._pending.pop(id(item), None)
        for region in self.debouncer.pending:
            if not self.owns(region):
                self.debouncer.forget(region)

    # health ---------------------------------------------------------------------------------
    def lag(self) -> dict[str, int]:
        """Messages on the broker not yet admitted, per assigned inbound partition (at the last fetch)."""
        out = {}
        for tp in self.merger.partitions:
            try:
                highwater = self.app.consumer.highwater(TP(*tp))
            except Exception:  # noqa: BLE001 - unassigned meanwhile
                continue
            if highwater is not None:
                out[f"{tp[0]}:{tp[1]}"] = max(0, highwater - self._expected.get(tp, 0))
        return out

    def health(self) -> dict[str, Any]:
        stats = self.service.stats
        r = stats.ingest
        return dict(
            worker_id=self.settings.worker_id, leader=self.app.is_leader(), replan_partitions=sorted(self.owned),
            regions_pending=self.debouncer.pending, regions_planning=self.debouncer.running,
            loop=dict(heartbeats=self.watch.beats, max_gap_s=round(self.watch.max_gap, 3)),
            merge=dict(buffered=self.merger.buffered, partitions=len(self.merger.partitions), gaps=self.gaps),
            lag=self.lag(),
            ingest=dict(batches=stats.batches, received=r.received, applied=r.applied, duplicates=r.duplicates,
                        redelivered=r.redelivered, dead_lettered=r.dead_lettered, parked=r.parked, stale=r.stale,
                        retries=stats.retries, isolated=stats.isolated),
            plans=dict(published=stats.plans, dropped=stats.plans_dropped, last=stats.last_plan),
            relayed=stats.relayed, uptime_s=round(time.time() - stats.started, 1))
