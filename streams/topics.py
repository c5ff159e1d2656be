"""Declare every topic explicitly, all with the same partition count, before any agent starts.

Faust would create topics lazily with whatever defaults it has; a service that relies on per-key order
and on partition ownership (re-plans) wants them to exist up front with a known count, and refuses to
start if an existing topic disagrees, rather than silently planning with two owners per region.
"""
from __future__ import annotations

import logging

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

log = logging.getLogger(__name__)


class TopicMismatch(RuntimeError):
    """A topic exists with a different partition count than the service is configured for."""


async def ensure_topics(bootstrap: str, names: tuple[str, ...] | list[str], partitions: int,
                        replication: int = 1) -> list[str]:
    """Create missing topics; returns the names created. Raises :class:`TopicMismatch`."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, client_id="cohortplan-admin")
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [n for n in names if n not in existing]
        if missing:
            try:
                await admin.create_topics([NewTopic(n, partitions, replication) for n in missing])
            except TopicAlreadyExistsError:  # another worker created it first
                pass
        described = await admin.describe_topics([n for n in names if n in existing])
        wrong = {d["topic"]: len(d["partitions"]) for d in described if len(d["partitions"]) != partitions}
        if wrong:
            raise TopicMismatch(
                "topics exist with a different partition count than COHORTPLAN_PARTITIONS="
                f"{partitions}: {', '.join(f'{k} has {v}' for k, v in sorted(wrong.items()))}. "
                "Set COHORTPLAN_PARTITIONS to match, or recreate the topics.")
        if missing:
            log.info("created topics %s with %d partitions", ", ".join(missing), partitions)
        return missing
    finally:
        await admin.close()
