"""Alert sinks: where alert envelopes go (JSONL file, webhook, email) without ever holding up processing.

Network sinks retry transient failures with capped exponential backoff and jitter, then log the alert id
and kind (never the reason or other payload text) and count the failure. ``BackgroundSink`` puts a bounded
queue and one daemon thread in front of a slow sink, so ``deliver`` only enqueues.
"""
from __future__ import annotations

import json
import logging
import smtplib
import ssl
import threading
import time
from abc import ABC, abstractmethod
from collections import OrderedDict, deque
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formatdate, parsedate_to_datetime
from pathlib import Path
from typing import Annotated, Any, Iterable, Literal, Sequence

import httpx
from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception_type,
    stop_after_attempt,
    stop_when_event_set,
    wait_exponential,
    wait_random_exponential,
)

log = logging.getLogger(__name__)

Message = dict[str, Any]
SeverityName = Literal["INFO", "WARNING", "CRITICAL"]
_SEVERITY_RANK = {"INFO": 0, "WARNING": 1, "CRITICAL": 2}


class AlertSinkSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="COHORTPLAN_ALERT_", frozen=True, extra="ignore")

    jsonl_path: Path | None = Field(Path("out/alerts.jsonl"), description="append-only alert log; empty turns it off")
    webhook_url: str | None = Field(None, description="POST each alert here as JSON (http/https)")
    webhook_timeout_s: float = Field(5.0, gt=0, le=300)
    webhook_headers: dict[str, str] = Field(default_factory=dict, repr=False,
                                            description="extra request headers as a JSON object, e.g. Authorization")
    smtp_host: str | None = Field(None, description="email alerts only when set")
    smtp_port: int = Field(587, ge=1, le=65535)
    smtp_from: str | None = None
    smtp_to: Annotated[tuple[str, ...], NoDecode] = Field((), description="recipients: JSON list or comma-separated")
    smtp_starttls: bool = True
    smtp_username: str | None = None
    smtp_password: SecretStr | None = Field(None, description="set it in the environment, never in a file")
    smtp_timeout_s: float = Field(10.0, gt=0, le=300)
    email_min_severity: SeverityName = "WARNING"
    retry_attempts: int = Field(5, ge=1, le=20, description="attempts per alert, the first one included")
    backoff_initial_s: float = Field(0.5, ge=0, le=60)
    backoff_max_s: float = Field(30.0, ge=0, le=600)
    queue_size: int = Field(1000, ge=1, le=1_000_000, description="alerts held per network sink; the oldest drop")

    @field_validator("jsonl_path", "webhook_url", "smtp_host", "smtp_from", "smtp_username", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: Any) -> Any:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("smtp_to", mode="before")
    @classmethod
    def _recipients(cls, value: Any) -> Any:
        if isinstance(value, str):
            text = value.strip()
            value = json.loads(text) if text.startswith("[") else text.split(",")
        return tuple(v.strip() for v in value if v.strip())

    @field_validator("webhook_url")
    @classmethod
    def _http_only(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError("webhook_url must start with http:// or https://")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> AlertSinkSettings:
        if self.smtp_host and not (self.smtp_from and self.smtp_to):
            raise ValueError("smtp_host needs smtp_from and smtp_to")
        if self.smtp_username and (self.smtp_password is None or not self.smtp_starttls):
            raise ValueError("smtp_username needs smtp_password and smtp_starttls (no credentials in clear)")
        if self.backoff_max_s < self.backoff_initial_s:
            raise ValueError("backoff_max_s must be at least backoff_initial_s")
        return self


@dataclass
class SinkStats:
    """Counters a sink shares with its ``BackgroundSink``; safe to update from several threads."""

    delivered: int = 0
    failed: int = 0
    dropped: int = 0
    retries: int = 0
    skipped: int = 0  # filtered out on purpose (e.g. below the email severity)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def add(self, **counts: int) -> None:
        with self._lock:
            for name, count in counts.items():
                setattr(self, name, getattr(self, name) + count)

    def snapshot(self) -> dict[str, int]:
        with self._lock:
            return {"delivered": self.delivered, "failed": self.failed, "dropped": self.dropped,
                    "retries": self.retries, "skipped": self.skipped}


class AlertSink(ABC):
    """Port: takes alert envelopes (dicts) and never raises for a delivery problem."""

    name = "sink"
    stats: SinkStats

    @abstractmethod
    def deliver(self, messages: list[Message]) -> None: ...

    def close(self, timeout: float = 5.0) -> None:
        """Release resources; a sink that holds nothing has nothing to do."""


def _alert_ref(message: Message) -> tuple[str, str]:
    """What logs may say about an alert: its id and kind, nothing from the reason or numbers."""
    payload = message.get("payload") or {}
    return str(payload.get("alert_id", "?")), str(payload.get("kind", "?"))


def _to_json(message: Message) -> str:
    return json.dumps(message, ensure_ascii=False, default=str)


class JsonlSink(AlertSink):
    name = "jsonl"

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.stats = SinkStats()
        self._lock = threading.Lock()

    def deliver(self, messages: list[Message]) -> None:
        if not messages:
            return
        text = "".join(_to_json(m) + "\n" for m in messages)
        try:
            with self._lock:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                with self.path.open("a", encoding="utf-8") as out:
                    out.write(text)
                    out.flush()
        except OSError as exc:
            log.error("alert log %s not written (%d alerts): %s", self.path, len(messages), type(exc).__name__)
            self.stats.add(failed=len(messages))
        else:
            self.stats.add(delivered=len(messages))


# --- retrying network sinks -------------------------------------------------------------------------

class DeliveryError(Exception):
    """A failed attempt; ``str`` is safe to log (status code or exception class, no payload text)."""


class TransientDeliveryError(DeliveryError):
    def __init__(self, detail: str, retry_after: float | None = None) -> None:
        super().__init__(detail)
        self.retry_after = retry_after


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 5
    initial_s: float = 0.5
    max_s: float = 30.0

    @classmethod
    def from_settings(cls, settings: AlertSinkSettings) -> RetryPolicy:
        return cls(settings.retry_attempts, settings.backoff_initial_s, settings.backoff_max_s)

    def wait(self, state: RetryCallState) -> float:
        """Equal jitter: half the exponential step fixed, half random; a server's Retry-After wins, capped."""
        half = wait_exponential(multiplier=self.initial_s / 2, max=self.max_s / 2)
        jitter = wait_random_exponential(multiplier=self.initial_s / 2, max=self.max_s / 2)
        backoff = half(state) + jitter(state)
        exc = state.outcome.exception() if state.outcome else None
        hinted = getattr(exc, "retry_after", None)
        return min(max(backoff, hinted or 0.0), self.max_s)


class RetryingSink(AlertSink):
    """Delivers one alert at a time with retries; ``close`` cuts short any backoff in progress."""

    def __init__(self, retry: RetryPolicy) -> None:
        self.retry = retry
        self.stats = SinkStats()
        self._stopping = threading.Event()

    @abstractmethod
    def _attempt(self, message: Message) -> None:
        """Send once; raise TransientDeliveryError to retry, DeliveryError to give up."""

    def deliver(self, messages: list[Message]) -> None:
        for message in messages:
            self._deliver_one(message)

    def _deliver_one(self, message: Message) -> bool:
        retrying = Retrying(stop=stop_after_attempt(self.retry.attempts) | stop_when_event_set(self._stopping),
                            wait=self.retry.wait, retry=retry_if_exception_type(TransientDeliveryError),
                            sleep=self._stopping.wait, before_sleep=lambda _: self.stats.add(retries=1),
                            reraise=True)
        try:
            retrying(self._attempt, message)
        except Exception as exc:  # noqa: BLE001 - a sink never raises into the caller
            detail = str(exc) if isinstance(exc, DeliveryError) else type(exc).__name__
            alert_id, kind = _alert_ref(message)
            log.error("%s alert not delivered: alert_id=%s kind=%s (%s)", self.name, alert_id, kind, detail)
            self.stats.add(failed=1)
            return False
        self.stats.add(delivered=1)
        return True

    def close(self, timeout: float = 5.0) -> None:
        self._stopping.set()


def _retry_after_seconds(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None


class WebhookSink(RetryingSink):
    name = "webhook"

    def __init__(self, url: str, headers: dict[str, str] | None = None, timeout: float = 5.0,
                 retry: RetryPolicy = RetryPolicy()) -> None:
        super().__init__(retry)
        self._url = url
        self._client = httpx.Client(timeout=timeout, follow_redirects=False,
                                    headers={"User-Agent": "cohortplan-alerts", **(headers or {})})

    @classmethod
    def from_settings(cls, settings: AlertSinkSettings) -> WebhookSink:
        assert settings.webhook_url
        return cls(settings.webhook_url, settings.webhook_headers, settings.webhook_timeout_s,
                   RetryPolicy.from_settings(settings))

    def _attempt(self, message: Message) -> None:
        headers = {"Content-Type": "application/json", "Idempotency-Key": str(message["event_id"])}
        try:
            response = self._client.post(self._url, content=_to_json(message).encode(), headers=headers)
        except (httpx.UnsupportedProtocol, httpx.InvalidURL) as exc:
            raise DeliveryError(type(exc).__name__) from None
        except httpx.TransportError as exc:  # connect errors, timeouts, resets
            raise TransientDeliveryError(type(exc).__name__) from None
        status = response.status_code
        if status == 429 or status >= 500:
            raise TransientDeliveryError(f"HTTP {status}", _retry_after_seconds(response.headers.get("Retry-After")))
        if not 200 <= status < 300:
            raise DeliveryError(f"HTTP {status}")

    def close(self, timeout: float = 5.0) -> None:
        super().close(timeout)
        self._client.close()


class EmailSink(RetryingSink):
    """One plain-text email per alert at or above ``min_severity``.

    Once an alert has been emailed, its updates and its clearing are emailed too (whatever their
    severity), so nobody is left believing a condition still holds. That memory lasts for the process.
    """

    name = "email"
    _REMEMBERED = 10_000

    def __init__(self, host: str, port: int, sender: str, recipients: Sequence[str], *,
                 username: str | None = None, password: SecretStr | str | None = None, starttls: bool = True,
                 min_severity: SeverityName = "WARNING", timeout: float = 10.0,
                 retry: RetryPolicy = RetryPolicy()) -> None:
        super().__init__(retry)
        self._host, self._port, self._timeout = host, port, timeout
        self._sender, self._recipients = sender, list(recipients)
        self._username = username
        self._password = SecretStr(password) if isinstance(password, str) else password
        self._starttls = starttls
        self._min_rank = _SEVERITY_RANK[min_severity]
        self._emailed: OrderedDict[str, None] = OrderedDict()
        self._domain = sender.rpartition("@")[2].strip("<> ") or "cohortplan.invalid"

    @classmethod
    def from_settings(cls, settings: AlertSinkSettings) -> EmailSink:
        assert settings.smtp_host and settings.smtp_from
        return cls(settings.smtp_host, settings.smtp_port, settings.smtp_from, settings.smtp_to,
                   username=settings.smtp_username, password=settings.smtp_password,
                   starttls=settings.smtp_starttls, min_severity=settings.email_min_severity,
                   timeout=settings.smtp_timeout_s, retry=RetryPolicy.from_settings(settings))

    def deliver(self, messages: list[Message]) -> None:
        for message in messages:
            alert_id, _ = _alert_ref(message)
            if not self._wanted(message, alert_id):
                self.stats.add(skipped=1)
                continue
            if self._deliver_one(message):
                self._remember(alert_id, cleared=message.get("event_type") == "alert.cleared")

    def _wanted(self, message: Message, alert_id: str) -> bool:
        if alert_id in self._emailed:
            return True
        severity = (message.get("payload") or {}).get("severity")
        if severity is None:  # a clearing carries no severity: only worth saying if we said it was raised
            return False
        return _SEVERITY_RANK.get(str(severity), len(_SEVERITY_RANK)) >= self._min_rank

    def _remember(self, alert_id: str, cleared: bool) -> None:
        self._emailed.pop(alert_id, None)
        if not cleared:
            self._emailed[alert_id] = None
            while len(self._emailed) > self._REMEMBERED:
                self._emailed.popitem(last=False)

    def _attempt(self, message: Message) -> None:
        email = render_email(message, self._sender, self._recipients, self._domain)
        try:
            smtp = smtplib.SMTP(self._host, self._port, timeout=self._timeout)
        except OSError as exc:
            raise _smtp_error(exc) from None
        try:
            self._send(smtp, email)
        except OSError as exc:  # smtplib.SMTPException is an OSError
            raise _smtp_error(exc) from None
        finally:
            _quietly_quit(smtp)

    def _send(self, smtp: smtplib.SMTP, email: EmailMessage) -> None:
        if self._starttls:
            smtp.starttls(context=ssl.create_default_context())
        if self._username and self._password is not None:
            smtp.login(self._username, self._password.get_secret_value())
        refused = smtp.send_message(email)
        if refused:
            log.warning("email alert refused for %d of %d recipients", len(refused), len(self._recipients))


def _smtp_error(exc: OSError) -> DeliveryError:
    """4xx replies, dropped connections and network errors are worth another try; 5xx and TLS trust are not."""
    name = type(exc).__name__
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in exc.recipients.values()]
        transient = bool(codes) and all(400 <= code < 500 for code in codes)
        return TransientDeliveryError(name) if transient else DeliveryError(name)
    if isinstance(exc, smtplib.SMTPResponseException):
        detail = f"{name} {exc.smtp_code}"
        return TransientDeliveryError(detail) if 400 <= exc.smtp_code < 500 else DeliveryError(detail)
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        return TransientDeliveryError(name)
    if isinstance(exc, (smtplib.SMTPException, ssl.SSLCertVerificationError)):
        return DeliveryError(name)
    return TransientDeliveryError(name)


def _quietly_quit(smtp: smtplib.SMTP) -> None:
    try:
        smtp.quit()
    except (OSError, smtplib.SMTPException):
        smtp.close()


def _one_line(value: Any) -> str:
    return " ".join(str(value).split())


def email_subject(message: Message) -> str:
    """``[CRITICAL] deadline.at_risk referral REF-1 — act by 2025-03-01``; clearings say ``[CLEARED]``."""
    payload = message.get("payload") or {}
    event_type = message.get("event_type", "")
    label = "CLEARED" if event_type == "alert.cleared" else payload.get("severity", "ALERT")
    words = [f"[{label}]", payload.get("kind"), payload.get("subject_type"), payload.get("subject_id")]
    subject = " ".join(_one_line(w) for w in words if w)
    if event_type == "alert.updated":
        subject += " (updated)"
    if payload.get("act_by") and event_type != "alert.cleared":
        subject += f" — act by {_one_line(payload['act_by'])}"
    return subject


def email_body(message: Message) -> str:
    """The reason, then exactly the payload's fields: nothing is looked up or added."""
    payload = message.get("payload") or {}
    lines = [str(payload.get("reason", "")), ""]
    for key, value in payload.items():
        if key == "reason" or value is None:
            continue
        if isinstance(value, dict):
            lines.append(f"{key}:")
            lines.extend(f"  {k}: {v}" for k, v in value.items())
        else:
            lines.append(f"{key}: {value}")
    lines += ["", f"event: {message.get('event_type')} {message.get('event_id')} at {message.get('occurred_at')}"]
    return "\n".join(lines) + "\n"


def render_email(message: Message, sender: str, recipients: Sequence[str], domain: str) -> EmailMessage:
    email = EmailMessage()
    email["Subject"] = email_subject(message)
    email["From"] = sender
    email["To"] = ", ".join(recipients)
    email["Date"] = formatdate(usegmt=True)
    safe_id = "".join(c for c in str(message.get("event_id", "")) if c.isalnum() or c in "-._")
    email["Message-ID"] = f"<{safe_id}@{domain}>"
    email["Auto-Submitted"] = "auto-generated"  # RFC 3834: no out-of-office replies
    email.set_content(email_body(message))
    return email


# --- never blocking the caller ------------------------------------------------------------------------

class BackgroundSink(AlertSink):
    """A bounded queue and one daemon thread in front of ``inner``: ``deliver`` only enqueues.

    When the queue is full the oldest waiting alert is dropped (counted and logged): fresh alerts matter
    more, and every alert is already in the JSONL log.
    """

    def __init__(self, inner: AlertSink, max_queue: int = 1000) -> None:
        self.inner = inner
        self.name = f"background-{inner.name}"
        self.stats = inner.stats if hasattr(inner, "stats") else SinkStats()
        self._max = max_queue
        self._queue: deque[Message] = deque()
        self._cond = threading.Condition()
        self._closed = False
        self._thread = threading.Thread(target=self._run, name=f"alert-{inner.name}", daemon=True)
        self._thread.start()

    def deliver(self, messages: list[Message]) -> None:
        dropped: list[Message] = []
        with self._cond:
            why = "sink closed" if self._closed else "queue full"
            if self._closed:
                dropped = list(messages)
            else:
                for message in messages:
                    if len(self._queue) >= self._max:
                        dropped.append(self._queue.popleft())
                    self._queue.append(message)
                self._cond.notify()
        if dropped:
            self._count_dropped(dropped, why)

    def _count_dropped(self, dropped: list[Message], why: str) -> None:
        self.stats.add(dropped=len(dropped))
        refs = ", ".join(f"{a} ({k})" for a, k in map(_alert_ref, dropped[:10]))
        more = f" and {len(dropped) - 10} more" if len(dropped) > 10 else ""
        log.warning("%s: %s, dropped %d alert(s): %s%s", self.name, why, len(dropped), refs, more)

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._queue and not self._closed:
                    self._cond.wait()
                if not self._queue:
                    return
                message = self._queue.popleft()
            try:
                self.inner.deliver([message])
            except Exception as exc:  # noqa: BLE001 - keep the worker alive whatever the sink does
                alert_id, kind = _alert_ref(message)
                log.error("%s raised %s for alert_id=%s kind=%s", self.name, type(exc).__name__, alert_id, kind)
                self.stats.add(failed=1)

    @property
    def pending(self) -> int:
        with self._cond:
            return len(self._queue)

    def close(self, timeout: float = 5.0) -> None:
        """Deliver what can be delivered within ``timeout``; what is left is dropped and counted."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        self._thread.join(timeout)
        with self._cond:
            left = list(self._queue)
            self._queue.clear()
        if left:
            self._count_dropped(left, "closed before delivery")
        self.inner.close(0)


class AlertDispatcher:
    """Fans alert envelopes out to every sink; one failing sink never stops the others."""

    def __init__(self, sinks: Sequence[AlertSink]) -> None:
        self.sinks = tuple(sinks)

    def publish(self, messages: Iterable[Message]) -> None:
        batch = list(messages)
        if not batch:
            return
        for sink in self.sinks:
            try:
                sink.deliver(batch)
            except Exception as exc:  # noqa: BLE001 - isolation is the point
                log.error("alert sink %s raised %s on %d alert(s)", sink.name, type(exc).__name__, len(batch))

    def stats(self) -> dict[str, dict[str, int]]:
        return {sink.name: sink.stats.snapshot() for sink in self.sinks if hasattr(sink, "stats")}

    def close(self, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        for sink in self.sinks:
            try:
                sink.close(max(0.0, deadline - time.monotonic()))
            except Exception as exc:  # noqa: BLE001
                log.error("alert sink %s raised %s on close", sink.name, type(exc).__name__)

    def __enter__(self) -> AlertDispatcher:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


def build_sinks(settings: AlertSinkSettings) -> list[AlertSink]:
    """JSONL unless its path is empty; webhook and email only when configured, each behind its own queue."""
    sinks: list[AlertSink] = []
    if settings.jsonl_path is not None:
        sinks.append(JsonlSink(settings.jsonl_path))
    if settings.webhook_url:
        sinks.append(BackgroundSink(WebhookSink.from_settings(settings), settings.queue_size))
    if settings.smtp_host:
        sinks.append(BackgroundSink(EmailSink.from_settings(settings), settings.queue_size))
    return sinks
