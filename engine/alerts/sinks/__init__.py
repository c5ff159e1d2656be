"""Alert sinks (being split into one module per job; the code is in :mod:`.mail` for now)."""
from engine.alerts.sinks.mail import (
    AlertDispatcher,
    AlertSink,
    AlertSinkSettings,
    BackgroundSink,
    EmailSink,
    JsonlSink,
    SinkStats,
    WebhookSink,
    build_sinks,
    email_subject,
)

__all__ = [
    "AlertDispatcher", "AlertSink", "AlertSinkSettings", "BackgroundSink", "EmailSink", "JsonlSink", "SinkStats",
    "WebhookSink", "build_sinks", "email_subject",
]
