"""Alert sinks: where alert envelopes go (JSONL file, webhook, email), each fed from the outbox by its own reader.

One module per job: :mod:`.settings` (what is configured), :mod:`.port` (the sink interface and its
counters), the adapters :mod:`.jsonl`, :mod:`.webhook` and :mod:`.mail`, the retries the network ones
share (:mod:`.retrying`), and the outbox readers that build and feed them (:mod:`.readers`).
"""
from engine.alerts.sinks.jsonl import JsonlSink
from engine.alerts.sinks.mail import EmailSink, email_subject
from engine.alerts.sinks.port import AlertSink, SinkStats
from engine.alerts.sinks.readers import OutboxReader, OutboxReaders, build_sinks
from engine.alerts.sinks.settings import AlertSinkSettings
from engine.alerts.sinks.webhook import WebhookSink

__all__ = [
    "AlertSink", "AlertSinkSettings", "EmailSink", "JsonlSink", "OutboxReader", "OutboxReaders", "SinkStats",
    "WebhookSink", "build_sinks", "email_subject",
]
