"""Alert sinks: retried, deduplicable, saying how many alerts they are done with, never leaking payload text.

A sink's ``send`` returns how many leading alerts are done with (delivered, skipped on purpose, refused for
good); the outbox reader (tests/integration/test_outbox_readers.py) keeps the rest for its next round.

All network is 127.0.0.1. Waits on Events carry generous timeouts as a safety net only; nothing here
asserts how long anything took.
"""
from __future__ import annotations

import email
import json
import logging
import socket
import threading
import uuid
from email import policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Iterator

import pytest
from aiosmtpd.controller import Controller
from pydantic import ValidationError

from tests.support.polling import wait_until
from engine.alerts.sinks import (
    AlertSinkSettings,
    EmailSink,
    JsonlSink,
    WebhookSink,
    build_sinks,
    email_subject,
)

SAFETY = 10.0  # seconds; only ever a bound on waiting for something that should happen


@pytest.fixture(autouse=True)
def _no_alert_env(monkeypatch):
    import os
    for name in list(os.environ):
        if name.startswith("COHORTPLAN_ALERT_"):
            monkeypatch.delenv(name)


def fast_settings(**overrides: Any) -> AlertSinkSettings:
    values: dict[str, Any] = dict(retry_attempts=5, backoff_initial_s=0.001, backoff_max_s=0.005,
                                  webhook_timeout_s=SAFETY, smtp_timeout_s=SAFETY, jsonl_path="")
    return AlertSinkSettings(**{**values, **overrides})


def make_alert(**overrides: Any) -> dict[str, Any]:
    payload = {"alert_id": "deadline.at_risk:referral:REF-1", "kind": "deadline.at_risk", "severity": "CRITICAL",
               "subject_type": "referral", "subject_id": "REF-1", "act_by": "2025-03-01",
               "reason": "NO_COHORT_BEFORE_DEADLINE: latest start 2025-03-01 (confidential detail)"}
    event_type = overrides.pop("event_type", "alert.raised")
    payload.update(overrides)
    return {"event_id": str(uuid.uuid4()), "event_type": event_type, "schema_version": 1,
            "occurred_at": "2025-02-03T09:00:00+00:00", "source": "cohortplan",
            "key": payload["subject_id"], "payload": {k: v for k, v in payload.items() if v is not None}}


# --- a real HTTP receiver ---------------------------------------------------------------------------

class Receiver:
    """Answers ``statuses`` in turn (then 200)."""

    def __init__(self, statuses: list[int] | None = None) -> None:
        self.statuses = list(statuses or [])
        self.requests: list[tuple[dict[str, str], bytes]] = []
        self.accepted: list[dict[str, Any]] = []
        self._lock = threading.Lock()

    def answer(self, headers: dict[str, str], body: bytes) -> int:
        with self._lock:
            self.requests.append((headers, body))
            status = self.statuses.pop(0) if self.statuses else 200
            if status == 200:
                self.accepted.append(json.loads(body))
        return status


@pytest.fixture
def serve() -> Iterator[Any]:
    servers: list[tuple[ThreadingHTTPServer, Receiver]] = []

    def start(receiver: Receiver) -> str:
        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                status = receiver.answer({k.lower(): v for k, v in self.headers.items()}, body)
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        servers.append((server, receiver))
        return f"http://127.0.0.1:{server.server_address[1]}/alerts"

    yield start
    for server, _ in servers:
        server.shutdown()
        server.server_close()


@pytest.fixture
def webhook() -> Iterator[Any]:
    sinks: list[WebhookSink] = []

    def make(url: str, **overrides: Any) -> WebhookSink:
        sinks.append(WebhookSink.from_settings(fast_settings(webhook_url=url, **overrides)))
        return sinks[-1]

    yield make
    for sink in sinks:
        sink.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_webhook_alert_arrives_once_after_the_receiver_fails_twice_with_the_same_idempotency_key(webhook, serve):
    receiver = Receiver(statuses=[503, 503])
    sink = webhook(serve(receiver))
    alert = make_alert()
    assert sink.send([alert]) == 1
    sink.close()
    assert receiver.accepted == [alert]
    assert [h["idempotency-key"] for h, _ in receiver.requests] == [alert["event_id"]] * 3
    assert sink.stats.snapshot() == {"delivered": 1, "failed": 0, "dropped": 0, "retries": 2, "skipped": 0}


@pytest.mark.parametrize("status", [429, 500, 502, 504])
def test_rate_limits_and_server_errors_are_retried(webhook, serve, status):
    receiver = Receiver(statuses=[status])
    sink = webhook(serve(receiver))
    assert sink.send([make_alert()]) == 1
    assert len(receiver.accepted) == 1 and sink.stats.retries == 1


