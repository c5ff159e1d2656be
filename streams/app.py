"""The faust worker: the faust app wired to one engine through named collaborators.

- the inbound topics are read by an aiokafka consumer in its own group (:mod:`streams.consumer`, the default,
  ``COHORTPLAN_CONSUMER=aiokafka``) or by faust ingest agents (one per inbound topic, concurrency 1,
  ``COHORTPLAN_CONSUMER=faust``); either hands each batch of messages to the :class:`~streams.intake.Intake`: admitted once (:class:`~streams.intake.OffsetGate`), merged in
  event-time order, applied on the engine's database thread in one transaction with the partition
  offsets, acknowledged only then (:class:`~streams.intake.PendingAcks`; the aiokafka path acknowledges
  nothing: it seeks to the database's offsets);
- every region a batch changed goes to :class:`~streams.replan.ReplanRequests`: noted in this worker's
  :class:`~streams.replan.ReplanScheduler` when it owns the region's replan partition, else sent on the
  replan topic, whose agent here notes requests from other workers; the schedule timer starts the debounced plans;
- :class:`~streams.relay.OutboxRelay` sends what the plans (and the ingest) wrote to the outbox;
- :class:`~streams.relay.AlertDelivery` feeds the webhook and email sinks from the outbox, each by its cursor;
- :class:`~streams.watermarks.WatermarkExchange` orders partitions applied by other workers;
- timers: heartbeat (:class:`~streams.health.LoopWatch`), :class:`~streams.periodic.AlertSweep`,
  :class:`~streams.periodic.WeeklyReports` (leader, crontab);
- :class:`~streams.rebalance.PartitionAssignment` hands partitions to the intake and the scheduler;
  :class:`~streams.health.Health` answers ``/health`` and ``/ready``.
"""
from __future__ import annotations

import logging
from datetime import date
from pathlib import Path
from typing import Any

import faust
from faust.types import TP

from engine.bootstrap import Engine, bootstrap, clock_bounds
from engine.settings import EngineSettings
from streams.consumer import InboundConsumer
from streams.health import Health, LoopWatch
from streams.intake import Intake, OffsetGate, text
from streams.periodic import AlertSweep, WeeklyReports
from streams.rebalance import PartitionAssignment
from streams.relay import AlertDelivery, OutboxRelay
from streams.replan import ReplanRequests, ReplanScheduler
from streams.service import EngineService
from streams.settings import StreamSettings
from streams.watermarks import WatermarkExchange

log = logging.getLogger(__name__)

HEARTBEAT_S = 0.1
SCHEDULE_S = 0.2


