"""Alert sinks: where alert envelopes go (JSONL file, webhook, email) without ever holding up processing.

One module per job: :mod:`.settings` (what is configured), :mod:`.port` (the sink interface and its
counters), the adapters :mod:`.jsonl`, :mod:`.webhook` and :mod:`.mail`, the retries the network ones
share (:mod:`.retrying`), the queue that keeps a slow sink off the caller's path (:mod:`.background`),
and the fan-out that builds and feeds them (:mod:`.dispatch`).
"""
from engine.alerts.sinks.background import BackgroundSink
from engine.alerts.sinks.dispatch import AlertDispatcher, build_sinks
from engine.alerts.sinks.jsonl import JsonlSink
from engine.alerts.sinks.mail import EmailSink, email_subject
from engine.alerts.sinks.port import AlertSink, SinkStats
from engine.alerts.sinks.settings import AlertSinkSettings
from engine.alerts.sinks.webhook import WebhookSink

__all__ = [
    "AlertDispatcher", "AlertSink", "AlertSinkSettings", "BackgroundSink", "EmailSink", "JsonlSink", "SinkStats",
    "WebhookSink", "build_sinks", "email_subject",
]