@pytest.mark.parametrize("status", [400, 401, 404, 422])
def test_a_client_error_is_not_retried_and_is_logged_without_the_reason(webhook, serve, status, caplog):
    receiver = Receiver(statuses=[status])
    sink = webhook(serve(receiver))
    alert, after = make_alert(), make_alert(subject_id="REF-2")
    with caplog.at_level(logging.ERROR, logger="engine.alerts.sinks"):
        assert sink.send([alert, after]) == 2  # refused for good: passed over, the next one goes
    assert len(receiver.requests) == 2 and receiver.accepted == [after]
    assert (sink.stats.failed, sink.stats.retries, sink.stats.delivered) == (1, 0, 1)
    assert "deadline.at_risk:referral:REF-1" in caplog.text and f"HTTP {status}" in caplog.text
    assert "confidential" not in caplog.text


def test_a_receiver_still_failing_after_the_last_attempt_stops_the_batch_for_the_next_round(webhook, serve,
                                                                                             caplog):
    receiver = Receiver(statuses=[503] * 10)
    sink = webhook(serve(receiver), retry_attempts=3)
    with caplog.at_level(logging.WARNING, logger="engine.alerts.sinks"):
        assert sink.send([make_alert(), make_alert(subject_id="REF-2")]) == 0  # nothing done: both wait
    assert len(receiver.requests) == 3 and receiver.accepted == []
    assert (sink.stats.failed, sink.stats.retries, sink.stats.delivered) == (0, 2, 0)
    assert "stays in the outbox" in caplog.text and "confidential" not in caplog.text


def test_a_receiver_that_is_down_leaves_the_alert_waiting(webhook):
    sink = webhook(f"http://127.0.0.1:{free_port()}/alerts", retry_attempts=2)
    assert sink.send([make_alert()]) == 0
    assert (sink.stats.failed, sink.stats.retries) == (0, 1)


def test_close_cuts_a_backoff_short_and_the_alert_still_waits(webhook, serve):
    receiver = Receiver(statuses=[503] * 10)
    sink = webhook(serve(receiver), retry_attempts=10, backoff_initial_s=30, backoff_max_s=60)
    done: list[int] = []
    sender = threading.Thread(target=lambda: done.append(sink.send([make_alert()])))
    sender.start()
    wait_until(lambda: len(receiver.requests) >= 1, timeout=SAFETY)
    sink.close()
    sender.join(SAFETY)
    assert not sender.is_alive() and done == [0] and receiver.accepted == []


# --- email ------------------------------------------------------------------------------------------

class Inbox:
    def __init__(self) -> None:
        self.messages: list[tuple[Any, email.message.EmailMessage]] = []

    async def handle_DATA(self, server, session, envelope) -> str:
        self.messages.append((envelope, email.message_from_bytes(envelope.content, policy=policy.default)))
        return "250 OK"


@pytest.fixture
def smtp_server() -> Iterator[tuple[Inbox, int]]:
    inbox, port = Inbox(), free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


def email_sink(port: int, **overrides: Any) -> EmailSink:
    values = dict(smtp_host="127.0.0.1", smtp_port=port, smtp_from="alerts@cohortplan.example",
                  smtp_to="ops@probation.example,lead@probation.example", smtp_starttls=False)
    return EmailSink.from_settings(fast_settings(**{**values, **overrides}))


def test_an_alert_email_has_the_subject_and_only_the_fields_given(smtp_server):
    inbox, port = smtp_server
    sink = email_sink(port)
    alert = make_alert(numbers={"weeks_left": 3})
    assert sink.send([alert]) == 1
    [(envelope, mail)] = inbox.messages
    assert envelope.rcpt_tos == ["ops@probation.example", "lead@probation.example"]
    assert mail["Subject"] == "[CRITICAL] deadline.at_risk referral REF-1 — act by 2025-03-01"
    assert alert["event_id"] in mail["Message-ID"]
    reason, fields, trailer = mail.get_content().replace("\r\n", "\n").split("\n\n")
    assert reason == alert["payload"]["reason"]
    assert [line.split(":")[0].strip() for line in fields.splitlines()] == [
        "alert_id", "kind", "severity", "subject_type", "subject_id", "act_by", "numbers", "weeks_left"]
    assert trailer.startswith(f"event: alert.raised {alert['event_id']}")
    assert sink.stats.delivered == 1


def test_email_skips_alerts_below_the_minimum_severity(smtp_server):
    inbox, port = smtp_server
    sink = email_sink(port, email_min_severity="WARNING")
    assert sink.send([make_alert(severity="INFO", alert_id="a:1"), make_alert(severity="WARNING", alert_id="a:2")]) == 2
    assert [m["Subject"].split()[0] for _, m in inbox.messages] == ["[WARNING]"]
    assert (sink.stats.delivered, sink.stats.skipped) == (1, 1)


