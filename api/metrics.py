"""Prometheus metrics at ``/metrics``: requests and latency by route, open alerts by kind (and by workflow
state: open against acknowledged), plan age, and how the process's read model keeps up (answers computed in requests
against off them, and the read helper's computations: api/read_model.py, api/helper.py).

Each app has its own registry (two apps in one process do not share counters). The state gauges are read
from the database at scrape time; ``cohortplan_state_up`` is 0 when that read failed.
"""
from __future__ import annotations

import logging
import time
from collections import Counter as Tally
from datetime import datetime, time as clock_time, timezone

from fastapi import APIRouter, FastAPI, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from api.reads import Reader
from engine.alerts.states import state_of

log = logging.getLogger(__name__)
router = APIRouter(tags=["health"])


class StateCollector(Collector):
    """Open alerts by region and kind (and by workflow state), and each region's plan age, read when scraped
    (through the app's reader, bound by :func:`api.app.create_app`)."""

    def __init__(self, app: FastAPI) -> None:
        self.app = app

    def collect(self):
        up = GaugeMetricFamily("cohortplan_state_up", "1 when the state metrics could be read from the database")
        alerts = GaugeMetricFamily("cohortplan_open_alerts", "Open alerts", labels=["region", "kind"])
        by_state = GaugeMetricFamily("cohortplan_alerts", "Open alerts by workflow state (OPEN, ASSIGNED, "
                                     "ACKNOWLEDGED, SNOOZED, RESOLVED)", labels=["region", "kind", "state"])
        age = GaugeMetricFamily("cohortplan_plan_age_seconds",
                                "Seconds since the date the region was last planned as of", labels=["region"])
        intake = {"dead_letters": GaugeMetricFamily("cohortplan_dead_letters", "Dead letters held (table)"),
                  "waiting": GaugeMetricFamily("cohortplan_events_waiting",
                                               "Events parked, waiting for what they refer to"),
                  "expired": GaugeMetricFamily("cohortplan_events_expired_kept", "Events that waited past the park "
                                               "timeout, kept to be re-admitted if what they waited for arrives")}
        try:
            reader: Reader = self.app.state.reader
            rows = reader.all_open_alerts()
            counts = Tally((a["region_code"], a["kind"]) for a in rows)
            states = Tally((a["region_code"], a["kind"], str(state_of(a))) for a in rows)
            planned = reader.planned_as_of()
            counts_now = reader.intake_counts()
        except Exception as exc:  # a scrape must answer even when the database does not
            log.warning("state metrics not read: %s", exc)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        for (region, kind), n in sorted(counts.items()):
            alerts.add_metric([region, kind], n)
        for (region, kind, state), n in sorted(states.items()):
            by_state.add_metric([region, kind, state], n)
        now = datetime.now(timezone.utc)
        for region, as_of in sorted(planned.items()):
            age.add_metric([region], (now - datetime.combine(as_of, clock_time(), timezone.utc)).total_seconds())
        for name, family in intake.items():
            family.add_metric([], counts_now[name])
        yield from (up, alerts, by_state, age, *intake.values())


class ReadModelCollector(Collector):
    """The process's read model, read when scraped: answers computed by kind, in a request (each a request that
    waited for it) or by the refresher off the requests; and the read helper's computations, answered by it or done
    in the server because it had died, and the helper processes started. Counters of this process only: with
    ``--workers N`` a scrape reads whichever process answers it."""

    def __init__(self, app: FastAPI) -> None:
        self.app = app

    def collect(self):
        computed = CounterMetricFamily("cohortplan_api_answers_computed", "Read-model answers computed, by kind of "
                                       "answer and where: in a request, or by the refresher", labels=["answer", "by"])
        helper = CounterMetricFamily("cohortplan_api_read_helper_computations", "The refresher's computations, "
                                     "by who did them: the read helper, or the server when the helper had died",
                                     labels=["by"])
        started = CounterMetricFamily("cohortplan_api_read_helper_started", "Read helper processes started")
        reader: Reader | None = getattr(self.app.state, "reader", None)
        if reader is None:
            return
        for (kind, ahead), n in sorted(reader.model.tallied().items()):
            computed.add_metric([kind, "refresher" if ahead else "request"], n)
        yield computed
        if reader.helper is not None:
            helper.add_metric(["helper"], reader.helper.ran)
            helper.add_metric(["server"], reader.helper.fell_back)
            started.add_metric([], reader.helper.started)
            yield from (helper, started)


def install(app: FastAPI) -> None:
    """Count every request by route template (not raw path: ids would explode the label set)."""
    registry = CollectorRegistry()
    requests = Counter("cohortplan_api_requests", "HTTP requests answered", ["method", "route", "status"],
                       registry=registry)
    latency = Histogram("cohortplan_api_request_seconds", "Time to answer a request", ["method", "route"],
                        registry=registry)
    registry.register(StateCollector(app))
    registry.register(ReadModelCollector(app))
    app.state.metrics_registry = registry

    app.add_middleware(_Measured, requests=requests, latency=latency)
    app.include_router(router)


class _Measured:
    """A plain ASGI middleware (not Starlette's ``BaseHTTPMiddleware``, which copies every answer through a stream
    and a task): counts each HTTP request by method, route template and status, and observes its latency."""

    def __init__(self, app, requests: Counter, latency: Histogram) -> None:
        self.app, self.requests, self.latency = app, requests, latency

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started, status = time.perf_counter(), 500

        async def sending(message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            route = getattr(scope.get("route"), "path", "unmatched")
            self.requests.labels(scope["method"], route, str(status)).inc()
            self.latency.labels(scope["method"], route).observe(time.perf_counter() - started)


@router.get("/metrics", response_class=Response, summary="Prometheus metrics (text exposition format)",
            responses={200: {"content": {CONTENT_TYPE_LATEST: {}}, "description": "Metrics"}})
def metrics(request: Request) -> Response:
    return Response(generate_latest(request.app.state.metrics_registry), media_type=CONTENT_TYPE_LATEST)