class Worker:
    """A cohortplan service worker: builds the collaborators and registers them with the faust app."""

    def __init__(self, settings: StreamSettings | None = None, engine: Engine | None = None) -> None:
        self.settings = s = settings or StreamSettings()
        self.engine = engine or bootstrap(EngineSettings())
        # On the wall clock no event may be dated past today (plus skew); on the event clock, no jump.
        self.engine.ingestor.clock = clock_bounds(self.engine.settings, wall=s.clock == "wall")
        Path(s.data_dir, s.app_id).mkdir(parents=True, exist_ok=True)  # faust does not create parents
        self.engine.rules.is_holiday(date.today())  # load the holiday calendar now, not inside the first batch
        self.app = self._app(s)
        self.service = EngineService(self.engine, s.clock, s.relay_batch)
        self.scheduler = ReplanScheduler(self.service, s.partitions, s.replan_quiet_s, s.replan_max_delay_s,
                                         s.worker_id)
        self.replan_topic = self._topic(s.topic_replan)
        self.requests = ReplanRequests(self.scheduler, self.replan_topic)
        self.intake = Intake(self.service, OffsetGate(self._highwater), self.requests.request, s.merge_idle_s,
                             s.batch_max, self.engine.ingestor.clock)
        self.inbound = InboundConsumer(s, self.service, self.intake) if s.consumer == "aiokafka" else None
        if not self.inbound:  # faust's consumer is positioned from the database's offsets (seek_to_applied)
            self.intake.gate.can_seek, self.intake.seeker = True, self._seek
        self.watch = LoopWatch()
        self.health = Health(s.worker_id, self.app.is_leader, self.service, self.intake, self.scheduler, self.watch,
                             s.ready_max_lag)
        self.health.inbound = self.inbound
        self.reports = WeeklyReports(self.service, self.engine.settings.output_dir)
        self._register(s)

    def _app(self, s: StreamSettings) -> faust.App:
        return faust.App(
            s.app_id, broker=s.broker_url, value_serializer="raw", key_serializer="raw",
            topic_partitions=s.partitions, topic_replication_factor=s.replication_factor,
            topic_allow_declare=True, consumer_auto_offset_reset="earliest", producer_acks=-1,
            web_enabled=s.web_enabled, web_host=s.web_host, web_port=s.web_port, store="memory://",
            datadir=f"{s.data_dir}/{s.app_id}", broker_commit_interval=1.0, stream_wait_empty=False,
            broker_session_timeout=s.session_timeout_s, broker_heartbeat_interval=s.session_timeout_s / 3)

    def _register(self, s: StreamSettings) -> None:
        app = self.app
        self.ingest_agents = {} if self.inbound else {
            name: app.agent(self._topic(name), name=f"ingest.{name}", concurrency=1)(self._ingest)
            for name in s.inbound_topics}
        if self.inbound:
            app.task(self.inbound.run)
        self.replan_agent = app.agent(self.replan_topic, name="replan", concurrency=1)(self._replan)
        app.task(self.intake.run)
        app.timer(HEARTBEAT_S, name="heartbeat")(self.watch.beat)
        app.timer(SCHEDULE_S, name="schedule")(self.scheduler.tick)
        app.task(OutboxRelay(self.service, s).run)
        app.task(AlertDelivery(self.service, self.service.readers.interval_s).run)
        app.task(WatermarkExchange(self.service, self.intake.merger, s).run)
        app.timer(s.sweep_interval_s, name="sweep")(AlertSweep(self.service, self.scheduler, s.clock == "wall",
                                                                s.replan_quiet_s).run)
        app.crontab(s.report_cron, on_leader=True)(self.reports.run)
        # On the aiokafka path faust's group holds only the replan topic: the inbound consumer's listener
        # hands the intake its partitions, faust's rebalances hand it nothing.
        assignment = PartitionAssignment(s, self.service, _NoInbound() if self.inbound else self.intake,
                                         self.scheduler)
        app.on_partitions_assigned.connect(assignment.on_assigned)
        app.on_partitions_revoked.connect(assignment.on_revoked)
        if s.web_enabled:
            async def health(view, request):
                return view.json(self.health.report())
            app.page("/health")(health)

            async def ready(view, request):
                answer = self.health.readiness()
                return view.json(answer, status=200 if answer["ready"] else 503)
            app.page("/ready")(ready)

    def _topic(self, name: str) -> Any:
        return self.app.topic(name, partitions=self.settings.partitions, key_type=bytes, value_type=bytes,
                              key_serializer="raw", value_serializer="raw")

    async def _ingest(self, stream) -> None:
        async for events in stream.take_events(self.settings.batch_max, within=self.settings.batch_within_s):
            await self.intake.take(events)

    async def _replan(self, stream) -> None:
        async for event in stream.events():
            self.requests.received(text(event.key))

    async def _seek(self, offsets: dict[tuple[str, int], int]) -> None:
        """On faust's consumer thread (its plain ``seek`` races the fetcher there); a partition revoked meanwhile
        is left to its next owner."""
        try:
            await self.app.consumer.seek_wait({TP(*tp): offset for tp, offset in offsets.items()})
        except Exception:  # noqa: BLE001 - e.g. not assigned any more; the gate asks again if a gap remains
            log.warning("could not position the consumer at %s", offsets, exc_info=True)

    def _highwater(self, tp: tuple[str, int]) -> int | None:
        if self.inbound:
            return self.inbound.highwater(tp)
        try:
            return self.app.consumer.highwater(TP(*tp))
        except Exception:  # noqa: BLE001 - not assigned (any more), or no fetch yet
            return None


class _NoInbound:
    """What faust's rebalances hand the intake on the aiokafka path: nothing (faust does not read those topics)."""

    def assign(self, partitions: list, applied: dict) -> None:
        pass

    def revoke(self, partitions: list) -> None:
        pass
