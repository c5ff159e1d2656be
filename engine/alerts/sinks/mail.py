"""The email sink: one plain-text email per alert at or above a severity, sent over SMTP."""
from __future__ import annotations

import logging
import smtplib
import ssl
from collections import OrderedDict
from collections.abc import Sequence
from email.message import EmailMessage
from email.utils import formatdate
from typing import Any

from pydantic import SecretStr

from engine.alerts.sinks.port import Message, alert_ref
from engine.alerts.sinks.retrying import DeliveryError, RetryingSink, RetryPolicy, TransientDeliveryError
from engine.alerts.sinks.settings import AlertSinkSettings, SeverityName

log = logging.getLogger(__name__)

_SEVERITY_RANK = {"INFO": 0, "WARNING": 1, "CRITICAL": 2}


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

    def send(self, messages: list[Message]) -> int:
        for done, message in enumerate(messages):
            alert_id, _ = alert_ref(message)
            if not self._wanted(message, alert_id):
                self.stats.add(skipped=1)
                continue
            if not self._deliver_one(message):
                return done
            self._remember(alert_id, cleared=message.get("event_type") == "alert.cleared")
        return len(messages)

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