def test_a_clearing_is_emailed_only_for_an_alert_that_was_emailed(smtp_server):
    inbox, port = smtp_server
    sink = email_sink(port)
    cleared = dict(severity=None, act_by=None, event_type="alert.cleared")
    sink.send([make_alert(alert_id="a:1"), make_alert(alert_id="a:1", **cleared),
                  make_alert(alert_id="a:2", **cleared)])
    assert [m["Subject"] for _, m in inbox.messages] == [
        "[CRITICAL] deadline.at_risk referral REF-1 — act by 2025-03-01",
        "[CLEARED] deadline.at_risk referral REF-1"]


def test_starttls_refused_by_the_server_is_a_failure_that_is_not_retried(smtp_server):
    _, port = smtp_server
    sink = email_sink(port, smtp_starttls=True)
    assert sink.send([make_alert()]) == 1  # refused for good: passed over
    assert (sink.stats.failed, sink.stats.retries) == (1, 0)


def test_an_smtp_server_that_is_down_is_retried_then_leaves_the_alert_waiting():
    sink = email_sink(free_port(), retry_attempts=2)
    assert sink.send([make_alert()]) == 0
    assert (sink.stats.failed, sink.stats.retries) == (0, 1)


def test_subject_lines_cannot_smuggle_headers():
    assert "\n" not in email_subject(make_alert(subject_id="REF-1\r\nBcc: someone@example.com"))


# --- JSONL, settings --------------------------------------------------------------------

def test_jsonl_appends_lines_that_parse_back_to_the_same_alerts(tmp_path):
    path = tmp_path / "nested" / "alerts.jsonl"
    first, second = [make_alert()], [make_alert(subject_id="REF-é"), make_alert()]
    assert JsonlSink(path).send(first) == 1
    assert JsonlSink(path).send(second) == 2
    assert [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()] == first + second


def test_jsonl_lines_stay_whole_when_written_from_several_threads(tmp_path):
    sink = JsonlSink(tmp_path / "alerts.jsonl")
    batches = [[make_alert() for _ in range(20)] for _ in range(8)]
    threads = [threading.Thread(target=sink.send, args=(b,)) for b in batches]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    lines = [json.loads(line) for line in sink.path.read_text(encoding="utf-8").splitlines()]
    assert sorted(a["event_id"] for a in lines) == sorted(a["event_id"] for b in batches for a in b)


def test_a_jsonl_file_that_cannot_be_written_leaves_every_alert_waiting(tmp_path):
    blocked = tmp_path / "a-file"
    blocked.write_text("")
    sink = JsonlSink(blocked / "alerts.jsonl")  # its directory is a file
    assert sink.send([make_alert()]) == 0 and sink.stats.delivered == 0


def test_only_the_jsonl_sink_is_built_by_default(tmp_path, monkeypatch):
    monkeypatch.setenv("COHORTPLAN_ALERT_JSONL_PATH", str(tmp_path / "a.jsonl"))
    [sink] = build_sinks(AlertSinkSettings())
    assert isinstance(sink, JsonlSink)


def test_configured_network_sinks_are_built(monkeypatch):
    for name, value in {"JSONL_PATH": "", "WEBHOOK_URL": "http://127.0.0.1:9/hook",
                        "WEBHOOK_HEADERS": '{"Authorization": "Bearer t"}', "SMTP_HOST": "127.0.0.1",
                        "SMTP_FROM": "a@b.example", "SMTP_TO": '["x@b.example"]', "READER_BATCH": "7",
                        "SMTP_USERNAME": "u", "SMTP_PASSWORD": "s3cret"}.items():
        monkeypatch.setenv(f"COHORTPLAN_ALERT_{name}", value)
    settings = AlertSinkSettings()
    sinks = build_sinks(settings)
    try:
        assert [type(s) for s in sinks] == [WebhookSink, EmailSink] and settings.reader_batch == 7
        assert "s3cret" not in repr(settings) and "Bearer" not in repr(settings)
    finally:
        for sink in sinks:
            sink.close(1.0)


@pytest.mark.parametrize("bad", [dict(smtp_host="h"), dict(webhook_url="ftp://x"),
                                 dict(smtp_host="h", smtp_from="a@b", smtp_to="c@d", smtp_username="u"),
                                 dict(backoff_initial_s=2, backoff_max_s=1)])
def test_inconsistent_settings_are_refused(bad):
    with pytest.raises(ValidationError):
        AlertSinkSettings(**bad)
