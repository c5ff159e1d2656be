"""The webhook sink: each alert POSTed as JSON, with its event id as the idempotency key."""
from __future__ import annotations

import time
from email.utils import parsedate_to_datetime

import httpx

from engine.alerts.sinks.port import Message, to_json
from engine.alerts.sinks.retrying import DeliveryError, RetryingSink, RetryPolicy, TransientDeliveryError
from engine.alerts.sinks.settings import AlertSinkSettings


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
            response = self._client.post(self._url, content=to_json(message).encode(), headers=headers)
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
