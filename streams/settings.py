"""Service settings, read once at start-up from ``COHORTPLAN_*`` environment variables.

The engine's own settings (database URL, solver limits…) stay in :class:`engine.settings.EngineSettings`;
these are the transport's: broker, topics, batching, re-plan debounce, relay and schedules.
"""
from __future__ import annotations

import os
import socket
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from engine.events import registry as r

REPLAN = "programmes.replan.v1"  # internal: re-plan requests keyed by region; its partition owner plans it


class StreamSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="COHORTPLAN_", frozen=True, extra="ignore")

    broker_url: str = Field("kafka://127.0.0.1:9092", description="kafka://host:port[;host:port…]")
    app_id: str = Field("cohortplan", description="consumer group id and faust app id")
    worker_id: str = Field(default_factory=lambda: f"{socket.gethostname()}-{os.getpid()}")
    partitions: int = Field(6, ge=1, le=1000, description="partitions of every topic the service declares")
    replication_factor: int = Field(1, ge=1, le=10)

    topic_sentences: str = r.SENTENCES
    topic_referrals: str = r.REFERRALS
    topic_delivery: str = r.DELIVERY
    topic_allocations: str = r.ALLOCATIONS
    topic_alerts: str = r.ALERTS
    topic_reports: str = r.REPORTS
    topic_deadletter: str = r.DEADLETTER
    topic_replan: str = REPLAN

    consumer: Literal["aiokafka", "faust"] = Field(
        "aiokafka", description="what reads the inbound topics: an aiokafka consumer inside the faust app, in its "
        "own group <app_id>.inbound with getmany batches (streams/consumer.py; the default), or faust's agents (the "
        "path before issue 16: faust's per-message machinery costs ~100 µs of CPU per message, and after a database "
        "outage it retries its batch from memory instead of re-reading the database's offsets)")
    session_timeout_s: float = Field(10.0, ge=6, le=300, description="a worker that stops heartbeating "
                                     "(killed) loses its partitions after this long")
    batch_max: int = Field(1000, ge=1, le=100_000, description="most messages applied in one transaction")
    batch_within_s: float = Field(
        0.005, gt=0, le=1, description="(consumer=faust) longest an ingest agent holds messages to fill a batch of batch_max "
        "before handing them to the merge: a backlog fills batches at once, a trickle waits at most this long. "
        "While a transaction runs, what arrives queues in the merge and goes in the next one (group commit), "
        "so batches grow with the load whatever this is; it bounds the latency it adds at low rates")
    merge_idle_s: float = Field(
        2.0, ge=0, le=60, description="a partition neither caught up nor delivering (and not known to be behind the broker) holds others back at most this long")
    replan_quiet_s: float = Field(5.0, ge=0, description="re-plan a region after this long without changes")
    replan_max_delay_s: float = Field(60.0, gt=0, description="…or at most this long after its first change")
    ready_max_lag: int = Field(100, ge=0, description="/ready is true once the worker owns inbound partitions "
                               "and at most this many of their messages wait to be applied")
    relay_interval_s: float = Field(0.2, gt=0, le=60, description="outbox relay poll interval")
    watermark_interval_s: float = Field(
        0.02, gt=0, le=5, description="how often workers sharing the inbound partitions exchange low watermarks")
    relay_batch: int = Field(1000, ge=1, le=100_000)
    sweep_interval_s: float = Field(300.0, gt=0, description="date-driven re-plan check (wall clock only)")
    report_cron: str = Field("0 6 * * 1", description="weekly report crontab (leader only)")
    clock: Literal["event", "wall"] = Field(
        "event", description="plan as of the latest event time applied (replays, tests) or today's date")
    data_dir: str = Field("out/faust", description="faust's local state directory (one subdirectory per app id)")
    web_enabled: bool = True
    web_host: str = "127.0.0.1"
    web_port: int = Field(6066, ge=0, le=65535)

    @property
    def bootstrap_servers(self) -> str:
        """aiokafka's form of :attr:`broker_url`: host:port,host:port."""
        return ",".join(part.split("://", 1)[-1] for part in self.broker_url.replace(";", ",").split(","))

    @property
    def inbound_group(self) -> str:
        """The consumer group of the inbound topics: faust's (:attr:`app_id`) or the aiokafka consumer's own."""
        return f"{self.app_id}.inbound" if self.consumer == "aiokafka" else self.app_id

    @property
    def inbound_topics(self) -> tuple[str, ...]:
        return (self.topic_sentences, self.topic_referrals, self.topic_delivery)

    @property
    def outbound_topics(self) -> tuple[str, ...]:
        return (self.topic_allocations, self.topic_alerts, self.topic_reports, self.topic_deadletter)

    @property
    def all_topics(self) -> tuple[str, ...]:
        return (*self.inbound_topics, *self.outbound_topics, self.topic_replan)

    def outbound_topic(self, registry_topic: str) -> str:
        """The configured name of an outbound topic the engine wrote under its registry name."""
        return {r.ALLOCATIONS: self.topic_allocations, r.ALERTS: self.topic_alerts, r.REPORTS: self.topic_reports,
                r.DEADLETTER: self.topic_deadletter}.get(registry_topic, registry_topic)

    def inbound_topic(self, registry_topic: str) -> str:
        return {r.SENTENCES: self.topic_sentences, r.REFERRALS: self.topic_referrals,
                r.DELIVERY: self.topic_delivery}.get(registry_topic, registry_topic)
